"""Signing in: passwords, database sessions, rotation, and the rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, World
from timebank import signin
from timebank.db import transaction
from timebank.errors import Invalid
from timebank.models import LoginAttempt, Member, WebSession, utcnow

Sessions = async_sessionmaker[AsyncSession]


async def attempt(sessions: Sessions, email: str, password: str, **kw: object) -> str:
    """One sign-in in its own transaction (committed even when refused, like the page)."""
    async with sessions() as s:
        await s.begin()
        try:
            _, token = await signin.sign_in(s, email, password, address="10.0.0.1", **kw)  # type: ignore[arg-type]
        finally:
            await s.commit()
    return token


async def member_of(sessions: Sessions, token: str | None) -> Member | None:
    async with transaction(sessions) as s:
        return await signin.member_for_session(s, token)


async def test_the_right_password_opens_a_session_stored_only_as_a_hash(
    sessions: Sessions, world: World
) -> None:
    token = await attempt(sessions, "VOLKER@example.org ", PASSWORD)
    member = await member_of(sessions, token)
    assert member is not None and member.id == world.volunteer.id
    async with transaction(sessions) as s:
        stored = (await s.exec(select(WebSession))).all()
    assert [row.token_hash for row in stored] == [signin.token_hash(token)]
    assert token not in stored[0].token_hash


@pytest.mark.parametrize(
    ("email", "password"),
    [("volker@example.org", "wrong password"), ("nobody@example.org", PASSWORD), ("", "")],
)
async def test_a_wrong_email_or_password_is_refused_and_counted(
    sessions: Sessions, world: World, email: str, password: str
) -> None:
    with pytest.raises(signin.LoginRefused) as refused:
        await attempt(sessions, email, password)
    assert refused.value.field == "email"
    async with transaction(sessions) as s:
        keys = set((await s.exec(select(LoginAttempt.key))).all())
    assert keys == {f"account:{email}", "address:10.0.0.1"}


async def test_a_member_without_email_cannot_sign_in(sessions: Sessions, world: World) -> None:
    async with transaction(sessions) as s:
        client = await s.get(Member, world.client.id)
        assert client is not None and not client.can_log_in
    with pytest.raises(signin.LoginRefused):
        await attempt(sessions, "Karl Klient", PASSWORD)


async def test_five_failures_lock_the_account_even_for_the_right_password(
    sessions: Sessions, world: World
) -> None:
    for _ in range(signin.MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(signin.LoginRefused):
            await attempt(sessions, "volker@example.org", "guess")
    with pytest.raises(signin.TooManyAttempts):
        await attempt(sessions, "volker@example.org", PASSWORD)
    # Another account from the same address is not locked by this.
    assert await member_of(sessions, await attempt(sessions, "vera@example.org", PASSWORD))


async def test_the_lock_ends_when_the_failures_leave_the_window(
    sessions: Sessions, world: World
) -> None:
    earlier = utcnow() - signin.ATTEMPT_WINDOW - timedelta(minutes=1)
    for _ in range(signin.MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(signin.LoginRefused):
            await attempt(sessions, "volker@example.org", "guess", now=earlier)
    assert await member_of(sessions, await attempt(sessions, "volker@example.org", PASSWORD))


async def test_many_failures_from_one_address_lock_that_address(
    sessions: Sessions, world: World
) -> None:
    for i in range(signin.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(signin.LoginRefused):
            await attempt(sessions, f"guess{i}@example.org", "guess")
    with pytest.raises(signin.TooManyAttempts):
        await attempt(sessions, "vera@example.org", PASSWORD)
    async with transaction(sessions) as s:
        _, token = await signin.sign_in(s, "vera@example.org", PASSWORD, address="10.0.0.2")
    assert await member_of(sessions, token)


async def test_a_success_forgives_the_accounts_earlier_typos(
    sessions: Sessions, world: World
) -> None:
    for _ in range(signin.MAX_FAILURES_PER_ACCOUNT - 1):
        with pytest.raises(signin.LoginRefused):
            await attempt(sessions, "volker@example.org", "guess")
    await attempt(sessions, "volker@example.org", PASSWORD)
    async with transaction(sessions) as s:
        left = await s.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.key == "account:volker@example.org")
        )
    assert left == 0
    with pytest.raises(signin.LoginRefused):
        await attempt(sessions, "volker@example.org", "guess")


async def test_signing_in_replaces_the_token_the_browser_brought(
    sessions: Sessions, world: World
) -> None:
    old = await attempt(sessions, "volker@example.org", PASSWORD)
    new = await attempt(sessions, "volker@example.org", PASSWORD, replacing=old)
    assert new != old
    assert await member_of(sessions, old) is None
    assert await member_of(sessions, new) is not None


async def test_expired_ended_and_unknown_sessions_sign_nobody_in(
    sessions: Sessions, world: World
) -> None:
    token = await attempt(sessions, "volker@example.org", PASSWORD)
    async with transaction(sessions) as s:
        later = utcnow() + signin.SESSION_LIFETIME + timedelta(seconds=1)
        assert await signin.member_for_session(s, token, now=later) is None
    assert await member_of(sessions, "made-up") is None
    assert await member_of(sessions, None) is None
    async with transaction(sessions) as s:
        await signin.end_session(s, token)
    assert await member_of(sessions, token) is None


async def test_a_deactivated_member_loses_their_session(sessions: Sessions, world: World) -> None:
    token = await attempt(sessions, "volker@example.org", PASSWORD)
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        assert member is not None
        member.active = False
        s.add(member)
    assert await member_of(sessions, token) is None


async def test_end_all_sessions_signs_a_member_out_everywhere(
    sessions: Sessions, world: World
) -> None:
    first = await attempt(sessions, "volker@example.org", PASSWORD)
    second = await attempt(sessions, "volker@example.org", PASSWORD)
    other = await attempt(sessions, "vera@example.org", PASSWORD)
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        await signin.end_all_sessions(s, member)  # type: ignore[arg-type]
    assert await member_of(sessions, first) is None
    assert await member_of(sessions, second) is None
    assert await member_of(sessions, other) is not None


async def test_the_language_is_remembered_and_checked(sessions: Sessions, world: World) -> None:
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        await signin.set_language(s, member, "tr")  # type: ignore[arg-type]
        with pytest.raises(Invalid):
            await signin.set_language(s, member, "xx")  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        assert member is not None and member.language == "tr"
