"""What several test modules and conftest.py files share that is not a fixture: the test
world's shape and password, database-server plumbing, and the balance review's set-up.

Test modules receive fixtures as arguments and import everything else from here (or from
``tests/web/support.py``, ``tests/web/browser/support.py``); nothing imports from a
conftest.py or from a test module (tests/test_test_layout.py checks).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, TypeVar

import asyncpg
from aiosmtpd.controller import Controller
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import i18n, ledger, review
from timebank.config import Settings
from timebank.db import transaction
from timebank.errors import DomainError
from timebank.models import District, Flag, Member, Organization, utcnow
from timebank.network import TownClock

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")

# --- The test world -------------------------------------------------------------------------

PASSWORD = "correct horse battery"


@dataclass
class World:
    """A small network: one organisation, two districts, and a member of every role."""

    org: Organization
    other_org: Organization
    north: District
    south: District
    manager: Member
    volunteer: Member
    volunteer2: Member
    senior: Member
    client: Member  # a senior who is a client of ``org`` and has no login
    professional: Member
    outside_professional: Member  # works for ``other_org``

    def all(self) -> list[Member]:
        return [
            self.manager,
            self.volunteer,
            self.volunteer2,
            self.senior,
            self.client,
            self.professional,
            self.outside_professional,
        ]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- The database server --------------------------------------------------------------------


def outside_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` in a thread of its own: session fixtures may be first requested from
    inside a test's event loop, and migrations start an event loop of their own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def administer(url: str, *statements: str) -> None:
    """Run statements such as CREATE DATABASE, which no transaction may wrap."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


# --- The town clock -------------------------------------------------------------------------


def town_today() -> date:
    """Today as the test network sees it: its settings keep the default time zone, so
    near midnight this is not the server's (UTC) date."""
    return TownClock.named(None).today()


async def until_a_connection_waits_for_a_lock(sessions: Sessions) -> None:
    """Return once another connection to this database waits for a lock: the step that makes
    a race certain rather than likely. PostgreSQL only; SQLite cannot be asked, but there a
    second transaction waits at its BEGIN for the first anyway (``timebank.db``)."""
    if sessions.kw["bind"].dialect.name != "postgresql":
        # Not even a look: a SQLite connection would itself wait at BEGIN for the first.
        await asyncio.sleep(0)
        return
    async with sessions() as s:
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(3000):  # a guard against a hang, not a timing assumption
            if await s.scalar(waiting):
                return
            await s.rollback()  # a fresh snapshot of the activity for the next look
            await asyncio.sleep(0.01)
    raise AssertionError("no connection ever waited for a lock")


# --- The balance review's set-up ------------------------------------------------------------

# The moment the review helpers book from and review at, fixed once so that tests can count
# days from it.
NOW = utcnow()


async def account_id_of(s: AsyncSession, member: Member) -> int:
    return (await ledger.account_of_member(s, member.id)).id  # type: ignore[arg-type,return-value]


async def move(
    sessions: Sessions,
    world: World,
    payer: Member,
    payee: Member,
    minutes: int,
    *,
    kind: str = "exchange",
    days_ago: float = 1,
) -> None:
    """Book ``minutes`` from payer to payee; ``exchange`` counts as help, ``adjustment`` only
    moves the balance. Limits are overridden: the rules, not the limits, are under test."""
    async with transaction(sessions) as s:
        await ledger.post_transfer(
            s,
            from_account_id=await account_id_of(s, payer),
            to_account_id=await account_id_of(s, payee),
            minutes=minutes,
            kind=kind,
            actor=world.manager,
            override_reason="test set-up",
            at=NOW - timedelta(days=days_ago),
        )


async def set_balance(sessions: Sessions, world: World, member: Member, minutes: int) -> None:
    """Give ``member`` this balance against the (unreviewed) professional, not as help."""
    if minutes > 0:
        await move(sessions, world, world.professional, member, minutes, kind="adjustment")
    elif minutes < 0:
        await move(sessions, world, member, world.professional, -minutes, kind="adjustment")


async def run_review(sessions: Sessions, now: datetime = NOW) -> review.ReviewResult:
    async with transaction(sessions) as s:
        return await review.run_review(s, now=now)


async def open_flags(sessions: Sessions, member: Member | None = None) -> dict[str, Flag]:
    async with transaction(sessions) as s:
        query = select(Flag).where(Flag.status != "resolved")
        if member is not None:
            query = query.where(Flag.member_id == member.id)
        return {f.kind: f for f in (await s.exec(query)).all()}


def refusal_in(language: str, exc: DomainError) -> str:
    """A refusal as a member reading ``language`` (not English) sees it. Fails when its id is not
    a translated catalogue entry (as an id built with an f-string never is) or when a
    placeholder is left unfilled."""
    translated = i18n.gettext_for(language, exc.detail)
    assert translated != exc.detail, f"not a translated message id: {exc.detail!r}"
    said = i18n.render(language, exc.detail, exc.params)
    assert "{" not in said and "}" not in said, said
    return said


def one_line_error(result: Result) -> str:
    """A command that failed as the CLI promises: one line on stderr, no traceback."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("timebank: error: ")
    return lines[0]


def stop_process(process: subprocess.Popen[Any], *, timeout: float) -> None:
    """Ask a server started by a test to end; kill it when it has not within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- A real SMTP server for the email tests (tests/test_notifications.py, tests/jobs/) -------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MailInbox:
    """An SMTP handler that keeps every message, or refuses them all ("try again later")."""

    refuse: bool = False
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.refuse:
            return "451 4.3.0 mailbox busy, try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@dataclass
class MailServer:
    inbox: MailInbox
    port: int


def serve_mail(inbox: MailInbox) -> Iterator[MailServer]:
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield MailServer(inbox, port)
    finally:
        controller.stop()


def mail_settings(db_url: str, port: int | None) -> Settings:
    """Settings that send email to ``port`` on this machine (none: no SMTP configured)."""
    return Settings(
        database_url=db_url,
        env="development",
        secret_key="x" * 32,
        run_scheduler=False,
        smtp_host="127.0.0.1" if port else "",
        smtp_port=port or 25,
        smtp_from="netzwerk@example.org",
        # https: one-click unsubscribe links must be (RFC 8058).
        base_url="https://zeitbank.example.org",
    )
