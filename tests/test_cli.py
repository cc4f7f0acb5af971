"""The ``timebank`` command: each command does its job, and every failure is one clear line
(``timebank: error: …``) with a non-zero exit code, never a traceback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlmodel import select

from tests.support import one_line_error
from timebank import ledger, members
from timebank.cli import main
from timebank.config import load_settings
from timebank.db import transaction
from timebank.models import Member, Organization
from timebank.web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def cli(db_url: str, *args: str, **env: str) -> Result:
    """Run the command in a thread of its own: it starts its own event loop."""
    environ = {"TIMEBANK_DATABASE_URL": db_url, "TIMEBANK_ENV": "", **env}
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=environ)


# --- member create ----------------------------------------------------------------------


async def test_member_create_adds_a_member_with_an_account(db_url, sessions, world):
    result = await cli(
        db_url,
        *("member", "create", "--name", "Greta Garten", "--role", "volunteer"),
        *("--email", "Greta@Example.org", "--password", "long enough secret"),
        *("--district", "Nord"),
    )
    assert result.exit_code == 0, result.output
    assert "Greta Garten" in result.output
    async with transaction(sessions) as s:
        greta = await members.member_by_email(s, "greta@example.org")
        assert greta is not None and greta.role == "volunteer"
        assert greta.district_id == world.north.id
        assert members.password_matches(greta, "long enough secret")
        assert (await ledger.account_of_member(s, greta.id)).balance_minutes == 0  # type: ignore[arg-type]


async def test_a_professional_is_created_in_their_organisation(db_url, sessions, world):
    result = await cli(
        db_url,
        *("member", "create", "--name", "Petra Pflege", "--role", "professional"),
        *("--organization", "Caritas Nord"),
    )
    assert result.exit_code == 0, result.output
    async with transaction(sessions) as s:
        petra = await s.scalar(select(Member).where(Member.name == "Petra Pflege"))
        assert petra is not None and petra.organization_id == world.org.id


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--role", "king"), "choose a role from the list"),
        (("--role", "professional"), "belongs to a member organisation"),
        (("--role", "volunteer", "--organization", "Nowhere e.V."), "organisation 'Nowhere"),
        (("--role", "volunteer", "--district", "Atlantis"), "no district"),
        (("--role", "volunteer", "--email", "volker@example.org"), "already has this email"),
        (("--role", "volunteer", "--email", "not-an-email"), "not an email address"),
        (("--role", "volunteer", "--email", "a@b.org", "--password", "short"), "8 characters"),
    ],
)
async def test_member_create_refuses_bad_input_in_one_line(db_url, sessions, world, args, says):
    async with transaction(sessions) as s:
        before = len((await s.exec(select(Member))).all())
    result = await cli(db_url, "member", "create", "--name", "Nora Neu", *args)
    assert says in one_line_error(result)
    async with transaction(sessions) as s:
        assert len((await s.exec(select(Member))).all()) == before


# --- token create -----------------------------------------------------------------------


async def test_token_create_prints_a_token_last_that_authenticates(db_url, sessions, world):
    result = await cli(db_url, "token", "create", "VOLKER@example.org")
    assert result.exit_code == 0, result.output
    token = result.output.split()[-1]
    async with transaction(sessions) as s:
        who = await members.member_for_token(s, token)
        assert who is not None and who.id == world.volunteer.id

    settings = load_settings(
        {"TIMEBANK_DATABASE_URL": db_url, "TIMEBANK_SCHEDULER": "0"}, env="development"
    )
    app = create_app(settings)
    async with AsyncTestClient(app) as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["id"] == world.volunteer.id
        wrong = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401


async def test_token_create_for_an_unknown_email_is_one_line(db_url, world):
    line = one_line_error(await cli(db_url, "token", "create", "nobody@example.org"))
    assert "nobody@example.org" in line


# --- organization create / list -------------------------------------------------------------


async def test_organization_create_adds_an_organisation_and_list_shows_it(db_url, sessions, world):
    result = await cli(
        db_url,
        *("organization", "create", "--name", "Seniorenbüro der Stadt", "--kind", "city"),
        *("--contact", "Frau Wagner", "--phone", "0621 1", "--email", "Senioren@Stadt.example"),
    )
    assert result.exit_code == 0, result.output
    assert "Seniorenbüro der Stadt" in result.output
    async with transaction(sessions) as s:
        made = await s.scalar(select(Organization).where(Organization.name.startswith("Senioren")))  # type: ignore[attr-defined]
        assert made is not None
        assert (made.kind, made.contact_person, made.email) == (
            "city", "Frau Wagner", "senioren@stadt.example",
        )  # fmt: skip
    listed = await cli(db_url, "organization", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert [line.strip().split("  ")[1] for line in lines] == [
        "Caritas Nord", "Diakonie Süd", "Seniorenbüro der Stadt",
    ]  # fmt: skip
    assert "(city, active)  Frau Wagner" in lines[2]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--name", "Caritas Nord"), "exists already"),
        (("--name", "Neu", "--kind", "club"), "kind of organisation"),
        (("--name", " "), "needs a name"),
        (("--name", "Neu", "--email", "nope"), "not an email address"),
    ],
)
async def test_organization_create_refuses_bad_input_in_one_line(db_url, world, args, says):
    line = one_line_error(await cli(db_url, "organization", "create", *args))
    assert says in line


# --- ledger verify ----------------------------------------------------------------------


async def pay_some(sessions, world) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        await ledger.post_transfer(
            s,
            from_account_id=(await ledger.account_of_member(s, world.senior.id)).id,  # type: ignore[arg-type]
            to_account_id=(await ledger.account_of_member(s, world.volunteer.id)).id,  # type: ignore[arg-type]
            minutes=90,
            kind="adjustment",
            actor=world.manager,
        )


async def test_ledger_verify_passes_on_honest_books(db_url, sessions, world):
    await pay_some(sessions, world)
    result = await cli(db_url, "ledger", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok:") and "1 transfers" in result.output


async def test_ledger_verify_names_a_tampered_account_and_fails(db_url, sessions, world):
    await pay_some(sessions, world)
    async with transaction(sessions) as s:
        tampered = (await ledger.account_of_member(s, world.volunteer.id)).id
        # Someone edits the cached balance behind the ledger's back.
        await s.exec(  # type: ignore[call-overload]
            text(
                f"UPDATE accounts SET balance_minutes = balance_minutes + 30 WHERE id = {tampered}"
            )
        )
    result = await cli(db_url, "ledger", "verify")
    assert result.exit_code != 0
    assert f"account {tampered}: cached balance 120 min, transfers say 90 min" in result.stderr
    assert f"account(s) {tampered} differ" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.output


# --- the schema, the database, the settings -------------------------------------------------


async def test_commands_refuse_a_database_that_is_behind_until_it_is_upgraded(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    line = one_line_error(await cli(url, "token", "create", "x@example.org"))
    assert "run `timebank db upgrade`" in line
    upgraded = await cli(url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    created = await cli(url, "member", "create", "--name", "Erste", "--role", "manager")
    assert created.exit_code == 0, created.output
    assert "Erste" in created.output


async def test_serve_refuses_a_database_that_is_behind_outside_development(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    line = one_line_error(
        await cli(
            url,
            "serve",
            TIMEBANK_ENV="production",
            TIMEBANK_SECRET_KEY="a long and random enough secret",
            TIMEBANK_AUTO_UPGRADE="0",
        )
    )
    assert "timebank db upgrade" in line


async def test_serve_outside_development_needs_a_secret_key(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    line = one_line_error(await cli(url, "serve", TIMEBANK_ENV="production"))
    assert "TIMEBANK_SECRET_KEY" in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/timebank",
        "sqlite+aiosqlite:////nonexistent-folder/timebank.db",
    ],
    ids=["postgresql-nobody-listening", "sqlite-no-such-folder"],
)
async def test_an_unreachable_database_is_one_line(url):
    for args in (("ledger", "verify"), ("db", "upgrade"), ("token", "create", "a@b.org")):
        line = one_line_error(await cli(url, *args))
        assert "database" in line


async def test_a_bad_setting_is_one_line(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    line = one_line_error(await cli(url, "ledger", "verify", TIMEBANK_ENV="staging"))
    assert "TIMEBANK_ENV" in line


# --- demo -----------------------------------------------------------------------------------


async def test_demo_seeds_an_empty_database_once(db_url, sessions):
    result = await cli(db_url, "demo", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "demo network seeded (seed 5)" in result.output
    assert "manager@" in result.output and "senior@" in result.output
    async with transaction(sessions) as s:
        assert (await ledger.verify(s)).ok
    line = one_line_error(await cli(db_url, "demo"))
    assert "already has members" in line


# --- the entry points ------------------------------------------------------------------------


def test_python_m_timebank_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "timebank", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    for command in ("serve", "db", "demo", "member", "token", "ledger"):
        assert command in done.stdout
