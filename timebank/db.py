"""Engines, sessions and the schema's migration state, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank.resources import MIGRATIONS_DIR


class SchemaBehind(Exception):
    """The database's schema is older than the code; the message says what to run."""


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _make_sqlite_serial(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


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


async def ensure_schema(engine: AsyncEngine, url: str, *, auto_upgrade: bool) -> None:
    """Upgrade a schema that is behind, or refuse to start with a one-line instruction."""
    if await schema_is_current(engine, url):
        return
    if auto_upgrade:
        await upgrade(url)
        return
    raise SchemaBehind(
        f"the database at {safe_url(url)} is not on the newest schema: "
        "run `timebank db upgrade` (or set TIMEBANK_AUTO_UPGRADE=1)"
    )


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
