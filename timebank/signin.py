"""Signing in to the web pages: password check, slowing down guessers, and server-side
sessions.

The browser keeps a random token in an HttpOnly cookie; the database keeps only its
SHA-256 (``web_sessions``), so a stolen database does not hand out live sessions, a restart
logs nobody out, and every app process sees the same sessions. A fresh token is issued at
every sign-in and the one the browser brought is dropped, so a token planted before sign-in
is worthless afterwards.

Guessing is slowed per (email, address) pair, never per email alone: whoever guesses at the
manager's email from one place cannot lock the manager out from another (``login_throttles``,
one row per pair). A pair may fail ``FREE_FAILURES`` times; after that each attempt waits
for a pause that doubles with every failure, up to ``LONGEST_WAIT``, and a success starts
afresh. The pair's row is locked from the check until the request commits, so attempts of
one pair are judged one after another: fifty guesses sent at once are no more than five.

An address that fails for many emails (spraying one password over many accounts) is slowed
as a whole too, with a far higher allowance — a care home's residents share one address —
and never for an email that signed in from that address before. Nothing done from one
address ever refuses an attempt from another.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import members
from timebank.errors import DomainError, Invalid
from timebank.models import LANGUAGES, LoginThrottle, Member, WebSession, id_of, utcnow

SESSION_COOKIE = "tb_session"
SESSION_LIFETIME = timedelta(days=14)

# One person mistyping a password a few times stays below this; a script does not.
FREE_FAILURES = 5
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# Every email from one address together: one person's typos never reach this.
ADDRESS_FREE_FAILURES = 50
ADDRESS_FIRST_WAIT = timedelta(seconds=10)
ADDRESS_LONGEST_WAIT = timedelta(minutes=15)
# Failures this old are forgotten, and so is a pair nobody tried since then.
FORGIVEN_AFTER = timedelta(days=1)
# How long a pair that signed in is remembered as a familiar place.
FAMILIAR_FOR = timedelta(days=180)
# The row that counts every email from an address.
ANY_ACCOUNT = ""


class LoginRefused(Invalid):
    """Wrong email or password (deliberately not saying which)."""

    code = "login_refused"


class TooManyAttempts(DomainError):
    """Refused without looking at the password; ``minutes`` says when to try again (the
    sign-in page says it in words, ``retry_after`` gives it in seconds)."""

    code = "rate_limited"

    def __init__(self, detail: str, *, wait: timedelta) -> None:
        seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(detail, field="email", retry_after=seconds)
        self.minutes = math.ceil(seconds / 60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def wait_after(
    failures: int,
    *,
    free: int = FREE_FAILURES,
    first: timedelta = FIRST_WAIT,
    longest: timedelta = LONGEST_WAIT,
) -> timedelta:
    """The pause a pair must keep after its ``failures``-th failure in a row."""
    if failures < free:
        return timedelta(0)
    doublings = min(failures - free, 32)  # 2**32 minutes is far beyond any cap
    return min(first * 2**doublings, longest)


async def _locked_throttle(
    session: AsyncSession, account: str, address: str, now: datetime
) -> LoginThrottle:
    """The row of (account, address), created if new, locked until the transaction ends.

    INSERT … ON CONFLICT DO NOTHING then SELECT … FOR UPDATE: two first attempts of a pair
    cannot both create the row, and every later one waits for the one before it to commit.
    (SQLite takes its write lock at BEGIN, which serialises the same way.)"""
    postgres = (await session.connection()).dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    await session.exec(
        insert(LoginThrottle)
        .values(account=account, address=address, failures=0, last_attempt_at=now)
        .on_conflict_do_nothing(index_elements=["account", "address"])
    )
    row = (
        await session.exec(
            select(LoginThrottle)
            .where(LoginThrottle.account == account, LoginThrottle.address == address)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    if row.last_attempt_at < now - FORGIVEN_AFTER:
        row.failures = 0
    return row


def _count_failure(row: LoginThrottle, now: datetime, wait: timedelta) -> None:
    row.failures += 1
    row.last_attempt_at = now
    row.retry_at = now + wait if wait else None


def _refuse_if_waiting(row: LoginThrottle | None, now: datetime) -> None:
    if row is not None and row.retry_at is not None and row.retry_at > now:
        raise TooManyAttempts(
            "too many failed attempts: please wait a little and try again",
            wait=row.retry_at - now,
        )


async def sign_in(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    address: str,
    replacing: str | None = None,
    now: datetime | None = None,
) -> tuple[Member, str]:
    """Check the password and open a session; returns the member and the new cookie token.

    A failure is recorded before ``LoginRefused`` is raised: the caller must commit even
    then (the web handler shows the form again rather than letting the error roll back).
    ``TooManyAttempts`` is raised before the password is looked at.
    """
    now = now or utcnow()
    account = email.strip().lower()[:254]
    address = (address or "unknown")[:64]
    pair = await _locked_throttle(session, account, address, now) if account else None
    _refuse_if_waiting(pair, now)
    familiar = pair is not None and pair.signed_in_at is not None
    if not familiar:
        # Read without a lock: successes never wait for the address's other attempts.
        whole = await session.exec(
            select(LoginThrottle)
            .where(LoginThrottle.account == ANY_ACCOUNT, LoginThrottle.address == address)
            .execution_options(populate_existing=True)
        )
        _refuse_if_waiting(whole.first(), now)
    member = await members.member_by_email(session, email) if account else None
    candidate = member if member is not None and member.can_log_in else None
    # Always checked, even without a candidate: an unknown email costs the same time.
    right = await members.check_password(candidate, password)
    if not right or candidate is None or pair is None:
        if pair is not None:
            _count_failure(pair, now, wait_after(pair.failures + 1))
            session.add(pair)
        address_row = await _locked_throttle(session, ANY_ACCOUNT, address, now)
        wait = wait_after(
            address_row.failures + 1,
            free=ADDRESS_FREE_FAILURES,
            first=ADDRESS_FIRST_WAIT,
            longest=ADDRESS_LONGEST_WAIT,
        )
        _count_failure(address_row, now, wait)
        session.add(address_row)
        await session.flush()
        raise LoginRefused("the email or the password is not right", field="email")
    # A success forgives the pair's typos, not the address's.
    pair.failures, pair.retry_at = 0, None
    pair.last_attempt_at = pair.signed_in_at = now
    session.add(pair)
    await _forget_old_throttles(session, now)
    token = await start_session(session, candidate, replacing=replacing, now=now)
    return candidate, token


async def _forget_old_throttles(session: AsyncSession, now: datetime) -> None:
    """Drop the rows that no longer hold anything: failures forgiven by time and no recent
    success. Rows another sign-in holds are skipped, never waited for (no deadlocks)."""
    idle = (
        select(LoginThrottle.account, LoginThrottle.address)
        .where(
            col(LoginThrottle.last_attempt_at) < now - FORGIVEN_AFTER,
            or_(
                col(LoginThrottle.signed_in_at).is_(None),
                col(LoginThrottle.signed_in_at) < now - FAMILIAR_FOR,
            ),
        )
        .limit(500)
        .with_for_update(skip_locked=True)
    )
    await session.exec(
        delete(LoginThrottle).where(
            tuple_(col(LoginThrottle.account), col(LoginThrottle.address)).in_(idle)
        )
    )


async def start_session(
    session: AsyncSession,
    member: Member,
    *,
    replacing: str | None = None,
    now: datetime | None = None,
) -> str:
    """A new session for ``member``; the token the browser brought (if any) is dropped."""
    now = now or utcnow()
    if replacing:
        await end_session(session, replacing)
    await session.exec(delete(WebSession).where(col(WebSession.expires_at) < now))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            member_id=id_of(member),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return token


async def member_for_session(
    session: AsyncSession, token: str | None, *, now: datetime | None = None
) -> Member | None:
    """The signed-in member behind a cookie token, or None (unknown, expired, inactive)."""
    if not token:
        return None
    row = await session.get(WebSession, token_hash(token))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    member = await session.get(Member, row.member_id)
    return member if member is not None and member.active else None


async def end_session(session: AsyncSession, token: str) -> None:
    await session.exec(delete(WebSession).where(col(WebSession.token_hash) == token_hash(token)))
    await session.flush()


async def end_all_sessions(session: AsyncSession, member: Member) -> None:
    """Sign a member out everywhere (after a password reset, or when deactivated)."""
    await session.exec(delete(WebSession).where(col(WebSession.member_id) == member.id))
    await session.flush()


async def set_language(session: AsyncSession, member: Member, language: str) -> None:
    """Remember the language a member chose for the pages (and for letters to them)."""
    if language not in LANGUAGES:
        raise Invalid(members.LANGUAGE_NOT_LISTED, field="language", allowed=list(LANGUAGES))
    member.language = language
    session.add(member)
    await session.flush()
