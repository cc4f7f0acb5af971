"""Signing in to the web pages: password check, rate limit, and server-side sessions.

The browser keeps a random token in an HttpOnly cookie; the database keeps only its
SHA-256 (``web_sessions``), so a stolen database does not hand out live sessions, a restart
logs nobody out, and every app process sees the same sessions. A fresh token is issued at
every sign-in and the one the browser brought is dropped, so a token planted before sign-in
is worthless afterwards.

Failed attempts are counted per account and per address (``login_attempts``) in a sliding
window. The counts live in the database for the same reason the sessions do.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import members
from timebank.errors import DomainError, Invalid
from timebank.models import LANGUAGES, LoginAttempt, Member, WebSession, id_of, utcnow

SESSION_COOKIE = "tb_session"
SESSION_LIFETIME = timedelta(days=14)
ATTEMPT_WINDOW = timedelta(minutes=15)
# One person mistyping a password a few times stays well below these; a script does not.
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


class LoginRefused(Invalid):
    """Wrong email or password (deliberately not saying which)."""

    code = "login_refused"


class TooManyAttempts(DomainError):
    code = "rate_limited"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:250]


def _address_key(address: str) -> str:
    return "address:" + (address or "unknown")[:250]


async def _failures(session: AsyncSession, key: str, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.key == key, LoginAttempt.attempted_at >= since)
    )
    return int(count or 0)


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
    """
    now = now or utcnow()
    since = now - ATTEMPT_WINDOW
    keys = [_account_key(email), _address_key(address)]
    if (
        await _failures(session, keys[0], since) >= MAX_FAILURES_PER_ACCOUNT
        or await _failures(session, keys[1], since) >= MAX_FAILURES_PER_ADDRESS
    ):
        raise TooManyAttempts(
            "too many failed attempts: wait a quarter of an hour and try again", field="email"
        )
    member = await members.member_by_email(session, email) if email.strip() else None
    if member is None:
        members.spend_password_time(password)
    ok = member is not None and member.can_log_in and members.password_matches(member, password)
    if not ok or member is None:
        session.add_all([LoginAttempt(key=key, attempted_at=now) for key in keys])
        await session.flush()
        raise LoginRefused("the email or the password is not right", field="email")
    # A success forgives the account's earlier typos, but not the address's.
    await session.exec(delete(LoginAttempt).where(col(LoginAttempt.key) == keys[0]))
    await session.exec(delete(LoginAttempt).where(col(LoginAttempt.attempted_at) < since))
    token = await start_session(session, member, replacing=replacing, now=now)
    return member, token


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
        raise Invalid(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    member.language = language
    session.add(member)
    await session.flush()
