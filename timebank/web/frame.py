"""The page frame: who is looking (the signed-in member, their language), how a page is drawn,
and how a handler answers with a redirect.

Every page handler returns ``page(request, "area/name.html", **context)``; ``page`` adds
``lang``, ``member``, ``rtl``, ``large_text``, ``done`` (the ``?done=`` notice),
``town_clock`` (the network's time zone, which the date filters read), ``unread`` (the
member's unread notices, for the menu) and ``office`` (the
network office, ``network.Office``; None on a page drawn before the database was read) to
the context.
Handler parameters use the short names below (``Req``, ``Db``, ``Caller``); app.py declares
the dependencies they name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, i18n, network, notifications, signin
from timebank.models import LANGUAGES, STAFF_ROLES, Member, id_of

# Handler parameters Litestar injects by name (app.py declares the dependencies).
Req = Request[Any, Any, Any]
Db = NamedDependency[AsyncSession]
Caller = NamedDependency[Member]

LANG_COOKIE = "lang"
TEXT_COOKIE = "text"
YEAR = 365 * 24 * 3600


# --- The page frame ---------------------------------------------------------------------------


def accepted_language(header: str | None) -> str | None:
    """The first of our languages in an Accept-Language header, by the browser's weights."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        code = tag.strip().split("-")[0].lower()
        if code in LANGUAGES and weight > 0:
            choices.append((-weight, position, code))
    return min(choices)[2] if choices else None


@dataclass(frozen=True)
class Viewer:
    """The signed-in member as the page frame shows them. A copy, not the database row:
    an error page is drawn after the request's transaction rolled back, when the row can
    no longer be read."""

    id: int
    name: str
    role: str
    language: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


async def _remember(request: Req, db: AsyncSession, member: Member) -> None:
    request.state.member = member
    request.state.viewer = Viewer(id_of(member), member.name, member.role, member.language)
    # Read once per request, while the transaction is open: an error page drawn later
    # still shows the town's times.
    request.state.town_clock = await network.town_clock(db)
    # The unread count in the menu (one indexed count per page).
    request.state.unread = await notifications.unread_count(db, member)
    await remember_office(request, db)


async def remember_office(request: Req, db: AsyncSession) -> None:
    """The network office for the page's footer and letterhead (``office`` in every page's
    context): read once per request from the settings row the session already holds, so an
    error page drawn after a rollback still shows it."""
    request.state.office = await network.office(db)


def language_of(request: Req) -> str:
    """The signed-in member's language, else the visitor's cookie, else the browser's
    preference, else German."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is not None:
        return i18n.pick_language(viewer.language)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return accepted_language(request.headers.get("accept-language")) or i18n.DEFAULT_LANGUAGE


def page(request: Req, template: str, *, status: int = 200, **context: Any) -> Template:
    lang = language_of(request)
    context.setdefault("form", {})
    context.setdefault("errors", {})
    return Template(
        template_name=template,
        status_code=status,
        context={
            "lang": lang,
            "rtl": lang in i18n.RIGHT_TO_LEFT,
            "languages": i18n.NATIVE_NAMES,
            "member": getattr(request.state, "member", None),
            "large_text": request.cookies.get(TEXT_COOKIE) == "large",
            "done": request.query_params.get("done"),
            "here": request.url.path,
            "town_clock": getattr(request.state, "town_clock", None),
            "office": getattr(request.state, "office", None),
            "unread": getattr(request.state, "unread", 0),
            **context,
        },
    )


def written_for(member: Member) -> dict[str, Any]:
    """``lang`` and ``rtl`` for a paper written to ``member`` (their sign-in sheet, their
    statement): it is in their language whoever prints it, inside a page frame in the
    reader's. A template draws the paper with ``{% with lang=…, rtl=… %}{% include %}``: only
    an included template sees those in its context (a ``_()`` written inside the ``with``
    block itself would still read the frame's language)."""
    lang = i18n.pick_language(member.language)
    return {"lang": lang, "rtl": lang in i18n.RIGHT_TO_LEFT, "name": i18n.NATIVE_NAMES[lang]}


def see_other(url: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(url, status_code=303, cookies=cookies or [])


def link(request: Req, name: str, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """The path of the route called ``name`` (its ``name=`` in the decorator), with ``params``
    filled in and ``query`` appended: typed paths would outlive a renamed route as dead links.
    Slashes stay readable in query values (``?next=/members/1/statement``)."""
    path = request.app.route_reverse(name, **params)
    if not query:
        return path
    return path + "?" + urlencode(query, safe="/", quote_via=quote)


def safe_next(request: Req, value: str | None, default: str = "home") -> str:
    """Only paths on this site: never ``//elsewhere`` or ``https://…`` (open redirects).
    Anything else goes to the route named ``default``."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return link(request, default)


# --- Dependencies (wired in app.py) -----------------------------------------------------------


async def provide_member(request: Req, db: Db) -> Member:
    """The member signed in with the session cookie; otherwise off to the sign-in page."""
    member = await signin.member_for_session(db, request.cookies.get(signin.SESSION_COOKIE))
    if member is None:
        raise NotAuthorizedException(i18n.N_("please sign in"))
    await _remember(request, db, member)
    return member


async def optional_member(request: Req, db: Db) -> Member | None:
    member = await signin.member_for_session(db, request.cookies.get(signin.SESSION_COOKIE))
    if member is not None:
        await _remember(request, db, member)
    else:
        await remember_office(request, db)
    return member


def secure_cookies(request: Req) -> bool:
    """Cookies are ``Secure`` when the site's address is https — a proxy in front may pass
    the request on over plain HTTP, and the browser must still never send the cookie
    unencrypted — or when this request itself came over https."""
    base_url: str = request.app.state.settings.base_url
    return base_url.startswith("https://") or request.url.scheme == "https"


async def provide_manager(member: Caller) -> Member:
    """The signed-in member, if they are the network manager (anyone else gets the 403 page)."""
    access.require_manager(member)
    return member
