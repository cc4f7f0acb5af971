"""Web pages for members: signing in, home, logging hours, the statement, asking for help.

How to add a page
-----------------
* Dependencies: ``request`` (``Request``), ``db`` (``AsyncSession``; one transaction per
  request, committed when the handler returns) and ``member`` (the signed-in ``Member``;
  a visitor without a session is sent to ``/login?next=…``). Pages for visitors leave
  ``member`` out.
* A handler is a few lines: call domain functions (queries live in domain modules such as
  ``timebank.overview`` or ``timebank.board``, never here) and return
  ``page(request, "area/name.html", **context)``. ``page`` adds ``lang``, ``member``,
  ``rtl``, ``large_text`` and ``done`` (the ``?done=`` notice) to the context.
* Authorisation lives in ``timebank.access`` (domain functions call it); a ``Forbidden`` or
  ``NotFound`` that escapes a handler becomes the friendly 403/404 page in the member's
  language.
* Templates extend ``base.html`` (blocks ``title`` and ``content``; ``body_class`` for a
  page style), import macros with ``{% import "_macros.html" as m with context %}`` (the
  ``with context`` matters: filters and gettext read ``lang`` from it), are grouped by area
  (``templates/<area>/<page>.html``), partials are named ``_thing.html``, and text is
  translated with ``{{ _("English text") }}`` (then ``pybabel extract``, see
  ``timebank/locale/README.md``).
* Forms: ``method="post"`` with ``{{ csrf_input }}`` inside; read them with
  ``await form_of(request)``; run the domain call inside ``async with db.begin_nested():``
  so a refusal rolls back its half; on ``DomainError`` show the form again with
  ``errors=form_errors(exc, lang)`` and ``form=form`` (macros keep the values and put each
  error next to its field); on success redirect (``see_other(url)``) with ``?done=<what>``.
* Add the handler to ``ROUTES`` at the bottom; ``app.py`` mounts them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, board, exchanges, flags, i18n, ledger, members, overview, signin
from timebank.errors import DomainError, Forbidden, Invalid
from timebank.models import LANGUAGES, STAFF_ROLES, URGENCIES, Member

# Handler parameters Litestar injects by name (app.py declares the dependencies).
Req = Request[Any, Any, Any]
Db = NamedDependency[AsyncSession]
Caller = NamedDependency[Member]

LANG_COOKIE = "lang"
TEXT_COOKIE = "text"
YEAR = 365 * 24 * 3600


# --- The page frame ---------------------------------------------------------------------------


def _accepted_language(header: str | None) -> str | None:
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


def _remember(request: Req, member: Caller) -> None:
    request.state.member = member
    request.state.viewer = Viewer(member.id, member.name, member.role, member.language)  # type: ignore[arg-type]


def language_of(request: Req) -> str:
    """The signed-in member's language, else the visitor's cookie, else the browser's
    preference, else German."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is not None:
        return i18n.pick_language(viewer.language)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    return _accepted_language(request.headers.get("accept-language")) or i18n.DEFAULT_LANGUAGE


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
            **context,
        },
    )


