"""CSRF tokens tied to the session (a token of another session, or of the time before signing
in, is refused with a friendly page) and cookies that are Secure whenever the site is https."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, World, bearer
from tests.web.support import SECRET, Client, main_of, make_app, post, sign_in
from timebank import members
from timebank.config import Settings
from timebank.db import transaction
from timebank.models import Member
from timebank.web.app import create_app
from timebank.web.csrf import CSRF_COOKIE, VISITOR_COOKIE

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def other(db_url: str, client: Client) -> AsyncIterator[Client]:
    """A second browser on the same site."""
    async with AsyncTestClient(app=make_app(db_url)) as c:
        yield c


async def language_of(sessions: Sessions, member: Member) -> str:
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        return row.language


async def choose_language(client: Client, token: str, lang: str = "tr"):  # type: ignore[no-untyped-def]
    form = {"lang": lang, "next": "/home", "_csrf_token": token}
    return await client.post("/language", data=form, follow_redirects=False)


async def test_a_token_of_another_session_is_refused_with_a_friendly_page(
    client: Client, other: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "volker@example.org")
    await sign_in(other, "vera@example.org")
    # Even with the token's cookie planted as well (a plain double-submit cookie let that by).
    volkers = client.cookies[CSRF_COOKIE]
    other.cookies.set(CSRF_COOKIE, volkers)
    answer = await choose_language(other, volkers)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    shown = main_of(answer.text)
    assert "This form has expired" in shown and "reload the page" in shown
    assert "Traceback" not in answer.text
    assert await language_of(sessions, world.volunteer2) == "en"
    # The page Vera is shown carries her own token, and that works.
    page = (await other.get("/home")).text
    veras = page.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    assert veras != volkers
    assert (await choose_language(other, veras)).status_code == 303
    assert await language_of(sessions, world.volunteer2) == "tr"


async def test_a_token_from_before_signing_in_is_worthless_afterwards(
    client: Client, world: World, sessions: Sessions
) -> None:
    await client.get("/login")
    before = client.cookies[CSRF_COOKIE]
    await sign_in(client, "volker@example.org")
    after = client.cookies[CSRF_COOKIE]
    assert after != before
    assert (await choose_language(client, before)).status_code == 403
    assert await language_of(sessions, world.volunteer) == "en"
    # The page drawn after signing in carries the new token.
    assert f'name="_csrf_token" value="{after}"' in (await client.get("/home")).text
    assert (await choose_language(client, after)).status_code == 303


async def test_signing_out_rotates_the_token_again(client: Client, world: World) -> None:
    await sign_in(client, "volker@example.org")
    signed_in = client.cookies[CSRF_COOKIE]
    assert (await post(client, "/logout")).status_code == 303
    assert client.cookies[CSRF_COOKIE] != signed_in
    refused = await client.post(
        "/text-size", data={"size": "large", "_csrf_token": signed_in}, follow_redirects=False
    )
    assert refused.status_code == 403


async def test_a_visitors_token_belongs_to_that_visitor_only(
    client: Client, other: Client, world: World
) -> None:
    """No signing somebody in to an account of the attacker's choosing (login CSRF)."""
    await client.get("/login")
    await other.get("/login")
    assert client.cookies[VISITOR_COOKIE] != other.cookies[VISITOR_COOKIE]
    form = {"email": "volker@example.org", "password": PASSWORD}
    stolen = await other.post(
        "/login", data={**form, "_csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False
    )
    assert stolen.status_code == 403
    assert "tb_session" not in other.cookies


async def test_the_token_may_come_in_a_header(client: Client, world: World) -> None:
    await sign_in(client, "volker@example.org")
    answer = await client.post(
        "/text-size",
        data={"size": "large"},
        headers={"X-CSRFToken": client.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    assert answer.status_code == 303


async def test_the_api_takes_bearer_tokens_without_csrf_and_sets_no_cookies(
    client: Client, world: World, sessions: Sessions
) -> None:
    async with transaction(sessions) as s:
        token = await members.create_token(s, world.volunteer)
    answer = await client.post(
        "/api/v1/exchanges", json={"minutes": 0}, headers=bearer(token), follow_redirects=False
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["code"] != "csrf"
    assert "set-cookie" not in answer.headers


# --- Secure cookies -----------------------------------------------------------------------------


def cookies_set(answer) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.split("=", 1)[0]: c for c in answer.headers.get_list("set-cookie")}


def value_of(cookie: str) -> str:
    return cookie.split(";", 1)[0].split("=", 1)[1]


@pytest.mark.parametrize("https", [True, False])
async def test_with_an_https_base_url_every_cookie_is_secure_even_over_plain_http(
    db_url: str, world: World, https: bool
) -> None:
    base_url = "https://zeitbank.example" if https else "http://127.0.0.1:8000"
    settings = Settings(
        database_url=db_url, secret_key=SECRET, run_scheduler=False, base_url=base_url
    )
    # The proxy in front speaks plain HTTP to the app and sends no X-Forwarded-Proto.
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as c:
        first = cookies_set(await c.get("/login"))
        assert set(first) == {VISITOR_COOKIE, CSRF_COOKIE}
        # The browser sends them back to the proxy over https; this client speaks plain
        # http, so it is handed them by hand.
        jar = {name: value_of(cookie) for name, cookie in first.items()}
        signed_in = await c.post(
            "/login",
            data={
                "email": "volker@example.org",
                "password": PASSWORD,
                "_csrf_token": jar[CSRF_COOKIE],
            },
            headers={"cookie": "; ".join(f"{k}={v}" for k, v in jar.items())},
            follow_redirects=False,
        )
    assert signed_in.status_code == 303, signed_in.text
    cookies = {**first, **cookies_set(signed_in)}
    for name in ("tb_session", CSRF_COOKIE, VISITOR_COOKIE):
        assert ("; Secure" in cookies[name]) is https, cookies[name]
    assert "HttpOnly" in cookies["tb_session"] and "HttpOnly" in cookies[VISITOR_COOKIE]
