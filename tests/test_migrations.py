"""The migrations are the schema: they agree with the models, they go down and up again, and
nothing starts on a database whose schema is behind without saying what to run (both DBs)."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from litestar.testing import AsyncTestClient
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from timebank.config import load_settings
from timebank.db import (
    SchemaBehind,
    alembic_config,
    current_revisions,
    ensure_schema,
    schema_is_current,
    upgrade,
)
from timebank.models import SQLModel
from timebank.web.app import create_app


async def differences(engine: AsyncEngine) -> list[object]:
    def compare(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def downgrade_to_base(url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), "base")


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


async def test_the_migrated_schema_matches_the_models(engine):
    assert await differences(engine) == []


async def test_downgrade_to_base_and_upgrade_again(db_url, engine):
    await downgrade_to_base(db_url)
    assert await tables(engine) <= {"alembic_version"}
    assert await current_revisions(engine) == set()

    await upgrade(db_url)
    assert await schema_is_current(engine, db_url)
    assert await differences(engine) == []
    async with engine.connect() as conn:
        pools = await conn.scalar(text("SELECT count(*) FROM accounts WHERE kind = 'pool'"))
        categories = await conn.scalar(text("SELECT count(*) FROM categories"))
    assert (pools, categories) == (1, 10)
    # The append-only triggers came back with the tables.
    async with engine.begin() as conn:
        pool_id = await conn.scalar(text("SELECT id FROM accounts WHERE kind = 'pool'"))
        other = await conn.scalar(
            text(
                "INSERT INTO organizations (name, kind, created_at) "
                "VALUES ('Probe', 'welfare', CURRENT_TIMESTAMP) RETURNING id"
            )
        )
        account = await conn.scalar(
            text(
                "INSERT INTO accounts (kind, organization_id, balance_minutes, created_at) "
                f"VALUES ('organization', {other}, 0, CURRENT_TIMESTAMP) RETURNING id"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO transfers (from_account_id, to_account_id, minutes, kind, "
                "from_balance_after, to_balance_after, created_at) "
                f"VALUES ({account}, {pool_id}, 5, 'adjustment', -5, 5, CURRENT_TIMESTAMP)"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE transfers SET minutes = 50"))


async def test_a_start_on_a_schema_that_is_behind_refuses_in_one_line(db_url, engine):
    await downgrade_to_base(db_url)
    with pytest.raises(SchemaBehind) as refused:
        await ensure_schema(engine, db_url, auto_upgrade=False)
    message = str(refused.value)
    assert "\n" not in message
    assert "run `timebank db upgrade`" in message
    assert await current_revisions(engine) == set()


async def test_the_app_refuses_to_start_on_a_schema_that_is_behind(db_url, engine):
    await downgrade_to_base(db_url)
    settings = load_settings(
        {
            "TIMEBANK_DATABASE_URL": db_url,
            "TIMEBANK_SECRET_KEY": "a long and random enough secret",
            "TIMEBANK_AUTO_UPGRADE": "0",
            "TIMEBANK_SCHEDULER": "0",
        },
        env="production",
    )
    with pytest.raises(BaseException) as refused:
        async with AsyncTestClient(create_app(settings)):
            pass
    # The lifespan hands its error on inside an exception group.
    behind = [e for e in leaves(refused.value) if isinstance(e, SchemaBehind)]
    assert behind and "timebank db upgrade" in str(behind[0])
    assert not await schema_is_current(engine, db_url)


async def test_in_development_the_app_upgrades_the_schema_at_start(db_url, engine):
    await downgrade_to_base(db_url)
    settings = load_settings(
        {"TIMEBANK_DATABASE_URL": db_url, "TIMEBANK_SCHEDULER": "0"}, env="development"
    )
    assert settings.auto_upgrade
    async with AsyncTestClient(create_app(settings)) as client:
        answer = await client.get("/api/v1/me")
        assert answer.status_code == 401  # up and answering, on the newest schema
    assert await schema_is_current(engine, db_url)