def see_other(url: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(url, status_code=303, cookies=cookies or [])


def safe_next(value: str | None, default: str = "/home") -> str:
    """Only paths on this site: never ``//elsewhere`` or ``https://…`` (open redirects)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


async def form_of(request: Req) -> dict[str, str]:
    data = await request.form()
    return {k: v.strip() if isinstance(v, str) else "" for k, v in data.items()}


ALREADY_SENT = "This form was sent already. To log more help, fill in the form again."


def form_errors(exc: DomainError, lang: str) -> dict[str, str]:
    """A domain refusal as ``{field: message}``; errors that belong to no field use ``""``."""
    if isinstance(exc, ledger.IdempotencyConflict):
        # Sent again with other values (the back button): the first entry stands.
        return {"": i18n.gettext_for(lang, ALREADY_SENT)}
    return {exc.field or "": i18n.gettext_for(lang, exc.detail)}


def once_key() -> str:
    """A fresh key for a form that books hours: sent twice (a double click, a reload), the
    form books once, because the domain returns the first result for a key it has seen."""
    return secrets.token_urlsafe(16)


def sent_key(form: dict[str, str]) -> str | None:
    return form.get("idempotency_key") or None


async def record_from_form(
    db: AsyncSession,
    actor: Member,
    form: dict[str, str],
    *,
    giver_id: int | None = None,
    receiver_id: int | None = None,
    request_id: int | None = None,
) -> exchanges.ExchangeResult:
    """Book the help a log-hours or assisted-entry form describes. Giver and receiver come
    from the form unless the page fixes them (a helper logging their own hours)."""
    return await exchanges.record_exchange(
        db,
        actor,
        giver_id=giver_id or parse_whole(form.get("giver_id"), "giver_id", required=True),  # type: ignore[arg-type]
        receiver_id=receiver_id
        or parse_whole(form.get("receiver_id"), "receiver_id", required=True),  # type: ignore[arg-type]
        minutes=parse_duration(form),
        performed_on=parse_day(form.get("performed_on"), "performed_on", required=True),  # type: ignore[arg-type]
        category=form.get("category", ""),
        note=form.get("note"),
        request_id=request_id,
        idempotency_key=sent_key(form),
    )


def parse_whole(value: str | None, field: str, *, required: bool = False) -> int | None:
    if not value:
        if required:
            raise Invalid("please fill in this field", field=field)
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid("please enter a whole number", field=field) from None


def parse_day(value: str | None, field: str, *, required: bool = False) -> date | None:
    if not value:
        if required:
            raise Invalid("please fill in this field", field=field)
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("please enter a date like 2026-03-31", field=field) from None


def parse_duration(form: dict[str, str]) -> int:
    """Hours and minutes from two fields; errors are reported on ``minutes``."""
    try:
        hours = int(form.get("hours") or 0)
        minutes = int(form.get("minutes") or 0)
    except ValueError:
        raise Invalid("please enter whole hours and minutes", field="minutes") from None
    if hours < 0 or not 0 <= minutes < 60:
        raise Invalid("please enter whole hours and minutes", field="minutes")
    total = hours * 60 + minutes
    if total <= 0:
        raise Invalid("how long was it? Enter hours or minutes", field="minutes")
    return total


# --- Dependencies (wired in app.py) -----------------------------------------------------------


async def provide_member(request: Req, db: Db) -> Member:
    """The member signed in with the session cookie; otherwise off to the sign-in page."""
    member = await signin.member_for_session(db, request.cookies.get(signin.SESSION_COOKIE))
    if member is None:
        raise NotAuthorizedException("please sign in")
    _remember(request, member)
    return member


async def _optional_member(request: Req, db: Db) -> Member | None:
    member = await signin.member_for_session(db, request.cookies.get(signin.SESSION_COOKIE))
    if member is not None:
        _remember(request, member)
    return member


def _secure(request: Req) -> bool:
    return request.url.scheme == "https"


# --- Visitors: sign in and out, language, text size -------------------------------------------


@get("/", include_in_schema=False)
async def index(request: Req, db: Db) -> Redirect:
    return see_other("/home" if await _optional_member(request, db) else "/login")


@get("/login", include_in_schema=False)
async def login_form(request: Req, db: Db) -> Template | Redirect:
    if await _optional_member(request, db):
        return see_other(safe_next(request.query_params.get("next")))
    return page(request, "auth/login.html", next=safe_next(request.query_params.get("next")))


@post("/login", include_in_schema=False)
async def login(request: Req, db: Db) -> Template | Redirect:
    form = await form_of(request)
    address = request.client.host if request.client else "unknown"
    next_url = safe_next(form.get("next"))
    try:
        member, token = await signin.sign_in(
            db,
            form.get("email", ""),
            form.get("password", ""),
            address=address,
            replacing=request.cookies.get(signin.SESSION_COOKIE),
        )
    except DomainError as exc:
        # Returned, not raised: the failed attempt must be committed to count.
        status = 429 if isinstance(exc, signin.TooManyAttempts) else 400
        form.pop("password", None)
        return page(
            request,
            "auth/login.html",
            status=status,
            form=form,
            errors=form_errors(exc, language_of(request)),
            next=next_url,
        )
    cookies = [
        Cookie(
            key=signin.SESSION_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            max_age=int(signin.SESSION_LIFETIME.total_seconds()),
            path="/",
        ),
        Cookie(key=LANG_COOKIE, value=member.language, samesite="lax", max_age=YEAR, path="/"),
    ]
    return see_other(next_url, cookies=cookies)


@post("/logout", include_in_schema=False)
async def logout(request: Req, db: Db) -> Redirect:
    token = request.cookies.get(signin.SESSION_COOKIE)
    if token:
        await signin.end_session(db, token)
    response = see_other("/login?done=signed_out")
    response.delete_cookie(signin.SESSION_COOKIE, path="/")
    return response


@post("/language", include_in_schema=False)
async def choose_language(request: Req, db: Db) -> Redirect:
    form = await form_of(request)
    lang = form.get("lang", "")
    back = safe_next(form.get("next"), "/")
    if lang not in LANGUAGES:
        return see_other(back)
    member = await _optional_member(request, db)
    if member is not None:
        await signin.set_language(db, member, lang)
    cookie = Cookie(key=LANG_COOKIE, value=lang, samesite="lax", max_age=YEAR, path="/")
    return see_other(back, cookies=[cookie])


@post("/text-size", include_in_schema=False)
async def choose_text_size(request: Req) -> Redirect:
    form = await form_of(request)
    size = "large" if form.get("size") == "large" else "normal"
    cookie = Cookie(key=TEXT_COOKIE, value=size, samesite="lax", max_age=YEAR, path="/")
    return see_other(safe_next(form.get("next"), "/"), cookies=[cookie])


# --- Home -------------------------------------------------------------------------------------


@get("/home", include_in_schema=False)
async def home(request: Req, db: Db, member: Caller) -> Template:
    context: dict[str, Any] = {
        "balance": await overview.balance(db, member, member),
        "to_decide": await overview.to_decide(db, member, member),
        "waiting": await overview.waiting_for_others(db, member, member),
        "balance_note_kinds": await flags.own_balance_flag_kinds(db, member),
    }
    if member.role == "senior":
        context["my_requests"] = [
            c
            for c in await board.requests_of(db, member, member.id)  # type: ignore[arg-type]
            if c.request.status in ("open", "matched")
        ]
        return page(request, "home/senior.html", **context)
    context["fitting"] = await board.requests_for_helper(db, member, limit=10)
    if member.role == "professional":
        context["assisted"] = await overview.entered_by(db, member, limit=10)
    return page(request, "home/volunteer.html", **context)


# --- Logging hours ----------------------------------------------------------------------------


async def _log_form_context(db: Db, member: Caller, request_id: int | None) -> dict[str, Any]:
    card = await board.get_request(db, member, request_id) if request_id else None
    people = await overview.people_helped_before(db, member)
    if card is not None and all(p.id != card.request.member_id for p in people):
        people.insert(0, await members.get_member(db, card.request.member_id))
    return {
        "card": card,
        "people": people,
        "categories": await overview.categories(db),
        "today": date.today(),
    }


@get("/exchanges/new", include_in_schema=False)
async def log_hours_form(request: Req, db: Db, member: Caller) -> Template:
    request_id = parse_whole(request.query_params.get("request"), "request")
    context = await _log_form_context(db, member, request_id)
    form = {
        "performed_on": date.today().isoformat(),
        "hours": "1",
        "minutes": "0",
        "idempotency_key": once_key(),
    }
    card = context["card"]
    if card is not None:
        form |= {
            "receiver_id": str(card.request.member_id),
            "category": card.category.slug,
            "request_id": str(card.request.id),
        }
    return page(request, "exchanges/new.html", form=form, **context)


@post("/exchanges/new", include_in_schema=False)
async def log_hours(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)
    try:
        async with db.begin_nested():
            receiver = parse_whole(form.get("receiver_number"), "receiver_number") or parse_whole(
                form.get("receiver_id"), "receiver_id"
            )
            if receiver is None:
                raise Invalid("choose whom you helped", field="receiver_id")
            await record_from_form(
                db,
                member,
                form,
                giver_id=member.id,
                receiver_id=receiver,
                request_id=parse_whole(form.get("request_id"), "request_id"),
            )
    except DomainError as exc:
        form["idempotency_key"] = once_key()
        context = await _log_form_context(db, member, parse_whole(form.get("request_id"), "x"))
        errors = form_errors(exc, language_of(request))
        return page(request, "exchanges/new.html", status=400, form=form, errors=errors, **context)
    return see_other("/home?done=logged")


async def _assisted_context(db: Db, member: Caller) -> dict[str, Any]:
    access.require_staff(member)
    return {
        "clients": await overview.clients_of(db, member),
        "helpers": await overview.helpers(db, member),
        "categories": await overview.categories(db),
        "today": date.today(),
    }


@get("/exchanges/assisted", include_in_schema=False)
async def assisted_form(request: Req, db: Db, member: Caller) -> Template | Redirect:
    if access.is_manager(member):
        # The manager acts for everyone: their form takes member numbers, not a client list.
        return see_other("/manage/assisted")
    context = await _assisted_context(db, member)
    form = {
        "performed_on": date.today().isoformat(),
        "hours": "1",
        "minutes": "0",
        "idempotency_key": once_key(),
    }
    return page(request, "exchanges/assisted.html", form=form, **context)


@post("/exchanges/assisted", include_in_schema=False)
async def assisted_entry(request: Req, db: Db, member: Caller) -> Template | Redirect:
    context = await _assisted_context(db, member)
    form = await form_of(request)
    try:
        async with db.begin_nested():
            await record_from_form(db, member, form)
    except DomainError as exc:
        form["idempotency_key"] = once_key()
        errors = form_errors(exc, language_of(request))
        return page(
            request, "exchanges/assisted.html", status=400, form=form, errors=errors, **context
        )
    return see_other("/home?done=assisted")


@post("/exchanges/{exchange_id:int}/confirm", include_in_schema=False)
async def confirm(request: Req, db: Db, member: Caller, exchange_id: FromPath[int]) -> Redirect:
    await exchanges.confirm_exchange(db, member, exchange_id)
    return see_other("/home?done=confirmed")


@post("/exchanges/{exchange_id:int}/reject", include_in_schema=False)
async def dispute(request: Req, db: Db, member: Caller, exchange_id: FromPath[int]) -> Redirect:
    form = await form_of(request)
    reason = form.get("reason") or i18n.gettext_for(
        member.language, "Disputed: this did not happen like this"
    )
    await exchanges.reject_exchange(db, member, exchange_id, reason=reason)
    return see_other("/home?done=disputed")


# --- Statement and donations ------------------------------------------------------------------


@get("/statement", include_in_schema=False)
async def my_statement(request: Req, member: Caller) -> Redirect:
    return see_other(f"/members/{member.id}/statement")


@get("/members/{member_id:int}/statement", include_in_schema=False)
async def statement(request: Req, db: Db, member: Caller, member_id: FromPath[int]) -> Template:
    before = parse_whole(request.query_params.get("before"), "before")
    view = await overview.statement(db, member, member_id, before=before)
    return page(request, "statement/statement.html", statement=view)


@get("/donate", include_in_schema=False)
async def donate_form(request: Req, db: Db, member: Caller) -> Template:
    balance = await overview.balance(db, member, member)
    return page(
        request,
        "exchanges/donate.html",
        balance=balance,
        form={"hours": "1", "idempotency_key": once_key()},
    )


@post("/donate", include_in_schema=False)
async def donate(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)
    try:
        async with db.begin_nested():
            await exchanges.donate_to_pool(
                db, member, parse_duration(form), idempotency_key=sent_key(form)
            )
    except DomainError as exc:
        form["idempotency_key"] = once_key()
        balance = await overview.balance(db, member, member)
        errors = form_errors(exc, language_of(request))
        return page(
            request, "exchanges/donate.html", status=400, form=form, errors=errors, balance=balance
        )
    return see_other("/home?done=donated")


# --- Asking for help and answering ------------------------------------------------------------


async def _request_form_context(db: Db, member: Caller) -> dict[str, Any]:
    return {
        "categories": await overview.categories(db),
        "districts": await overview.districts(db),
        "clients": await overview.clients_of(db, member),
        "urgencies": URGENCIES,
        "today": date.today(),
    }


@get("/requests/new", include_in_schema=False)
async def request_form(request: Req, db: Db, member: Caller) -> Template:
    form = {
        "urgency": "normal",
        "district_id": str(member.district_id or ""),
        "contact": member.phone or "",
        "member_id": str(member.id),
    }
    context = await _request_form_context(db, member)
    return page(request, "requests/new.html", form=form, **context)


@post("/requests/new", include_in_schema=False)
async def ask_for_help(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)
    try:
        async with db.begin_nested():
            created = await board.create_request(
                db,
                member,
                member_id=parse_whole(form.get("member_id"), "member_id") or member.id,  # type: ignore[arg-type]
                category_id=parse_whole(form.get("category_id"), "category_id"),
                title=form.get("title", ""),
                description=form.get("description"),
                district_id=parse_whole(form.get("district_id"), "district_id"),
                needed_on=parse_day(form.get("needed_on"), "needed_on"),
                when_text=form.get("when_text"),
                urgency=form.get("urgency") or "normal",
                contact=form.get("contact"),
            )
    except DomainError as exc:
        context = await _request_form_context(db, member)
        errors = form_errors(exc, language_of(request))
        return page(request, "requests/new.html", status=400, form=form, errors=errors, **context)
    return see_other(f"/requests/{created.id}?done=asked")


@get("/requests/{request_id:int}", include_in_schema=False)
async def show_request(request: Req, db: Db, member: Caller, request_id: FromPath[int]) -> Template:
    card = await board.get_request(db, member, request_id)
    requester = await members.get_member(db, card.request.member_id)
    own = access.can_act_as(member, requester)
    return page(
        request,
        "requests/show.html",
        card=card,
        own=own,
        responses=await board.responses_to(db, member, request_id) if own else [],
        show_contact=access.can_see_request_contact(member, card.request, requester),
    )


@post("/requests/{request_id:int}/respond", include_in_schema=False)
async def respond(
    request: Req,
    db: Db,
    member: Caller,
    request_id: FromPath[int],
) -> Template | Redirect:
    form = await form_of(request)
    try:
        async with db.begin_nested():
            await board.respond(db, member, request_id, message=form.get("message"))
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise
        errors = form_errors(exc, language_of(request))
        return page(
            request,
            "requests/show.html",
            status=400,
            card=await board.get_request(db, member, request_id),
            own=False,
            responses=[],
            show_contact=False,
            form=form,
            errors=errors,
        )
    return see_other(f"/requests/{request_id}?done=responded")


@post("/requests/{request_id:int}/accept", include_in_schema=False)
async def accept(request: Req, db: Db, member: Caller, request_id: FromPath[int]) -> Redirect:
    form = await form_of(request)
    helper_id = parse_whole(form.get("helper_id"), "helper_id", required=True)
    await board.accept_helper(db, member, request_id, helper_id)  # type: ignore[arg-type]
    return see_other(f"/requests/{request_id}?done=accepted")


@post("/requests/{request_id:int}/close", include_in_schema=False)
async def close(request: Req, db: Db, member: Caller, request_id: FromPath[int]) -> Redirect:
    await board.close_request(db, member, request_id)
    return see_other("/home?done=closed")


# --- Error pages ------------------------------------------------------------------------------

# Paths that speak JSON: the API (bearer tokens) and its schema.
JSON_PATHS = ("/api/", "/schema")


def with_error_pages(handlers: dict[Any, Callable[..., Response[Any]]]) -> dict[Any, Any]:
    """Wrap app.py's JSON exception handlers: the API keeps its JSON, pages get a friendly
    HTML page in the visitor's language (and a visitor without a session the sign-in page).
    The JSON handler still runs first, so its status code and its logging stay the rules."""

    def wrap(json_handler: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
        def handle(request: Req, exc: Exception) -> Response[Any]:
            answer = json_handler(request, exc)
            path = request.url.path
            if path.startswith(JSON_PATHS):
                return answer
            status = answer.status_code
            if status == 401:
                return see_other("/login?next=" + quote(path))
            detail = exc.detail if isinstance(exc, DomainError) else None
            lang = language_of(request)
            return page(
                request,
                "errors/error.html",
                status=status,
                status_code=status,
                detail=i18n.gettext_for(lang, detail) if detail else None,
                member=getattr(request.state, "viewer", None),
            )

        return handle

    return {exc: wrap(handler) for exc, handler in handlers.items()}


ROUTES = [
    index,
    login_form,
    login,
    logout,
    choose_language,
    choose_text_size,
    home,
    log_hours_form,
    log_hours,
    assisted_form,
    assisted_entry,
    confirm,
    dispute,
    my_statement,
    statement,
    donate_form,
    donate,
    request_form,
    ask_for_help,
    show_request,
    respond,
    accept,
    close,
]
