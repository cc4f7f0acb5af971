"""Pages for visitors: signing in and out, choosing a language and a larger text."""

from __future__ import annotations

from litestar import get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from timebank import i18n, signin
from timebank.errors import DomainError
from timebank.models import LANGUAGES
from timebank.web import csrf
from timebank.web.forms import form_errors, form_of
from timebank.web.frame import (
    LANG_COOKIE,
    TEXT_COOKIE,
    YEAR,
    Db,
    Req,
    language_of,
    link,
    optional_member,
    page,
    remember_office,
    safe_next,
    secure_cookies,
    see_other,
)


def _refusal(exc: DomainError, lang: str) -> dict[str, str]:
    """The form's errors; a guesser slowed down is told, in words, when to try again."""
    if isinstance(exc, signin.TooManyAttempts):
        wait = i18n.translations(lang).ngettext(
            "too many failed attempts: please try again in %(num)d minute",
            "too many failed attempts: please try again in %(num)d minutes",
            exc.minutes,
        )
        return {"email": wait % {"num": exc.minutes}}
    return form_errors(exc, lang)


@get("/", name="index", include_in_schema=False)
async def index(request: Req, db: Db) -> Template | Redirect:
    """A member goes to their home page; a visitor sees the public start page (what the
    network is, how to reach the office, and the forms to take part), not a login form."""
    if await optional_member(request, db):
        return see_other(link(request, "home"))
    return page(request, "public/start.html")


@get("/login", name="login_form", include_in_schema=False)
async def login_form(request: Req, db: Db) -> Template | Redirect:
    if await optional_member(request, db):
        return see_other(safe_next(request, request.query_params.get("next")))
    return page(
        request, "auth/login.html", next=safe_next(request, request.query_params.get("next"))
    )


@post("/login", name="login", include_in_schema=False)
async def login(request: Req, db: Db) -> Template | Redirect:
    form = await form_of(request)
    address = request.client.host if request.client else "unknown"
    next_url = safe_next(request, form.get("next"))
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
        slowed = isinstance(exc, signin.TooManyAttempts)
        form.pop("password", None)
        await remember_office(request, db)
        answer = page(
            request,
            "auth/login.html",
            status=429 if slowed else 400,
            form=form,
            errors=_refusal(exc, language_of(request)),
            next=next_url,
        )
        if slowed:
            answer.headers["Retry-After"] = str(exc.extra["retry_after"])
        return answer
    # Forms drawn before signing in stop working; the next page carries the session's token.
    csrf.rotate(request, token)
    cookies = [
        Cookie(
            key=signin.SESSION_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            max_age=int(signin.SESSION_LIFETIME.total_seconds()),
            path="/",
        ),
        Cookie(key=LANG_COOKIE, value=member.language, samesite="lax", max_age=YEAR, path="/"),
    ]
    return see_other(next_url, cookies=cookies)


@post("/logout", name="logout", include_in_schema=False)
async def logout(request: Req, db: Db) -> Redirect:
    token = request.cookies.get(signin.SESSION_COOKIE)
    if token:
        await signin.end_session(db, token)
    csrf.rotate(request, None)
    response = see_other(link(request, "login_form", {"done": "signed_out"}))
    response.delete_cookie(signin.SESSION_COOKIE, path="/")
    return response


@post("/language", name="choose_language", include_in_schema=False)
async def choose_language(request: Req, db: Db) -> Redirect:
    form = await form_of(request)
    lang = form.get("lang", "")
    back = safe_next(request, form.get("next"), "index")
    if lang not in LANGUAGES:
        return see_other(back)
    member = await optional_member(request, db)
    if member is not None:
        await signin.set_language(db, member, lang)
    cookie = Cookie(key=LANG_COOKIE, value=lang, samesite="lax", max_age=YEAR, path="/")
    return see_other(back, cookies=[cookie])


@post("/text-size", name="choose_text_size", include_in_schema=False)
async def choose_text_size(request: Req) -> Redirect:
    form = await form_of(request)
    size = "large" if form.get("size") == "large" else "normal"
    cookie = Cookie(key=TEXT_COOKIE, value=size, samesite="lax", max_age=YEAR, path="/")
    return see_other(safe_next(request, form.get("next"), "index"), cookies=[cookie])


ROUTES = [index, login_form, login, logout, choose_language, choose_text_size]
