"""No page links to a page that is not there.

Signed in as each role of the demo network, the test walks the site breadth-first from the
home page: it follows every internal link, stylesheet and GET form it finds, and probes every
POST form's action with a GET (a 405 proves the route is there; nothing is submitted). A link
that answers 404, or anything that answers in the 500s, fails the test, naming the role, the
link and the page it was found on. Links come from route names (``url_for`` in templates,
``link`` in handlers), so this is what catches a route renamed under a link.

Paths are also walked by shape (``/requests/{n}``, ``/manage/transfers?before``): each shape
is checked a few times rather than for every member and booking of the demo, and the walk
stops at ``MOST_PAGES`` per role.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.web.support import ROLES, make_app, post, seed_demo, walk

Sessions = async_sessionmaker[AsyncSession]


def test_every_page_handler_has_a_route_name() -> None:
    # Templates and handlers link by these names; Litestar itself refuses duplicates.
    app = make_app("sqlite+aiosqlite://")  # never started: no database is opened
    pages = [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.fn.__module__.startswith("timebank.web.pages.")
    ]
    assert len(pages) > 40
    assert sorted(str(h) for h in pages if not h.name) == []


async def test_no_page_links_to_a_missing_page(db_url: str, sessions: Sessions) -> None:
    logins = await seed_demo(sessions)
    emails = dict(logins.emails)
    faults: list[str] = []
    reached: dict[str, int] = {}
    for role in ROLES:
        app: Litestar = make_app(db_url)
        # A link to an unknown route name fails the page drawing it: report it as that
        # page's 500, not as an exception out of the test client.
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            answer = await post(
                client,
                app.route_reverse("login"),
                {"email": emails[role], "password": logins.password},
            )
            assert answer.status_code == 303, answer.text
            result = await walk(client, role, app.route_reverse("index"))
        faults += result.dead
        reached[role] = result.pages
    assert not faults, "\n".join(faults)
    # Signed in, each walk went well past the sign-in and home pages.
    assert min(reached.values()) > 5, reached
