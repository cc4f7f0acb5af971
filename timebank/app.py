"""The one wiring place: routes, dependencies, auth, error handling and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import api, filters, flag_pages, members  # flag_pages: issue 4
from timebank import manage as manager_pages  # manager pages and the help board (issue 3)
from timebank import web as web_pages  # web pages (issue 3)
from timebank.config import Settings, load_settings
from timebank.db import ensure_schema, make_engine, make_sessionmaker
from timebank.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from timebank.models import Member
from timebank.scheduler import JobScheduler

log = logging.getLogger("timebank")


# --- Dependencies -------------------------------------------------------------------------


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler succeeds, rolled back when
    anything raises — so a refused request leaves nothing half-written."""
    sessions: async_sessionmaker[AsyncSession] = state.sessions
    async with sessions() as session:
        await session.begin()
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def provide_api_actor(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]
) -> Member:
    """The member behind ``Authorization: Bearer …`` (JSON API only; no cookies, no CSRF)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("send 'Authorization: Bearer <token>' (timebank token create)")
    member = await members.member_for_token(db, token.strip())
    if member is None:
        raise NotAuthorizedException("this token is unknown, revoked, or its member is inactive")
    return member


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


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", exc_info=exc)
    return _json_error(500, "internal", "something went wrong on our side; it has been logged")


def database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    return internal_error(request, exc)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ValidationException: validation_error,
    NotFoundException: http_error,
    HTTPException: http_error,
    IntegrityError: integrity_error,
    DBAPIError: database_error,
    Exception: internal_error,
}


# --- Web pages (issue 3): templates, CSRF, static files --------------------------------------
# Page handlers, the ``member`` dependency and the HTML error pages live in timebank/web.py.

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _setup_jinja(engine: JinjaTemplateEngine) -> None:
    engine.engine.add_extension("jinja2.ext.i18n")
    engine.engine.trim_blocks = True
    engine.engine.lstrip_blocks = True
    filters.install(engine.engine)


def web_config(settings: Settings) -> dict[str, Any]:
    return {
        "template_config": TemplateConfig(
            directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_setup_jinja
        ),
        # Pages post forms with the cookie session: every unsafe method needs the token.
        # The API authenticates with bearer tokens and never reads cookies, so it is exempt.
        "csrf_config": CSRFConfig(
            secret=settings.secret_key,
            exclude=["^/api/"],
            cookie_samesite="lax",
            cookie_secure=settings.base_url.startswith("https://"),
        ),
    }


# --- The application ------------------------------------------------------------------------


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Litestar:
    settings = settings or load_settings()
    engine = engine or make_engine(settings.database_url)

    async def check_schema(app: Litestar) -> None:
        await ensure_schema(engine, settings.database_url, auto_upgrade=settings.auto_upgrade)

    async def close_engine(app: Litestar) -> None:
        await engine.dispose()

    # --- scheduler (issue 4): one leader among all app processes runs the jobs ----------
    job_scheduler = JobScheduler(settings, engine=engine) if settings.run_scheduler else None

    async def start_scheduler(app: Litestar) -> None:
        if job_scheduler is not None:
            await job_scheduler.start()

    async def stop_scheduler(app: Litestar) -> None:
        if job_scheduler is not None:
            await job_scheduler.stop()

    return Litestar(
        route_handlers=[
            *api.ROUTES,
            *web_pages.ROUTES,
            *manager_pages.ROUTES,  # /manage (manager only) and /board
            *flag_pages.ROUTES,  # /manage/flags and /manage/jobs (issue 4)
            create_static_files_router(path="/static", directories=[STATIC_DIR]),
        ],
        dependencies={
            "db": Provide(provide_db),
            "actor": Provide(provide_api_actor),
            "member": Provide(web_pages.provide_member),
        },
        exception_handlers=web_pages.with_error_pages(EXCEPTION_HANDLERS),
        **web_config(settings),
        on_startup=[check_schema, start_scheduler],
        on_shutdown=[stop_scheduler, close_engine],
        state=State({"settings": settings, "sessions": make_sessionmaker(engine)}),
        openapi_config=OpenAPIConfig(
            title="timebank",
            version="1",
            path="/schema",
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer"),
                }
            ),
            security=[{"BearerToken": []}],
        ),
        debug=False,
    )
