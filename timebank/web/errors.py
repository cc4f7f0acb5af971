"""Errors as people see them: a clear JSON answer on the API (a stable ``code``, the
``field`` at fault, a ``detail`` sentence in the caller's language, never a stack trace),
a friendly page in the visitor's language everywhere else. Every sentence is a message id
rendered here (``i18n.render``), Litestar's own English included. app.py installs
``EXCEPTION_HANDLERS``."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from litestar import Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from sqlalchemy.exc import DBAPIError, IntegrityError

from timebank import i18n
from timebank.db import is_outage
from timebank.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from timebank.i18n import N_
from timebank.web.frame import Req, accepted_language, language_of, link, page, see_other

log = logging.getLogger("timebank")


# --- In the reader's language ----------------------------------------------------------------

# Paths that speak JSON: the API (bearer tokens) and its schema.
JSON_PATHS = ("/api/", "/schema")


def reader_language(request: Req) -> str:
    """The language an error is told in. On the API the caller's: ``Accept-Language`` when it
    names one of ours, else the language of the member behind the bearer token (app.py
    notes it while checking the token), else German, the network's language, as on the
    pages. On pages the visitor's (``frame.language_of``)."""
    if request.url.path.startswith(JSON_PATHS):
        asked = accepted_language(request.headers.get("accept-language"))
        return asked or i18n.pick_language(getattr(request.state, "caller_language", None))
    return language_of(request)


# Litestar's own refusals (its texts are English, e.g. "Not Found"), by status.
HTTP_MESSAGES = {
    400: N_("this request could not be read"),
    403: N_("you may not do this"),
    404: N_("there is nothing at this address"),
    405: N_("this address does not take this kind of request"),
    429: N_("too many requests; please wait a little"),
}
UNHANDLED = N_("this request could not be handled")
SIMULTANEOUS = N_("this conflicts with a change made at the same time; please try again")
OUR_SIDE = N_("something went wrong on our side; it has been noted")
UNAVAILABLE = N_("the time bank is briefly unavailable; please try again shortly")

# Litestar's validation of API bodies and of path and query values reports pydantic's and
# msgspec's English ("Input should be greater than or equal to 1"). Each report is read
# into one of these sentences, naming the field, and told in the reader's language.
FIELD_MISSING = N_("the field '{field}' is missing")
FIELD_UNKNOWN = N_("there is no field '{field}'")
FIELD_TOO_LONG = N_("the field '{field}' is too long (at most {limit} characters)")
FIELD_AT_LEAST = N_("the field '{field}' must be at least {limit}")
FIELD_AT_MOST = N_("the field '{field}' must be at most {limit}")
FIELD_WHOLE_NUMBER = N_("the field '{field}' must be a whole number")
FIELD_DATE = N_("the field '{field}' must be a date like 2026-03-31")
FIELD_UNSTORABLE = N_("the field '{field}' contains a character that cannot be stored")
FIELD_INVALID = N_("the field '{field}' has a value that is not valid")
BODY_MISSING = N_("this request needs a JSON body")
BODY_NOT_AN_OBJECT = N_("the JSON body must be an object with named fields")
BODY_NOT_JSON = N_("the request body is not valid JSON")

# First match wins: "Expected `int` >= 1" is a lower bound before it is a type.
_READINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Field required|missing required field"), FIELD_MISSING),
    (re.compile(r"Extra inputs are not permitted|unknown field"), FIELD_UNKNOWN),
    (re.compile(r"at most (\d+) (?:characters|items)|length <= (\d+)"), FIELD_TOO_LONG),
    (re.compile(r"(?:greater than or equal to|>=) (-?\d+)"), FIELD_AT_LEAST),
    (re.compile(r"(?:less than or equal to|<=) (-?\d+)"), FIELD_AT_MOST),
    (re.compile(r"whole number|valid integer|Expected `int`"), FIELD_WHOLE_NUMBER),
    (re.compile(r"date"), FIELD_DATE),
    (re.compile(r"NUL"), FIELD_UNSTORABLE),
)


def reading_of(error: dict[str, Any]) -> tuple[str, dict[str, object]]:
    """One of Litestar's validation reports (``{"key", "message", "source"}``) as a message
    id and its parameters."""
    field = str(error.get("key") or "")
    message = str(error.get("message") or "")
    if not field:
        return (BODY_NOT_AN_OBJECT if "object" in message else BODY_NOT_JSON), {}
    if field == "data" and error.get("source") == "body":
        return BODY_MISSING, {}  # no body at all: Litestar names its own parameter
    for pattern, message_id in _READINGS:
        found = pattern.search(message)
        if found:
            limit = next((g for g in found.groups() if g is not None), None)
            return message_id, {"field": field, **({"limit": int(limit)} if limit else {})}
    return FIELD_INVALID, {"field": field}


# --- Errors: a clear JSON answer, never a stack trace --------------------------------------

