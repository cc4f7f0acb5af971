"""The one wiring place: routes, dependencies, auth, error handling and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    NotAuthorizedException,
)
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import members
from timebank.config import Settings, load_settings
from timebank.db import ensure_schema, make_engine, make_sessionmaker
from timebank.i18n import N_
from timebank.jobs.scheduler import JobScheduler
from timebank.models import Member
from timebank.resources import TEMPLATES_DIR
from timebank.web import api, filters, forms
from timebank.web.csrf import SessionCsrfMiddleware
from timebank.web.errors import EXCEPTION_HANDLERS
from timebank.web.frame import provide_member
from timebank.web.headers import security_headers
from timebank.web.openapi import ServerRenderedReference
from timebank.web.pages import board, clients, disputes, flags, manager, member, office, signin
from timebank.web.pages import exports as export_pages
from timebank.web.pages import held as held_pages
from timebank.web.pages import inbox as inbox_pages
from timebank.web.pages import join as join_pages
from timebank.web.pages import organizations as organization_pages
from timebank.web.pages import privacy as privacy_pages
from timebank.web.pages import reports as report_pages

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
        # Message ids (N_): web/errors.py tells a 401 in the caller's language.
        raise NotAuthorizedException(
            N_("send 'Authorization: Bearer <token>' (timebank token create)")
        )
    member = await members.member_for_token(db, token.strip())
    if member is None:
        raise NotAuthorizedException(
            N_("this token is unknown, revoked, or its member is inactive")
        )
    # Refusals from here on are told in the member's language (unless Accept-Language names
    # one): web/errors.reader_language reads it.
    request.state.caller_language = member.language
    return member


# --- Pages: templates, CSRF, static files ---------------------------------------------------

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
        # Pages post forms with the cookie session: every unsafe method needs the token of
        # that session (timebank.web.csrf). The API authenticates with bearer tokens and
        # never reads cookies, so it is exempt.
        "middleware": [
            DefineMiddleware(
                SessionCsrfMiddleware,
                secret=settings.secret_key,
                secure=settings.base_url.startswith("https://"),
            )
        ],
    }


# --- The application ------------------------------------------------------------------------


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Litestar:
    settings = settings or load_settings()
    engine = engine or make_engine(settings.database_url)

    async def check_schema(app: Litestar) -> None:
        await ensure_schema(engine, settings.database_url, auto_upgrade=settings.auto_upgrade)

    async def close_engine(app: Litestar) -> None:
        await engine.dispose()

    # One leader among all app processes runs the scheduled jobs.
    job_scheduler = JobScheduler(settings, engine=engine) if settings.run_scheduler else None

    async def start_scheduler(app: Litestar) -> None:
        if job_scheduler is not None:
            await job_scheduler.start()

    async def stop_scheduler(app: Litestar) -> None:
        if job_scheduler is not None:
            await job_scheduler.stop()

    return Litestar(
        route_handlers=[
            *api.ROUTES,  # /api/v1
            *signin.ROUTES,
            *member.ROUTES,
            *board.ROUTES,  # /board
            *clients.ROUTES,  # /clients, a professional's clients
            *manager.ROUTES,  # /manage, the network manager only
            *flags.ROUTES,  # /manage/flags, /manage/jobs
            *held_pages.ROUTES,  # /manage/held: help held at a limit, pool payments
            *inbox_pages.ROUTES,  # /notifications, /unsubscribe/{token}
            *export_pages.ROUTES,  # /manage/exports, /manage/audit
            *organization_pages.ROUTES,  # /manage/organizations
            *disputes.ROUTES,  # /exchanges/{id}/dispute…, /manage/disputes
            *office.ROUTES,  # /manage/office, /manage/post, /impressum, /datenschutz
            *join_pages.ROUTES,  # /join (no account needed), /manage/intake
            *privacy_pages.ROUTES,  # /me/data, /manage/members/{id}/data|erase, /manage/privacy
            *report_pages.ROUTES,  # /manage/reports, certificates (Engagementnachweis)
            create_static_files_router(path="/static", directories=[STATIC_DIR]),
        ],
        dependencies={
            "db": Provide(provide_db),
            "actor": Provide(provide_api_actor),
            "member": Provide(provide_member),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # Path ids and query text bounded before any page handler (the API's own guard and
        # typed parameters are on its router); the schema says what the API refuses.
        before_request=forms.guard_page_input,
        plugins=[api.InputSchemas()],
        # Security headers, no-store and a correct Allow on every answer, even the router's
        # own 404/405 (which no middleware sees); static files may be cached.
        before_send=[security_headers(cacheable=("/static/",))],
        **web_config(settings),
        on_startup=[check_schema, start_scheduler],
        on_shutdown=[stop_scheduler, close_engine],
        state=State({"settings": settings, "sessions": make_sessionmaker(engine)}),
        openapi_config=OpenAPIConfig(
            title="timebank",
            version="1",
            path="/schema",
            # The reference drawn on the server (no CDN, no script) and the JSON document;
            # Litestar's other renderers need CDNs and inline script, so they are not served.
            render_plugins=[ServerRenderedReference(path="/"), JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer"),
                }
            ),
            security=[{"BearerToken": []}],
        ),
        debug=False,
    )
