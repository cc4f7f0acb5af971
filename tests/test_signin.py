"""Signing in: passwords, database sessions, rotation, and slowing down guessers per
(email, address) pair without ever locking out a member who is not guessing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, World, refusal_in, until_a_connection_waits_for_a_lock
from timebank import members, signin
from timebank.db import make_engine, make_sessionmaker, transaction
from timebank.errors import Invalid
from timebank.models import LoginThrottle, Member, WebSession, utcnow

Sessions = async_sessionmaker[AsyncSession]
HERE = "10.0.0.1"
ELSEWHERE = "10.0.0.2"


async def attempt(
    sessions: Sessions, email: str, password: str, *, address: str = HERE, **kw: object
) -> str:
    """One sign-in in its own transaction (committed even when refused, like the page)."""
    async with sessions() as s:
        await s.begin()
        try:
            _, token = await signin.sign_in(s, email, password, address=address, **kw)  # type: ignore[arg-type]
        finally:
            await s.commit()
    return token


async def fail(sessions: Sessions, email: str, **kw: object) -> None:
    with pytest.raises(signin.LoginRefused):
        await attempt(sessions, email, "a wrong guess", **kw)  # type: ignore[arg-type]


async def member_of(sessions: Sessions, token: str | None) -> Member | None:
    async with transaction(sessions) as s:
        return await signin.member_for_session(s, token)


async def throttles(sessions: Sessions) -> dict[tuple[str, str], LoginThrottle]:
    async with transaction(sessions) as s:
        rows = (await s.exec(select(LoginThrottle))).all()
    return {(row.account, row.address): row for row in rows}


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The passwords actually checked (a cheap stand-in for argon2, which keeps its answer)."""
    checked: list[str] = []
    real = members.check_password

    async def counted(member: Member | None, password: str) -> bool:
        checked.append(password)
        return await real(member, password) if password == PASSWORD else False

    monkeypatch.setattr(members, "check_password", counted)
    yield checked


# --- Passwords and sessions -------------------------------------------------------------------


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
async def test_a_wrong_email_or_password_is_refused_and_counted_for_the_pair_and_the_address(
    sessions: Sessions, world: World, email: str, password: str
) -> None:
    with pytest.raises(signin.LoginRefused) as refused:
        await attempt(sessions, email, password)
    assert refused.value.field == "email"
    counted = {key: row.failures for key, row in (await throttles(sessions)).items()}
    # A blank email guesses at nobody: only the address counts it.
    expected = {(signin.ANY_ACCOUNT, HERE): 1} | ({(email, HERE): 1} if email else {})
    assert counted == expected


async def test_a_member_without_email_cannot_sign_in(sessions: Sessions, world: World) -> None:
    async with transaction(sessions) as s:
        client = await s.get(Member, world.client.id)
        assert client is not None and not client.can_log_in
    with pytest.raises(signin.LoginRefused):
        await attempt(sessions, "Karl Klient", PASSWORD)


# --- Slowing down guessers ----------------------------------------------------------------------


def test_the_waits_double_after_the_free_failures_up_to_a_cap() -> None:
    waits = [signin.wait_after(n) for n in range(1, 15)]
    free = signin.FREE_FAILURES
    assert waits[: free - 1] == [timedelta(0)] * (free - 1)
    assert waits[free - 1 : free + 3] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits[-1] == signin.LONGEST_WAIT
    assert signin.wait_after(10**6) == signin.LONGEST_WAIT


async def test_after_the_free_failures_the_pair_waits_even_with_the_right_password(
    sessions: Sessions, world: World, evaluated: list[str]
) -> None:
    for _ in range(signin.FREE_FAILURES):
        await fail(sessions, "volker@example.org")
    with pytest.raises(signin.TooManyAttempts) as slowed:
        await attempt(sessions, "volker@example.org", PASSWORD)
    assert slowed.value.minutes == 1 and 0 < slowed.value.extra["retry_after"] <= 60
    assert slowed.value.field == "email"
    # Refused without looking at the password.
    assert len(evaluated) == signin.FREE_FAILURES


async def test_each_further_failure_doubles_the_wait_and_a_success_starts_afresh(
    sessions: Sessions, world: World, evaluated: list[str]
) -> None:
    now = utcnow()
    for _ in range(signin.FREE_FAILURES):
        await fail(sessions, "volker@example.org", now=now)
    later = now + timedelta(minutes=1)
    await fail(sessions, "volker@example.org", now=later)
    with pytest.raises(signin.TooManyAttempts) as slowed:
        await attempt(sessions, "volker@example.org", PASSWORD, now=later + timedelta(minutes=1))
    assert slowed.value.minutes == 1  # two minutes after `later`, one of them waited
    token = await attempt(
        sessions, "volker@example.org", PASSWORD, now=later + timedelta(minutes=2)
    )
    assert await member_of(sessions, token)
    pair = (await throttles(sessions))[("volker@example.org", HERE)]
    assert (pair.failures, pair.retry_at) == (0, None)
    # A success forgives the pair's typos, not the address's.
    assert (await throttles(sessions))[(signin.ANY_ACCOUNT, HERE)].failures == 6


