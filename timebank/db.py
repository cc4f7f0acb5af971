"""Engines, sessions and the schema's migration state, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank.resources import MIGRATIONS_DIR

log = logging.getLogger("timebank")


class SchemaBehind(Exception):
    """The database's schema is older than the code; the message says what to run."""


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _make_sqlite_serial(engine)
        return engine
    # A connection the server dropped (restart, outage, pg_terminate_backend) is noticed
    # when it is taken from the pool and replaced, instead of failing the next request.
    kwargs.setdefault("pool_pre_ping", True)
    # asyncpg waits 60 s for an unreachable server; a visitor should hear "try later" sooner.
    kwargs.setdefault("connect_args", {"timeout": CONNECT_TIMEOUT_SECONDS})
    return create_async_engine(url, **kwargs)


CONNECT_TIMEOUT_SECONDS = 10

# PostgreSQL SQLSTATEs that mean "not now": connection exceptions (class 08), the server
# shutting down, crashed or starting up (57P01-57P03), no connection slot left (53300).
_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be used just now — down, restarting,
    unreachable, out of connections, a connection cut under a request — so the same request
    may well succeed in a moment: not a fault of the request nor of the code."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            return True
        return _outage_state(exc.orig) or _outage_state(getattr(exc.orig, "__cause__", None))
    # Raised bare by the driver while connecting: refused, unreachable, timed out, or the
    # server's own refusal (starting up, too many connections).
    return isinstance(exc, OSError) or _outage_state(exc)


def _outage_state(exc: BaseException | None) -> bool:
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_OUTAGE_STATES)


def _make_sqlite_serial(engine: AsyncEngine) -> None:
    """Every SQLite transaction starts with BEGIN IMMEDIATE.

    SQLite has no row locks: two transactions that both read a balance and then write
    would either overshoot a limit or fail with "database is locked" half-way. Taking the
    write lock at BEGIN serialises writers up front, which is what the ledger needs.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends, rolls back on any exception."""
    async with sessions() as session, session.begin():
        yield session


# --- Migrations --------------------------------------------------------------------------


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("timebank_url", url)
    return cfg


def _head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        heads = await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_heads()
        )
    return set(heads)


async def schema_is_current(engine: AsyncEngine, url: str) -> bool:
    return await current_revisions(engine) == _head_revisions(url)


def upgrade_sync(url: str) -> None:
    """Bring the schema to the newest migration (runs its own event loop)."""
    command.upgrade(alembic_config(url), "head")


async def upgrade(url: str) -> None:
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade_sync, url)


async def ensure_schema(
    engine: AsyncEngine, url: str, *, auto_upgrade: bool, wait_seconds: float = 300
) -> None:
    """Upgrade a schema that is behind, or refuse to start with a one-line instruction.

    A database that is away (restarting, say) is waited for, up to ``wait_seconds``: a
    worker that uvicorn replaces during an outage must not fail its start, since uvicorn
    then stops the whole server instead of serving again once the database is back."""
    if await _when_reachable(lambda: schema_is_current(engine, url), wait_seconds):
        return
    if auto_upgrade:
        await upgrade(url)
        return
    raise SchemaBehind(
        f"the database at {safe_url(url)} is not on the newest schema: "
        "run `timebank db upgrade` (or set TIMEBANK_AUTO_UPGRADE=1)"
    )


async def _when_reachable(check: Callable[[], Awaitable[bool]], wait_seconds: float) -> bool:
    deadline = time.monotonic() + wait_seconds
    pause = 0.5
    while True:
        try:
            return await check()
        except Exception as exc:
            if not is_outage(exc) or time.monotonic() + pause > deadline:
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            log.warning("the database is unavailable (%s); waiting for it", first)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 5.0)


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
