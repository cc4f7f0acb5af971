"""Nobody is refused for help that was given (issue 9, point 1): help beyond a balance limit
is held for the network office, covered by the pool's monthly allowance, or booked to the
pool; the office pays it from the pool or books it with a reason, once (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, set_balance, town_today
from timebank import exchanges, held, ledger, network
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.models import Exchange, Member, Notification, Transfer

Sessions = async_sessionmaker[AsyncSession]


async def logged(sessions: Sessions, giver: Member, receiver: Member, minutes: int = 60) -> int:
    async with transaction(sessions) as s:
        result = await exchanges.record_exchange(
            s,
            giver,
            giver_id=giver.id,  # type: ignore[arg-type]
            receiver_id=receiver.id,  # type: ignore[arg-type]
            minutes=minutes,
            performed_on=town_today(),
            category="shopping",
        )
    return result.exchange.id  # type: ignore[return-value]


async def confirm(sessions: Sessions, actor: Member, exchange_id: int) -> Exchange:
    async with transaction(sessions) as s:
        return (await exchanges.confirm_exchange(s, actor, exchange_id)).exchange


async def limits(sessions: Sessions, member: Member, *, low: int | None = None, high=None) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
        account.min_minutes, account.max_minutes = low, high
        s.add(account)


async def settings(sessions: Sessions, **values: object) -> None:
    async with transaction(sessions) as s:
        row = await network.network_settings(s)
        for name, value in values.items():
            setattr(row, name, value)
        s.add(row)


async def balances(sessions: Sessions, *members: Member) -> list[int]:
    async with transaction(sessions) as s:
        found = [
            (await ledger.account_of_member(s, m.id)).balance_minutes  # type: ignore[arg-type]
            for m in members
        ]
        return [*found, (await ledger.pool_account(s)).balance_minutes]


async def bookings(sessions: Sessions) -> list[Transfer]:
    async with transaction(sessions) as s:
        return list((await s.exec(select(Transfer).order_by(Transfer.id))).all())  # type: ignore[arg-type]


async def told(sessions: Sessions, kind: str) -> list[int]:
    async with transaction(sessions) as s:
        rows = await s.exec(select(Notification).where(Notification.kind == kind))
        return sorted(n.member_id for n in rows.all())


async def fill_pool(sessions: Sessions, world: World, minutes: int) -> None:
    await set_balance(sessions, world, world.volunteer2, minutes)
    async with transaction(sessions) as s:
        await exchanges.donate_to_pool(s, world.volunteer2, minutes)


# --- Held instead of refused -----------------------------------------------------------------


async def test_beyond_the_receivers_minimum_the_confirmation_is_held_and_books_nothing(
    sessions, world
):
    await limits(sessions, world.senior, low=-30)
    exchange_id = await logged(sessions, world.volunteer, world.senior, 60)
    done = await confirm(sessions, world.senior, exchange_id)
    assert (done.status, done.held_for, done.decided_by_id) == ("held", "minimum", world.senior.id)
    assert await bookings(sessions) == []
    assert await balances(sessions, world.senior, world.volunteer) == [0, 0, 0]
    # The receiver, the giver and the manager are told; the receiver's retry changes nothing.
    assert await told(sessions, "help_held") == sorted(
        [world.senior.id, world.volunteer.id, world.manager.id]
    )
    assert (await confirm(sessions, world.senior, exchange_id)).status == "held"
    assert len(await told(sessions, "help_held")) == 3
    async with transaction(sessions) as s:
        [entry] = await held.queue(s, world.manager)
    assert (entry.exchange.id, entry.receiver.id, entry.receiver_balance) == (
        exchange_id,
        world.senior.id,
        0,
    )


async def test_beyond_the_givers_maximum_the_confirmation_is_held_by_default(sessions, world):
    await limits(sessions, world.volunteer, high=30)
    exchange_id = await logged(sessions, world.volunteer, world.senior, 60)
    done = await confirm(sessions, world.senior, exchange_id)
    assert (done.status, done.held_for) == ("held", "maximum")
    assert await bookings(sessions) == []


async def test_a_full_givers_hours_go_to_the_pool_when_the_network_says_so(sessions, world):
    await settings(sessions, giver_full_action="pool")
    await limits(sessions, world.volunteer, high=30)
    exchange_id = await logged(sessions, world.volunteer, world.senior, 60)
    done = await confirm(sessions, world.senior, exchange_id)
    assert (done.status, done.settled_as, done.paid_by_pool) == ("confirmed", "to_pool", False)
    [booked] = await bookings(sessions)
    assert (booked.kind, booked.minutes, booked.reason) == ("exchange", 60, exchanges.TO_POOL_NOTE)
    assert booked.override_reason is None  # nobody went beyond a limit
    # The receiver paid, the giver's full account is untouched, the pool has the hours.
    assert await balances(sessions, world.senior, world.volunteer) == [-60, 0, 60]
    assert await told(sessions, "help_to_pool") == [world.volunteer.id]
    async with transaction(sessions) as s:
        assert (await ledger.verify(s)).ok


async def test_a_manager_with_a_reason_books_beyond_the_limit_at_once(sessions, world):
    await limits(sessions, world.senior, low=-30)
    exchange_id = await logged(sessions, world.volunteer, world.senior, 60)
    async with transaction(sessions) as s:
        done = await exchanges.confirm_exchange(
            s, world.manager, exchange_id, override_reason="Härtefall"
        )
    assert done.exchange.status == "confirmed"
    assert done.transfer is not None and done.transfer.override_reason == "Härtefall"
    # Without a reason the manager's confirmation is held like anyone's.
    other = await logged(sessions, world.volunteer, world.senior, 60)
    assert (await confirm(sessions, world.manager, other)).status == "held"


# --- The pool's monthly allowance -------------------------------------------------------------


async def test_the_pool_covers_held_help_up_to_the_monthly_amount_and_not_beyond(sessions, world):
    await fill_pool(sessions, world, 600)
    await settings(sessions, pool_cover_minutes=90)
    await limits(sessions, world.senior, low=0)
    first = await confirm(
        sessions, world.senior, await logged(sessions, world.volunteer, world.senior, 60)
    )
    assert (first.status, first.settled_as, first.paid_by_pool) == ("confirmed", "pool_cover", True)
    assert await balances(sessions, world.senior, world.volunteer) == [0, 60, 540]
    assert await told(sessions, "paid_from_pool") == sorted([world.senior.id, world.volunteer.id])
    # 60 of 90 minutes used this month: another 60 would go beyond it, so it is held.
    second = await confirm(
        sessions, world.senior, await logged(sessions, world.volunteer, world.senior, 60)
    )
    assert second.status == "held"
    # 30 minutes still fit; and for another member the month starts afresh.
    third = await confirm(
        sessions, world.senior, await logged(sessions, world.volunteer, world.senior, 30)
    )
    assert third.settled_as == "pool_cover"
    async with transaction(sessions) as s:
        assert await held.covered_this_month(s, world.senior.id) == 90  # type: ignore[arg-type]
        assert await held.covered_this_month(s, world.volunteer.id) == 0  # type: ignore[arg-type]
    assert [t.kind for t in await bookings(sessions)][-2:] == ["pool_payment", "pool_payment"]


async def test_the_pool_covers_nothing_it_does_not_hold_and_nothing_when_switched_off(
    sessions, world
):
    await limits(sessions, world.senior, low=0)
    await settings(sessions, pool_cover_minutes=600)
    empty = await confirm(
        sessions, world.senior, await logged(sessions, world.volunteer, world.senior)
    )
    assert empty.status == "held"  # the pool is empty
    await fill_pool(sessions, world, 600)
    await settings(sessions, pool_cover_minutes=0)
    off = await confirm(
        sessions, world.senior, await logged(sessions, world.volunteer, world.senior)
    )
    assert off.status == "held"


# --- The office settles it ---------------------------------------------------------------------


async def test_paying_held_help_from_the_pool_books_once_however_often_it_is_sent(sessions, world):
    await fill_pool(sessions, world, 100)
    await limits(sessions, world.senior, low=0)
    exchange_id = await logged(sessions, world.volunteer, world.senior, 60)
    await confirm(sessions, world.senior, exchange_id)
    async with transaction(sessions) as s:
        preview = await held.pool_payment(s, world.manager, exchange_id)
    assert (preview.pool_balance, preview.pool_after, preview.affordable) == (100, 40, True)
    results = []
    for _ in range(2):  # a second click, a retried request
        async with transaction(sessions) as s:
            results.append(await exchanges.pay_from_pool(s, world.manager, exchange_id))
    first, again = results
    assert first.transfer is not None and again.transfer is not None
    assert again.transfer.id == first.transfer.id
    assert (first.exchange.status, first.exchange.settled_as) == ("confirmed", "pool")
    assert len(await bookings(sessions)) == 3  # the set-up's two, and this one
    assert await balances(sessions, world.senior, world.volunteer) == [0, 60, 40]
    assert await told(sessions, "paid_from_pool") == sorted([world.senior.id, world.volunteer.id])
    async with transaction(sessions) as s:
        assert await held.queue(s, world.manager) == []


async def test_booking_held_help_needs_a_reason_and_books_once(sessions, world):
    await limits(sessions, world.senior, low=-30)
    exchange_id = await logged(sessions, world.volunteer, world.senior, 60)
    await confirm(sessions, world.senior, exchange_id)
    for empty in (None, "  "):
        with pytest.raises(Invalid) as refused:
            async with transaction(sessions) as s:
                await exchanges.book_with_override(s, world.manager, exchange_id, empty)
        assert refused.value.field == "override_reason"
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await exchanges.book_with_override(s, world.professional, exchange_id, "bitte")
    assert await bookings(sessions) == []
    for _ in range(2):
        async with transaction(sessions) as s:
            done = await exchanges.book_with_override(
                s, world.manager, exchange_id, "mit der Familie besprochen"
            )
    [booked] = await bookings(sessions)
    assert (booked.override_reason, booked.from_min_crossed) == ("mit der Familie besprochen", -30)
    assert (done.exchange.status, done.exchange.settled_as) == ("confirmed", "override")
    assert await balances(sessions, world.senior, world.volunteer) == [-60, 60, 0]
    assert await told(sessions, "help_booked_by_office") == sorted(
        [world.senior.id, world.volunteer.id]
    )
    # Settled now: paying it from the pool as well is refused, not booked twice.
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await exchanges.pay_from_pool(s, world.manager, exchange_id)
    assert len(await bookings(sessions)) == 1


async def test_only_held_help_is_booked_with_a_reason(sessions, world):
    exchange_id = await logged(sessions, world.volunteer, world.senior, 60)
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await exchanges.book_with_override(s, world.manager, exchange_id, "einfach so")
    assert await bookings(sessions) == []


# --- Giving to the pool ------------------------------------------------------------------------


async def test_a_member_below_zero_cannot_give_to_the_pool(sessions, world):
    await set_balance(sessions, world, world.senior, -30)
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            await exchanges.donate_to_pool(s, world.senior, 15)
    assert refused.value.field == "minutes"
    assert refused.value.detail == exchanges.DONATION_BEYOND_BALANCE
    assert await balances(sessions, world.senior) == [-30, 0]
