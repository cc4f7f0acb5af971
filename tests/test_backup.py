"""Backups (``timebank db backup`` / ``db restore``): a consistent copy made while the ledger
keeps booking, restored into a fresh database with its books balanced and every transfer
acknowledged before the backup began; a restore over data needs --force, and a bad file is
one clear line that changes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import text

from tests.support import (
    Sessions,
    World,
    account_id_of,
    administer,
    one_line_error,
    outside_loop,
    with_database,
)
from timebank import backup as backups
from timebank import ledger
from timebank.cli import main
from timebank.db import alembic_config, make_engine, schema_is_current, transaction

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def cli(url: str, *args: str, **env: str) -> Result:
    """Run the command in a thread of its own: it starts its own event loop, and the test's
    loop keeps running (and booking) meanwhile."""
    environ = {"TIMEBANK_DATABASE_URL": url, "TIMEBANK_ENV": "", **env}
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=environ)


def succeeded(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
async def fresh_url(db_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second database of the same kind, brand new: not even migrated."""
    if db_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"tb_restore_{uuid.uuid4().hex[:12]}"
    await administer(db_url, f"CREATE DATABASE {name}")
    yield with_database(db_url, name)
    await administer(db_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def scalars(url: str, sql: str) -> list[object]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).scalars())
    finally:
        await engine.dispose()


async def fingerprint(url: str) -> tuple[list[object], list[object], list[object]]:
    """What a refused restore must leave exactly as it was."""
    return (
        await scalars(url, "SELECT name FROM members ORDER BY id"),
        await scalars(url, "SELECT minutes FROM transfers ORDER BY id"),
        await scalars(url, "SELECT balance_minutes FROM accounts ORDER BY id"),
    )


# --- Under write load -----------------------------------------------------------------------


async def keep_booking(
    sessions: Sessions,
    world: World,
    writer: int,
    acknowledged: list[str],
    stop: asyncio.Event,
) -> None:
    """Book transfers through the ledger, one transaction each, until told to stop; a key
    is recorded once its transaction has committed (what the API would acknowledge)."""
    pairs = [(world.volunteer, world.volunteer2), (world.senior, world.professional)]
    async with transaction(sessions) as s:
        one, other = [await account_id_of(s, m) for m in pairs[writer]]
    booked = 0
    while not stop.is_set():
        key = f"load-{writer}-{booked}"
        payer, payee = (one, other) if booked % 2 == 0 else (other, one)
        async with transaction(sessions) as s:
            await ledger.post_transfer(
                s,
                from_account_id=payer,
                to_account_id=payee,
                minutes=30,
                kind="adjustment",
                actor=world.manager,
                idempotency_key=key,
            )
        acknowledged.append(key)
        booked += 1


async def until_acknowledged(
    count: int, acknowledged: list[str], writers: list[asyncio.Task[None]]
) -> None:
    while len(acknowledged) < count:
        for task in writers:
            if task.done():
                task.result()  # a writer failed: raise why
                raise AssertionError("a writer stopped early")
        await asyncio.sleep(0.01)


async def test_a_backup_under_write_load_restores_every_acknowledged_transfer(
    db_url, sessions, world, fresh_url, tmp_path
):
    file = tmp_path / "nightly.backup"
    acknowledged: list[str] = []
    stop = asyncio.Event()
    writers = [
        asyncio.create_task(keep_booking(sessions, world, w, acknowledged, stop)) for w in (0, 1)
    ]
    try:
        await until_acknowledged(20, acknowledged, writers)
        before_backup = set(acknowledged)
        made = await cli(db_url, "db", "backup", str(file))
        # The app goes on booking after the backup as it did before and during it.
        await until_acknowledged(len(acknowledged) + 10, acknowledged, writers)
    finally:
        stop.set()
        await asyncio.gather(*writers)
    assert "written to" in succeeded(made)
    assert not list(tmp_path.glob(".*.partial"))

    assert "restored" in succeeded(await cli(fresh_url, "db", "restore", str(file)))
    assert "all balances match" in succeeded(await cli(fresh_url, "ledger", "verify"))
    restored = set(
        await scalars(
            fresh_url, "SELECT idempotency_key FROM transfers WHERE idempotency_key LIKE 'load-%'"
        )
    )
    assert before_backup <= restored, sorted(before_backup - restored)
    assert restored <= set(acknowledged)  # nothing that never committed
    assert await scalars(fresh_url, "SELECT name FROM members ORDER BY id") == await scalars(
        db_url, "SELECT name FROM members ORDER BY id"
    )
    engine = make_engine(fresh_url)
    try:
        assert await schema_is_current(engine, fresh_url)
    finally:
        await engine.dispose()


# --- A restore over data --------------------------------------------------------------------


async def test_a_restore_over_data_needs_force_and_then_replaces_it(
    db_url, world, fresh_url, tmp_path
):
    file = tmp_path / "world.backup"
    succeeded(await cli(db_url, "db", "backup", str(file)))
    succeeded(await cli(fresh_url, "db", "upgrade"))
    succeeded(
        await cli(fresh_url, "member", "create", "--name", "Someone Else", "--role", "volunteer")
    )
    as_it_was = await fingerprint(fresh_url)

    refused = one_line_error(await cli(fresh_url, "db", "restore", str(file)))
    assert "already holds data (1 members, 0 transfers)" in refused
    assert "--force" in refused
    assert await fingerprint(fresh_url) == as_it_was

    succeeded(await cli(fresh_url, "db", "restore", "--force", str(file)))
    assert await fingerprint(fresh_url) == await fingerprint(db_url)
    assert "Someone Else" not in await scalars(fresh_url, "SELECT name FROM members")
    succeeded(await cli(fresh_url, "ledger", "verify"))


