"""What the page tests share that is not a fixture: the app they call, posting a form with
its CSRF token, signing in, reading a page's content and its field errors, and the walk over
every page of the demo network as one role (test_links.py, test_language_leaks.py).

The ``client`` fixture itself is in tests/web/conftest.py."""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, town_today
from timebank import demo, review
from timebank.config import Settings
from timebank.db import transaction
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


# --- Walking the demo network (tests/web/test_links.py, tests/web/test_language_leaks.py) -----

ROLES = ("volunteer", "senior", "professional", "manager")
MOST_PAGES = 400
# How many links of one shape are checked: enough to meet each kind of row on a page
# (own, others', closed, flagged), few enough that a role's walk takes seconds.
PER_SHAPE = 12


@dataclass(frozen=True)
class Link:
    url: str  # a path with its query, on this site
    method: str  # "get": followed; "post": its action probed with a GET
    found_on: str


class _LinkParser(HTMLParser):
    """The links of one page: ``a``/``link`` hrefs, form actions and button formactions."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._form_method = "get"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("a", "link") and a.get("href"):
            self.found.append(("get", a["href"]))
        elif tag == "form":
            self._form_method = (a.get("method") or "get").lower()
            if a.get("action"):
                self.found.append((self._form_method, a["action"]))
        elif tag in ("button", "input") and a.get("formaction"):
            method = (a.get("formmethod") or self._form_method).lower()
            self.found.append((method, a["formaction"]))


def links_of(html: str, page_url: str, found_on: str) -> list[Link]:
    parser = _LinkParser()
    parser.feed(html)
    site = urlsplit(page_url)
    links = []
    for method, href in parser.found:
        absolute, _ = urldefrag(urljoin(page_url, href))
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or parts.netloc != site.netloc:
            continue  # mailto:, tel:, another site
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        links.append(Link(path, method, found_on))
    return links


def shape_of(link: Link) -> tuple[str, str, tuple[str, ...]]:
    """``/manage/members/12?done=x`` and ``/manage/members/40`` share a shape."""
    parts = urlsplit(link.url)
    keys = tuple(sorted({q.split("=", 1)[0] for q in parts.query.split("&") if q}))
    return link.method, re.sub(r"\d+", "{n}", parts.path), keys


@dataclass
class Walk:
    role: str
    pages: int = 0
    # The HTML of each page that answered 200, by its path: what the language test reads.
    html: dict[str, str] = field(default_factory=dict)
    dead: list[str] = field(default_factory=list)

    def fault(self, link: Link, status: int, why: str) -> None:
        self.dead.append(
            f"{self.role}: {link.method.upper()} {link.url} (found on {link.found_on}) "
            f"answered {status}: {why}"
        )


async def walk(
    client: Client, role: str, start: str | Sequence[str], per_shape: int = PER_SHAPE
) -> Walk:
    """Breadth-first from ``start`` (a path, or several for pages no link leads to)."""
    result = Walk(role)
    starts = [start] if isinstance(start, str) else list(start)
    queue: deque[Link] = deque(Link(path, "get", "(start)") for path in starts)
    seen: set[tuple[str, str]] = {("get", path) for path in starts}
    shapes: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    while queue and result.pages < MOST_PAGES:
        link = queue.popleft()
        answer = await client.get(link.url, follow_redirects=False)
        status = answer.status_code
        if link.method == "post":
            # A POST-only route answers a GET with 405; 404 means no route at that path.
            if status == 404 or status >= 500:
                result.fault(link, status, "no route for this form's action")
            continue
        result.pages += 1
        if status == 404 or status == 405 or status >= 500:
            result.fault(link, status, "dead link" if status < 500 else "server error")
            continue
        found: list[Link] = []
        if status in (301, 302, 303, 307, 308):
            location = answer.headers["location"]
            found = [Link(urljoin(link.url, location), "get", link.url)]
        elif answer.headers.get("content-type", "").startswith("text/html"):
            found = links_of(answer.text, str(answer.url), link.url)
            if status == 200:
                result.html[link.url] = answer.text
        for new in found:
            key = (new.method, new.url)
            if key in seen:
                continue
            seen.add(key)
            shape = shape_of(new)
            shapes[shape] += 1
            if shapes[shape] <= per_shape:
                queue.append(new)
    return result


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> demo.Logins:
    """The demo network as of the town's today, reviewed so the flag pages have flags."""
    async with transaction(sessions) as s:
        summary = await demo.seed_demo(s, today=town_today())
    async with transaction(sessions) as s:
        await review.run_review(s)
    return summary.logins
