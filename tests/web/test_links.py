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

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from tests.web.support import Client, make_app, post
from timebank import demo, review
from timebank.db import transaction

Sessions = async_sessionmaker[AsyncSession]

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
    dead: list[str] = field(default_factory=list)

    def fault(self, link: Link, status: int, why: str) -> None:
        self.dead.append(
            f"{self.role}: {link.method.upper()} {link.url} (found on {link.found_on}) "
            f"answered {status}: {why}"
        )


async def walk(client: Client, role: str, start: str) -> Walk:
    result = Walk(role)
    queue: deque[Link] = deque([Link(start, "get", "(start)")])
    seen: set[tuple[str, str]] = {("get", start)}
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
        for new in found:
            key = (new.method, new.url)
            if key in seen:
                continue
            seen.add(key)
            shape = shape_of(new)
            shapes[shape] += 1
            if shapes[shape] <= PER_SHAPE:
                queue.append(new)
    return result


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


async def seed_demo(sessions: Sessions) -> demo.Logins:
    """The demo network as of the town's today, reviewed so the flag pages have flags."""
    async with transaction(sessions) as s:
        summary = await demo.seed_demo(s, today=town_today())
    async with transaction(sessions) as s:
        await review.run_review(s)
    return summary.logins


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
