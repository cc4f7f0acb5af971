"""What the page tests share that is not a fixture: the app they call, posting a form with
its CSRF token, signing in, and reading a page's content and its field errors.

The ``client`` fixture itself is in tests/web/conftest.py."""

from __future__ import annotations

import re
from html import unescape

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import PASSWORD
from timebank.config import Settings
from timebank.web.app import create_app

Client = AsyncTestClient[Litestar]
SECRET = "a-test-secret-that-is-long-enough"


def make_app(db_url: str) -> Litestar:
    return create_app(Settings(database_url=db_url, secret_key=SECRET, run_scheduler=False))


async def csrf(client: Client) -> str:
    if "csrftoken" not in client.cookies:
        await client.get("/login")
    return client.cookies["csrftoken"]


async def post(client: Client, url: str, data: dict[str, object] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    form = {**(data or {}), "_csrf_token": await csrf(client)}
    return await client.post(url, data=form, follow_redirects=False, **kw)  # type: ignore[arg-type]


async def sign_in(client: Client, email: str, password: str = PASSWORD) -> None:
    answer = await post(client, "/login", {"email": email, "password": password})
    assert answer.status_code == 303, answer.text


async def manager(client: Client) -> Client:
    """``client``, signed in as the world's manager."""
    await sign_in(client, "manager@example.org")
    return client


def main_of(html: str) -> str:
    """The page's own content, without the menu and settings around it, as text."""
    return unescape(html.split('<main id="main"', 1)[1].split("</main>", 1)[0])


def error_of(html: str, field: str) -> str:
    """The error message shown next to ``field`` (empty when there is none)."""
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""
