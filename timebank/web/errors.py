"""Errors as people see them: a clear JSON answer on the API (a stable ``code``, the
``field`` at fault, never a stack trace), a friendly page in the visitor's language
everywhere else. app.py installs ``EXCEPTION_HANDLERS``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from sqlalchemy.exc import DBAPIError, IntegrityError

from timebank import i18n
from timebank.db import is_outage
from timebank.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from timebank.web.frame import Req, language_of, link, page, see_other

log = logging.getLogger("timebank")


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


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    return _json_error(_status_of(exc), exc.code, exc.detail, field=exc.field, **exc.extra)


def validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    # Name the first field at fault and say what is wrong in `detail` itself, so a client
    # that shows only `detail` still tells its user something useful.
    errors = exc.extra if isinstance(exc.extra, list) else []
    keyed = [e for e in errors if isinstance(e, dict) and e.get("key")]
    detail = exc.detail
    if errors:
        detail = "; ".join(
            f"{e['key']}: {e.get('message', 'invalid')}" if e.get("key") else str(e.get("message"))
            for e in errors
            if isinstance(e, dict)
        )
    field = keyed[0]["key"] if keyed else None
    return _json_error(400, "validation", detail, field=field, errors=errors or None)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    codes = {
        400: "validation",  # e.g. malformed JSON
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
    }
    code = codes.get(exc.status_code, "rate_limited" if exc.status_code == 429 else "error")
    return _json_error(exc.status_code, code, exc.detail)


def integrity_error(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    # A constraint caught what the domain checks did not (usually a simultaneous request).
    log.info("integrity error turned into 409: %s", exc.orig)
    return _json_error(409, "conflict", "this conflicts with a change made at the same time; retry")


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if is_outage(exc):  # e.g. the driver's bare OSError while connecting
        return database_unavailable(request, exc)
    log.exception("unhandled error", exc_info=exc)
    return _json_error(500, "internal", "something went wrong on our side; it has been logged")


def database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    return internal_error(request, exc)


# How long a client should wait before it asks again while the database is away.
RETRY_AFTER_SECONDS = 5


def database_unavailable(
    request: Request[Any, Any, Any], exc: BaseException
) -> Response[dict[str, Any]]:
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
    answer = _json_error(503, "unavailable", "the service is briefly unavailable; retry shortly")
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
            assert status is not None  # typed optional, but a Response always has one
            if status == 401:
                return see_other(link(request, "login_form", {"next": path}))
            detail = exc.detail if isinstance(exc, DomainError) else None
            lang = language_of(request)
            shown = page(
                request,
                "errors/error.html",
                status=status,
                status_code=status,
                detail=i18n.gettext_for(lang, detail) if detail else None,
                code=exc.code if isinstance(exc, DomainError) else None,
                member=getattr(request.state, "viewer", None),
            )
            if "Retry-After" in answer.headers:
                shown.headers["Retry-After"] = answer.headers["Retry-After"]
            return shown

        return handle

    return {exc: wrap(handler) for exc, handler in handlers.items()}


EXCEPTION_HANDLERS = with_error_pages(JSON_HANDLERS)
