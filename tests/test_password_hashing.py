"""argon2 runs off the event loop: while passwords are hashed or checked, the loop serves on.

The stand-in hasher below blocks each call until a coroutine *on the loop* lets it go. Were a
call made on the loop itself, that coroutine could never run and the call would give up
(``Gate.wait`` returns False): a hang guard, not a timing assumption."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, World
from timebank import members, signin
from timebank.db import transaction
from timebank.members import NewMember
from timebank.models import Member

Sessions = async_sessionmaker[AsyncSession]
SEVERAL = 4


class GatedHasher:
    """argon2, but every call records its thread and waits until the gate opens."""

    def __init__(self) -> None:
        self.real = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        self.gate = threading.Event()
        self.threads: list[int] = []
        self._lock = threading.Lock()

    def _enter(self) -> None:
        with self._lock:
            self.threads.append(threading.get_ident())
        assert self.gate.wait(timeout=20), "the loop never ran while a password was checked"

    def hash(self, password: str) -> str:
        self._enter()
        return self.real.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self._enter()
        return self.real.verify(stored, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatedHasher]:
    gated = GatedHasher()
    monkeypatch.setattr(members, "_hasher", gated)
    monkeypatch.setattr(members, "_DUMMY_HASH", gated.real.hash("nobody's password"))
    yield gated
    gated.gate.set()


async def open_gate_once_all_wait(hasher: GatedHasher, calls: int) -> None:
    """Runs on the loop: once ``calls`` calls are inside the hasher (and held there), lets
    them all go."""
    for _ in range(20_000):  # a hang guard
        if len(hasher.threads) >= calls:
            hasher.gate.set()
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the hasher was never called")


async def test_several_password_checks_at_once_leave_the_loop_free(
    hasher: GatedHasher,
) -> None:
    member = Member(name="Probe", role="volunteer", password_hash=hasher.real.hash(PASSWORD))
    checks = [members.check_password(member, PASSWORD) for _ in range(SEVERAL - 1)]
    checks.append(members.check_password(None, PASSWORD))  # an unknown email costs the same
    # The gate opened (on the loop) while all of them were inside the hasher at once.
    *results, _ = await asyncio.gather(*checks, open_gate_once_all_wait(hasher, SEVERAL))
    assert results == [True] * (SEVERAL - 1) + [False]
    assert threading.get_ident() not in hasher.threads


async def test_a_new_password_is_hashed_off_the_loop(hasher: GatedHasher) -> None:
    stored, _ = await asyncio.gather(
        members.new_password_hash("ein neues Passwort"), open_gate_once_all_wait(hasher, 1)
    )
    assert hasher.real.verify(stored, "ein neues Passwort")
    assert threading.get_ident() not in hasher.threads


async def test_sign_in_set_password_and_create_member_hash_off_the_loop(
    sessions: Sessions, world: World, hasher: GatedHasher
) -> None:
    async with transaction(sessions) as s:
        volker = await s.get(Member, world.volunteer.id)
        assert volker is not None
        await asyncio.gather(
            members.set_password(s, volker, PASSWORD, actor=volker),
            open_gate_once_all_wait(hasher, 1),
        )
    hasher.gate.clear()
    async with transaction(sessions) as s:
        (_, token), _ = await asyncio.gather(
            signin.sign_in(s, "volker@example.org", PASSWORD, address="10.0.0.1"),
            open_gate_once_all_wait(hasher, 2),
        )
    assert token
    hasher.gate.clear()
    async with transaction(sessions) as s:
        new = NewMember(
            name="Greta Neu", role="volunteer", email="greta@example.org", password="long secret"
        )
        await asyncio.gather(
            members.create_member(s, new, actor=None), open_gate_once_all_wait(hasher, 3)
        )
    assert len(hasher.threads) == 3
    assert threading.get_ident() not in hasher.threads