async def test_failures_are_forgotten_a_day_after_the_last_one(
    sessions: Sessions, world: World, evaluated: list[str]
) -> None:
    earlier = utcnow() - signin.FORGIVEN_AFTER - timedelta(minutes=1)
    for _ in range(signin.FREE_FAILURES):
        await fail(sessions, "volker@example.org", now=earlier)
    # Remembered, this would be failure number six, with a pause of two minutes after it.
    await fail(sessions, "volker@example.org")
    assert (await throttles(sessions))[("volker@example.org", HERE)].failures == 1
    assert await member_of(sessions, await attempt(sessions, "volker@example.org", PASSWORD))


async def test_a_guesser_never_locks_out_the_manager_signing_in_from_elsewhere(
    sessions: Sessions, world: World, evaluated: list[str]
) -> None:
    now = utcnow()
    attacker = "203.0.113.9"
    for _ in range(100):
        # The attacker waits out every pause, so each of the 100 guesses is judged.
        await fail(sessions, "manager@example.org", address=attacker, now=now)
        paused = (await throttles(sessions))[("manager@example.org", attacker)].retry_at
        now = paused or now
    assert len(evaluated) == 100
    # The moment of the last guess: the attacker's own next try has to wait.
    now -= signin.LONGEST_WAIT
    with pytest.raises(signin.TooManyAttempts):
        await attempt(sessions, "manager@example.org", PASSWORD, address=attacker, now=now)
    # The manager, at the office, at once.
    token = await attempt(sessions, "manager@example.org", PASSWORD, address="192.0.2.1", now=now)
    member = await member_of(sessions, token)
    assert member is not None and member.id == world.manager.id


async def test_an_address_guessing_at_many_emails_is_slowed_but_not_for_familiar_members(
    sessions: Sessions, world: World, evaluated: list[str]
) -> None:
    # Vera signed in from the care home's shared address before; Volker never did.
    await attempt(sessions, "vera@example.org", PASSWORD)
    for i in range(signin.ADDRESS_FREE_FAILURES):
        await fail(sessions, f"guess{i}@example.org")
    with pytest.raises(signin.TooManyAttempts):
        await attempt(sessions, "volker@example.org", PASSWORD)
    assert await member_of(sessions, await attempt(sessions, "vera@example.org", PASSWORD))
    # And nothing of this reaches another address.
    assert await member_of(
        sessions, await attempt(sessions, "volker@example.org", PASSWORD, address=ELSEWHERE)
    )


async def test_fifty_guesses_at_once_are_judged_one_after_another(
    db_url: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each guess in its own transaction, all sent at once: the pair's row lock lets no more
    than the free failures be judged (PostgreSQL's row lock; SQLite's BEGIN IMMEDIATE)."""
    # A connection for every guess, and no pool timeout: on a busy machine 35 guesses waiting
    # 30 s for one of the default 15 connections failed with "QueuePool limit reached",
    # which says nothing about the rule under test.
    engine = make_engine(db_url, pool_size=55, max_overflow=0, pool_timeout=600)
    try:
        await _fifty_guesses(make_sessionmaker(engine), monkeypatch)
    finally:
        await engine.dispose()


async def _fifty_guesses(sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    judged: list[str] = []
    release = asyncio.Event()

    async def slow_wrong(member: Member | None, password: str) -> bool:
        judged.append(password)
        await release.wait()  # the first guess holds the row while the others pile up
        return False

    monkeypatch.setattr(members, "check_password", slow_wrong)

    async def guess(n: int) -> str:
        try:
            await attempt(sessions, "manager@example.org", f"guess {n}")
        except signin.TooManyAttempts:
            return "slowed"
        except signin.LoginRefused:
            return "refused"
        return "signed in"

    guesses = [asyncio.create_task(guess(n)) for n in range(50)]
    await until_a_connection_waits_for_a_lock(sessions)
    release.set()
    outcomes = await asyncio.gather(*guesses)
    assert len(judged) == signin.FREE_FAILURES
    assert sorted(outcomes).count("refused") == signin.FREE_FAILURES
    assert outcomes.count("slowed") == 50 - signin.FREE_FAILURES
    pair = (await throttles(sessions))[("manager@example.org", HERE)]
    assert pair.failures == signin.FREE_FAILURES


async def test_rows_that_hold_nothing_any_more_are_dropped_at_a_sign_in(
    sessions: Sessions, world: World, evaluated: list[str]
) -> None:
    long_ago = utcnow() - signin.FAMILIAR_FOR - timedelta(days=1)
    yesterday = utcnow() - signin.FORGIVEN_AFTER - timedelta(minutes=1)
    await attempt(sessions, "vera@example.org", PASSWORD, now=long_ago)
    await attempt(sessions, "volker@example.org", PASSWORD, address=ELSEWHERE, now=yesterday)
    await fail(sessions, "nobody@example.org", now=yesterday)
    await fail(sessions, "somebody@example.org")
    await attempt(sessions, "manager@example.org", PASSWORD)
    assert set(await throttles(sessions)) == {
        ("volker@example.org", ELSEWHERE),  # familiar still
        ("somebody@example.org", HERE),  # failed today
        (signin.ANY_ACCOUNT, HERE),
        ("manager@example.org", HERE),
    }


# --- Sessions ---------------------------------------------------------------------------------


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
        with pytest.raises(Invalid) as unknown:
            await signin.set_language(s, member, "xx")  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        assert member is not None and member.language == "tr"
    # Said in the member's language, without the list of codes (the API gets them apart).
    assert "eine Sprache aus der Liste" in refusal_in("de", unknown.value)
    assert "bir dil seçiniz" in refusal_in("tr", unknown.value)
    assert unknown.value.extra["allowed"] == ["de", "en", "tr", "ru", "ar"]