async def test_a_migrated_database_without_members_is_empty_enough(
    db_url, world, fresh_url, tmp_path
):
    file = tmp_path / "world.backup"
    succeeded(await cli(db_url, "db", "backup", str(file)))
    succeeded(await cli(fresh_url, "db", "upgrade"))
    succeeded(await cli(fresh_url, "db", "restore", str(file)))
    assert await fingerprint(fresh_url) == await fingerprint(db_url)


# --- Files that are no backup ---------------------------------------------------------------


def write_sqlite_without_schema(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "there is no backup file at"),
        (b"", None),
        (b"this is a shopping list, not a backup\n" * 50, None),
        (b"PGDMP" + b"\x00" * 300, None),
        ("sqlite-without-schema", None),
    ],
    ids=["missing", "empty", "garbage", "damaged-pg-dump", "foreign-sqlite"],
)
async def test_a_file_that_is_no_backup_is_one_line_and_changes_nothing(
    db_url, world, tmp_path, content, says
):
    file = tmp_path / "backup.file"
    if content == "sqlite-without-schema":
        write_sqlite_without_schema(file)
    elif isinstance(content, bytes):
        file.write_bytes(content)
    as_it_was = await fingerprint(db_url)
    error = one_line_error(await cli(db_url, "db", "restore", "--force", str(file)))
    if says:
        assert says in error
    assert str(file) in error
    assert await fingerprint(db_url) == as_it_was


async def test_a_truncated_backup_is_one_line_and_changes_nothing(db_url, world, tmp_path):
    """Cut short (a full disk, a copy interrupted), a backup must not restore half a
    database: the restore runs in one transaction that only commits a complete file."""
    file = tmp_path / "cut.backup"
    succeeded(await cli(db_url, "db", "backup", str(file)))
    whole = file.read_bytes()
    file.write_bytes(whole[: len(whole) - len(whole) // 100])
    as_it_was = await fingerprint(db_url)
    error = one_line_error(await cli(db_url, "db", "restore", "--force", str(file)))
    assert str(file) in error
    assert await fingerprint(db_url) == as_it_was


async def test_a_backup_from_a_newer_schema_is_refused_before_anything_changes(
    db_url, world, fresh_url, tmp_path
):
    file = tmp_path / "future.backup"
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        await engine.dispose()
    succeeded(await cli(db_url, "db", "backup", str(file)))
    error = one_line_error(await cli(fresh_url, "db", "restore", str(file)))
    assert "newer timebank (schema revision 9999_future" in error
    assert await backups.contents(fresh_url) == backups.Contents(0, 0, 0)


async def test_an_older_backup_is_checked_like_a_start(db_url, fresh_url, tmp_path):
    """Restored, the schema is what the backup had: upgraded where a start would upgrade,
    and where a start would refuse, one line saying what to run."""
    old, file = fresh_url, tmp_path / "old.backup"
    outside_loop(command.upgrade, alembic_config(old), "0001_core")
    succeeded(await cli(old, "db", "backup", str(file)))

    error = one_line_error(await cli(db_url, "db", "restore", str(file), TIMEBANK_AUTO_UPGRADE="0"))
    assert "run `timebank db upgrade`" in error
    assert await scalars(db_url, "SELECT version_num FROM alembic_version") == ["0001_core"]

    succeeded(await cli(db_url, "db", "restore", "--force", str(file)))  # auto-upgrade on
    engine = make_engine(db_url)
    try:
        assert await schema_is_current(engine, db_url)
    finally:
        await engine.dispose()


# --- Where a backup cannot be made ----------------------------------------------------------


async def test_a_backup_into_a_missing_folder_is_one_line(db_url, tmp_path):
    error = one_line_error(await cli(db_url, "db", "backup", str(tmp_path / "no" / "x.backup")))
    assert "does not exist" in error


async def test_a_failed_backup_keeps_the_older_one(db_url, tmp_path):
    file = tmp_path / "nightly.backup"
    file.write_bytes(b"last night's backup")
    gone = (
        f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}"
        if db_url.startswith("sqlite")
        else with_database(db_url, "tb_no_such_database")
    )
    one_line_error(await cli(gone, "db", "backup", str(file)))
    assert file.read_bytes() == b"last night's backup"
    assert not (tmp_path / "gone.db").exists()
    assert not list(tmp_path.glob(".*.partial"))


async def test_sqlite_refuses_to_back_up_onto_its_own_file(tmp_path):
    path = tmp_path / "timebank.db"
    url = f"sqlite+aiosqlite:///{path}"
    succeeded(await cli(url, "db", "upgrade"))
    error = one_line_error(await cli(url, "db", "backup", str(path)))
    assert "is the database itself" in error


async def test_without_pg_dump_the_command_says_what_to_run(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setattr(backups, "POSTGRES_LIB", tmp_path / "no-postgresql")
    url = with_database(postgres_url, "timebank_live")
    error = one_line_error(
        await cli(url, "db", "backup", str(tmp_path / "x.backup"), PATH=str(tmp_path))
    )
    assert "pg_dump is not installed" in error
    assert "pg_dump -Fc" in error and "-d timebank_live" in error
    assert f"-f {tmp_path / 'x.backup'}" in error


def test_the_password_goes_to_the_environment_never_the_command_line():
    params = backups.PgParams.from_url(
        "postgresql+asyncpg://timebank:s3cret@db.example.org:5433/books?ssl=require"
    )
    assert "s3cret" not in " ".join(params.options())
    env = params.environment()
    assert env["PGPASSWORD"] == "s3cret"
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.example.org",
        "5433",
        "timebank",
        "books",
    )
    assert env["PGSSLMODE"] == "require"
