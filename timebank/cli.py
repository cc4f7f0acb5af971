"""The ``timebank`` command. Errors are one clear line on stderr and a non-zero exit code."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from timebank.config import ConfigError, Settings, load_settings
from timebank.db import SchemaBehind, make_engine, make_sessionmaker, safe_url, schema_is_current
from timebank.db import upgrade as upgrade_schema
from timebank.errors import DomainError

T = TypeVar("T")


class Fail(click.ClickException):
    """A one-line error: ``timebank: error: …``."""

    def show(self, file: Any = None) -> None:
        click.echo(f"timebank: error: {self.message}", err=True)


def settings_or_fail(env: str | None = None) -> Settings:
    try:
        return load_settings(env=env)
    except ConfigError as exc:
        raise Fail(str(exc)) from None


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning the errors people cause into one clear line."""
    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    except (DomainError, SchemaBehind) as exc:
        raise Fail(getattr(exc, "detail", str(exc))) from None
    except OSError as exc:
        raise Fail(f"cannot reach the database: {exc}") from None


async def _require_current_schema(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        if not await schema_is_current(engine, settings.database_url):
            raise SchemaBehind(
                f"the database at {safe_url(settings.database_url)} is not on the newest "
                "schema: run `timebank db upgrade`"
            )
    finally:
        await engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """timebank: a time bank for neighbourhood help (give an hour, receive an hour)."""


# --- serve ----------------------------------------------------------------------------------


@main.command()
@click.option("--demo", is_flag=True, help="Development mode: migrate, seed a demo network.")
@click.option("--host", default=None, help="Address to listen on (default TIMEBANK_HOST).")
@click.option("--port", type=int, default=None, help="Port (default TIMEBANK_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, help="Worker processes.")
def serve(demo: bool, host: str | None, port: int | None, workers: int) -> None:
    """Serve the web pages and the JSON API."""
    import uvicorn

    if demo:
        os.environ.setdefault("TIMEBANK_ENV", "development")
    settings = settings_or_fail()
    if workers > 1 and settings.is_sqlite:
        raise Fail("SQLite serves one process: use --workers 1, or PostgreSQL for more")
    if settings.auto_upgrade:
        run(lambda: upgrade_schema(settings.database_url))
    else:
        run(lambda: _require_current_schema(settings))
    if demo:
        from timebank.demo import seed_demo_if_empty

        logins = run(lambda: seed_demo_if_empty(settings.database_url))
        click.echo(f"Demo network ready. Log in with (password for all: {logins.password}):")
        for role, email in logins.emails:
            click.echo(f"  {role:<13} {email}")
    host = host or settings.host
    port = port or settings.port
    click.echo(f"timebank on http://{host}:{port}  (database {safe_url(settings.database_url)})")
    uvicorn.run(
        "timebank.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


# --- db -------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema up to the newest migration."""
    settings = settings_or_fail(env=os.environ.get("TIMEBANK_ENV") or "development")
    run(lambda: upgrade_schema(settings.database_url))
    click.echo(f"schema is current ({safe_url(settings.database_url)})")


def _sessions(settings: Settings):  # type: ignore[no-untyped-def]
    return make_sessionmaker(make_engine(settings.database_url))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