_STATUS = {NotFound: 404, Forbidden: 403, Invalid: 422, Conflict: 409}


def _status_of(exc: DomainError) -> int:
    for cls, status in _STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400


def _json_error(status: int, code: str, detail: str, /, **extra: Any) -> Response[dict[str, Any]]:
    # Positional-only, so a domain error's extra named e.g. `status` cannot collide.
    body: dict[str, Any] = {"status_code": status, "code": code, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None and k not in body})
    return Response(body, status_code=status)


def domain_error(request: Req, exc: DomainError) -> Response[dict[str, Any]]:
    detail = i18n.render(reader_language(request), exc.detail, exc.params)
    return _json_error(_status_of(exc), exc.code, detail, field=exc.field, **exc.extra)


def validation_error(request: Req, exc: ValidationException) -> Response[dict[str, Any]]:
    # Name the first field at fault and say what is wrong in `detail` itself, so a client
    # that shows only `detail` still tells its user something useful; `errors` lists each
    # report, its `message` in the reader's language too.
    lang = reader_language(request)
    errors: list[dict[str, Any]] = []
    for report in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(report, dict):
            where = {k: report[k] for k in ("key", "source") if k in report}
            errors.append({**where, "message": i18n.render(lang, *reading_of(report))})
    if errors:
        detail = "\n".join(e["message"] for e in errors)  # each its own sentence
    elif isinstance(exc.extra, dict):
        detail = i18n.render(lang, exc.detail, exc.extra)  # ours: a message id and its values
    else:
        detail = i18n.render(lang, BODY_NOT_JSON)
    field = next((e["key"] for e in errors if e.get("key")), None)
    return _json_error(400, "validation", detail, field=field, errors=errors or None)


def http_error(request: Req, exc: HTTPException) -> Response[dict[str, Any]]:
    codes = {
        400: "validation",  # e.g. malformed JSON
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
    }
    status = exc.status_code
    code = codes.get(status, "rate_limited" if status == 429 else "error")
    # A 401 says how to sign in (app.py's and frame.py's own message ids); every other
    # HTTP refusal is Litestar's, told by its status.
    message = exc.detail if status == 401 else HTTP_MESSAGES.get(status, UNHANDLED)
    return _json_error(status, code, i18n.render(reader_language(request), message))


def integrity_error(request: Req, exc: IntegrityError) -> Response[dict[str, Any]]:
    # A constraint caught what the domain checks did not (usually a simultaneous request).
    log.info("integrity error turned into 409: %s", exc.orig)
    return _json_error(409, "conflict", i18n.render(reader_language(request), SIMULTANEOUS))


def internal_error(request: Req, exc: Exception) -> Response[dict[str, Any]]:
    if is_outage(exc):  # e.g. the driver's bare OSError while connecting
        return database_unavailable(request, exc)
    log.exception("unhandled error", exc_info=exc)
    return _json_error(500, "internal", i18n.render(reader_language(request), OUR_SIDE))


def database_error(request: Req, exc: DBAPIError) -> Response[dict[str, Any]]:
    return internal_error(request, exc)


# How long a client should wait before it asks again while the database is away.
RETRY_AFTER_SECONDS = 5


def database_unavailable(request: Req, exc: BaseException) -> Response[dict[str, Any]]:
    """The database is down or restarting: nothing is wrong with the request, so say when to
    retry. One log line each: an outage fails every request, and a traceback apiece would
    bury the log. The engine's pre-ping brings the pool back once the database is."""
    text = str(exc).strip()
    log.warning(
        "database unavailable, answered 503: %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        text.splitlines()[0] if text else "-",
    )
    answer = _json_error(503, "unavailable", i18n.render(reader_language(request), UNAVAILABLE))
    answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return answer


JSON_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ValidationException: validation_error,
    NotFoundException: http_error,
    HTTPException: http_error,
    IntegrityError: integrity_error,
    DBAPIError: database_error,
    Exception: internal_error,
}


# --- Error pages ------------------------------------------------------------------------------


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
            assert status is not None  # typed optional, but a Response always has one
            if status == 401:
                return see_other(link(request, "login_form", {"next": path}))
            # A refusal's own sentence, told already in the visitor's language by the JSON
            # handler (a bad query value names its field); the page says the rest by status.
            said = isinstance(exc, DomainError | ValidationException)
            detail = answer.content.get("detail") if said else None
            shown = page(
                request,
                "errors/error.html",
                status=status,
                status_code=status,
                detail=detail,
                code=exc.code if isinstance(exc, DomainError) else None,
                member=getattr(request.state, "viewer", None),
            )
            if "Retry-After" in answer.headers:
                shown.headers["Retry-After"] = answer.headers["Retry-After"]
            return shown

        return handle

    return {exc: wrap(handler) for exc, handler in handlers.items()}


EXCEPTION_HANDLERS = with_error_pages(JSON_HANDLERS)
