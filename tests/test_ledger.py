"""The ledger's invariants, each as a rule that would fail if it broke (both databases)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from timebank import exchanges, i18n, ledger
from timebank.db import transaction
from timebank.errors import Forbidden
from timebank.models import Account, Exchange, Transfer

Sessions = async_sessionmaker[AsyncSession]


async def account_id(s: AsyncSession, member_id: int) -> int:
    return (await ledger.account_of_member(s, member_id)).id  # type: ignore[return-value]


async def balance(sessions: Sessions, member_id: int) -> int:
    async with transaction(sessions) as s:
        return (await ledger.account_of_member(s, member_id)).balance_minutes


async def pay(
    sessions: Sessions, world: World, payer_id: int, payee_id: int, minutes: int, **kw: object
) -> Transfer:
    async with transaction(sessions) as s:
        return await ledger.post_transfer(
            s,
            from_account_id=await account_id(s, payer_id),
            to_account_id=await account_id(s, payee_id),
            minutes=minutes,
            kind="adjustment",
            **{"actor": world.manager, **kw},  # type: ignore[arg-type]
        )


# --- 1. integer minutes, always positive ------------------------------------------------


@pytest.mark.parametrize("bad", [0, -30, 1.5, "60", True])
async def test_a_transfer_is_a_positive_whole_number_of_minutes(sessions, world, bad):
    with pytest.raises(ledger.InvalidTransfer):
        await pay(sessions, world, world.senior.id, world.volunteer.id, bad)
    assert await balance(sessions, world.senior.id) == 0


async def test_the_database_refuses_a_transfer_of_zero_minutes(sessions, world):
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as s:
            a = await account_id(s, world.senior.id)
            b = await account_id(s, world.volunteer.id)
            await s.exec(
                text(  # type: ignore[call-overload]
                    "INSERT INTO transfers (from_account_id, to_account_id, minutes, kind, "
                    "from_balance_after, to_balance_after, created_at) "
                    f"VALUES ({a}, {b}, 0, 'adjustment', 0, 0, CURRENT_TIMESTAMP)"
                )
            )


# --- 2. zero-sum, and verify catches a lying cache ----------------------------------------


async def test_every_minute_credited_is_debited_elsewhere(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 90)
    await pay(sessions, world, world.volunteer.id, world.client.id, 30)
    assert await balance(sessions, world.senior.id) == -90
    assert await balance(sessions, world.volunteer.id) == 60
    assert await balance(sessions, world.client.id) == 30
    async with transaction(sessions) as s:
        report = await ledger.verify(s)
    assert report.ok
    assert report.total_minutes == 0
    assert report.transfers == 2


async def test_verify_names_an_account_whose_cached_balance_lies(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 90)
    async with transaction(sessions) as s:
        vol = await account_id(s, world.volunteer.id)
        await s.exec(text(f"UPDATE accounts SET balance_minutes = 1000 WHERE id = {vol}"))  # type: ignore[call-overload]
    async with transaction(sessions) as s:
        report = await ledger.verify(s)
    assert not report.ok
    assert [(m.account_id, m.cached_minutes, m.computed_minutes) for m in report.mismatches] == [
        (vol, 1000, 90)
    ]


# --- 3. append-only; corrections are reversals ---------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transfers SET minutes = 1",
        "DELETE FROM transfers",
        "UPDATE transfers SET reason = 'x'",
    ],
)
async def test_the_database_refuses_to_change_or_remove_a_transfer(sessions, world, statement):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    with pytest.raises(DBAPIError, match="append-only"):
        async with transaction(sessions) as s:
            await s.exec(text(statement))  # type: ignore[call-overload]
    async with transaction(sessions) as s:
        rows = (await s.exec(select(Transfer))).all()
    assert [(t.minutes, t.reason) for t in rows] == [(60, None)]


async def test_the_database_refuses_to_empty_the_ledger(sessions, world, dialect):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    # SQLite has no TRUNCATE; its way to empty a table is an unqualified DELETE.
    statement = "TRUNCATE transfers" if dialect == "postgresql" else "DELETE FROM transfers"
    with pytest.raises(DBAPIError, match="append-only"):
        async with transaction(sessions) as s:
            await s.exec(text(statement))  # type: ignore[call-overload]
    async with transaction(sessions) as s:
        assert len((await s.exec(select(Transfer))).all()) == 1


async def test_a_reversal_restores_both_balances_and_keeps_the_original(sessions, world):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    async with transaction(sessions) as s:
        reversal = await ledger.reverse_transfer(
            s, original.id, actor=world.manager, reason="logged twice"
        )
    assert (reversal.minutes, reversal.kind, reversal.reverses_id) == (60, "reversal", original.id)
    assert reversal.reason == "logged twice"
    assert reversal.actor_id == world.manager.id
    assert await balance(sessions, world.senior.id) == 0
    assert await balance(sessions, world.volunteer.id) == 0
    async with transaction(sessions) as s:
        assert len((await s.exec(select(Transfer))).all()) == 2
        assert (await ledger.verify(s)).ok


async def test_a_transfer_is_reversed_at_most_once(sessions, world):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    async with transaction(sessions) as s:
        await ledger.reverse_transfer(s, original.id, actor=world.manager, reason="wrong")
    with pytest.raises(ledger.AlreadyReversed):
        async with transaction(sessions) as s:
            await ledger.reverse_transfer(s, original.id, actor=world.manager, reason="again")
    assert await balance(sessions, world.volunteer.id) == 0


async def test_the_database_refuses_a_second_reversal_of_one_transfer(sessions, world):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    async with transaction(sessions) as s:
        first = await ledger.reverse_transfer(s, original.id, actor=world.manager, reason="x")
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as s:
            s.add(
                Transfer(
                    from_account_id=first.from_account_id,
                    to_account_id=first.to_account_id,
                    minutes=60,
                    kind="reversal",
                    reverses_id=original.id,
                    actor_id=world.manager.id,
                    from_balance_after=0,
                    to_balance_after=0,
                )
            )
            await s.flush()


async def test_two_simultaneous_reversals_book_once(sessions, world):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)

    async def reverse() -> str:
        try:
            async with transaction(sessions) as s:
                await ledger.reverse_transfer(s, original.id, actor=world.manager, reason="x")
            return "ok"
        except (ledger.AlreadyReversed, IntegrityError):
            return "refused"

    results = await asyncio.gather(*[reverse() for _ in range(4)])
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
    assert await balance(sessions, world.volunteer.id) == 0


async def test_a_reversal_cannot_be_reversed(sessions, world):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    async with transaction(sessions) as s:
        reversal = await ledger.reverse_transfer(s, original.id, actor=world.manager, reason="x")
    with pytest.raises(ledger.ReversalOfReversal):
        async with transaction(sessions) as s:
            await ledger.reverse_transfer(s, reversal.id, actor=world.manager, reason="undo")


@pytest.mark.parametrize("who", ["volunteer", "professional", "senior"])
async def test_only_a_manager_reverses(sessions, world, who):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await ledger.reverse_transfer(s, original.id, actor=getattr(world, who), reason="x")


async def test_a_reversal_needs_a_reason(sessions, world):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    with pytest.raises(ledger.InvalidTransfer):
        async with transaction(sessions) as s:
            await ledger.reverse_transfer(s, original.id, actor=world.manager, reason="  ")


# --- 4. balance limits ----------------------------------------------------------------------


async def test_a_transfer_below_the_payers_minimum_is_refused_and_named(sessions, world):
    # The network default lets everyone owe up to 20 h.
    await pay(sessions, world, world.senior.id, world.volunteer.id, 20 * 60)
    async with transaction(sessions) as s:
        senior_account = await account_id(s, world.senior.id)
    with pytest.raises(ledger.BalanceLimitExceeded) as refused:
        await pay(sessions, world, world.senior.id, world.volunteer.id, 1)
    err = refused.value
    assert err.account_id == senior_account
    assert err.extra["balance_minutes"] == -1200
    assert err.extra["limit_minutes"] == -1200
    # Said in words: whose account (by name, never its number), the figures as hours.
    said = i18n.render("en", err.detail, err.params)
    assert world.senior.name in said and str(senior_account) not in said
    assert i18n.hours_and_minutes(-1200, "en") in said
    assert await balance(sessions, world.senior.id) == -1200


async def test_a_refusal_of_the_actors_own_account_says_your_time_account(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 20 * 60)
    with pytest.raises(ledger.BalanceLimitExceeded) as refused:
        await pay(sessions, world, world.senior.id, world.volunteer.id, 30, actor=world.senior)
    said = i18n.render("de", refused.value.detail, refused.value.params)
    assert said.startswith("Ihr Kontostand") and world.senior.name not in said
    assert i18n.hours_and_minutes(30, "de") in said


async def test_a_transfer_above_the_receivers_maximum_is_refused(sessions, world):
    async with transaction(sessions) as s:
        acct = await ledger.account_of_member(s, world.volunteer.id)
        acct.max_minutes = 120
        s.add(acct)
    await pay(sessions, world, world.senior.id, world.volunteer.id, 120)
    with pytest.raises(ledger.BalanceLimitExceeded) as refused:
        await pay(sessions, world, world.client.id, world.volunteer.id, 1)
    assert refused.value.extra["limit"] == "maximum"
    assert await balance(sessions, world.client.id) == 0


async def test_a_per_account_limit_overrides_the_network_default(sessions, world):
    async with transaction(sessions) as s:
        acct = await ledger.account_of_member(s, world.senior.id)
        acct.min_minutes = -60
        s.add(acct)
    await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    with pytest.raises(ledger.BalanceLimitExceeded):
        await pay(sessions, world, world.senior.id, world.volunteer.id, 1)


async def test_a_manager_may_override_a_limit_with_a_recorded_reason(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 20 * 60)
    t = await pay(
        sessions,
        world,
        world.senior.id,
        world.volunteer.id,
        30,
        override_reason="agreed at the round table",
    )
    assert t.override_reason == "agreed at the round table"
    assert await balance(sessions, world.senior.id) == -20 * 60 - 30


async def test_nobody_but_a_manager_may_override_a_limit(sessions, world):
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await ledger.post_transfer(
                s,
                from_account_id=await account_id(s, world.senior.id),
                to_account_id=await account_id(s, world.volunteer.id),
                minutes=60,
                kind="adjustment",
                actor=world.professional,
                override_reason="please",
            )


async def test_the_pool_cannot_pay_out_hours_it_does_not_have(sessions, world):
    async with transaction(sessions) as s:
        pool = await ledger.pool_account(s)
        vol = await account_id(s, world.volunteer.id)
    with pytest.raises(ledger.BalanceLimitExceeded):
        async with transaction(sessions) as s:
            await ledger.post_transfer(
                s,
                from_account_id=pool.id,
                to_account_id=vol,
                minutes=1,
                kind="pool_payment",
                actor=world.manager,
            )


async def test_simultaneous_confirmations_never_overshoot_a_minimum(sessions, world):
    """Twelve exchanges of 1 h wait for one senior whose minimum is −5 h; all twelve are
    confirmed at once, each on its own connection. Exactly five may book; the other seven
    are held for the network office (issue 9: nobody is refused for help given)."""
    async with transaction(sessions) as s:
        acct = await ledger.account_of_member(s, world.senior.id)
        acct.min_minutes = -300
        s.add(acct)
        ids = []
        for i in range(12):
            giver = world.volunteer if i % 2 else world.volunteer2
            result = await exchanges.record_exchange(
                s,
                giver,
                giver_id=giver.id,
                receiver_id=world.senior.id,
                minutes=60,
                performed_on=town_today(),
                category="shopping",
            )
            ids.append(result.exchange.id)

    async def confirm(exchange_id: int) -> None:
        async with transaction(sessions) as s:
            await exchanges.confirm_exchange(s, world.senior, exchange_id)

    await asyncio.gather(*[confirm(i) for i in ids])
    assert await balance(sessions, world.senior.id) == -300
    async with transaction(sessions) as s:
        assert (await ledger.verify(s)).ok
        statuses = (await s.exec(select(Exchange.status))).all()
    assert sorted(statuses).count("confirmed") == 5
    assert sorted(statuses).count("held") == 7


async def test_simultaneous_transfers_between_the_same_accounts_keep_the_books(sessions, world):
    """Transfers both ways between two accounts at once: no deadlock, no lost update."""

    async def move(i: int) -> None:
        a, b = (world.volunteer, world.volunteer2) if i % 2 else (world.volunteer2, world.volunteer)
        await pay(sessions, world, a.id, b.id, 10 + i)

    await asyncio.gather(*[move(i) for i in range(20)])
    async with transaction(sessions) as s:
        report = await ledger.verify(s)
    assert report.ok and report.transfers == 20
    expected = sum(10 + i for i in range(20) if i % 2 == 0) - sum(
        10 + i for i in range(20) if i % 2
    )
    assert await balance(sessions, world.volunteer.id) == expected


# --- 4. reversals at the limits --------------------------------------------------------------


async def with_pool(
    sessions: Sessions, world: World, member_id: int, minutes: int, *, paid: bool
) -> Transfer:
    """A transfer between a member and the pool: the member gives (paid=False) or the pool
    pays the member (paid=True)."""
    async with transaction(sessions) as s:
        pool, own = (await ledger.pool_account(s)).id, await account_id(s, member_id)
        return await ledger.post_transfer(
            s,
            from_account_id=pool if paid else own,  # type: ignore[arg-type]
            to_account_id=own if paid else pool,  # type: ignore[arg-type]
            minutes=minutes,
            kind="pool_payment" if paid else "donation",
            actor=world.manager,
        )


async def pool_balance(sessions: Sessions) -> int:
    async with transaction(sessions) as s:
        return (await ledger.pool_account(s)).balance_minutes


async def reverse(sessions: Sessions, world: World, transfer_id: int, **kw: object) -> Transfer:
    async with transaction(sessions) as s:
        return await ledger.reverse_transfer(
            s,
            transfer_id,
            actor=world.manager,
            reason="entered by mistake",
            **kw,  # type: ignore[arg-type]
        )


async def test_a_reversal_never_takes_the_pool_below_zero_without_a_reason(sessions, world):
    """A gift to the pool the pool has already paid out cannot simply be taken back."""
    gift = await with_pool(sessions, world, world.volunteer.id, 120, paid=False)
    await with_pool(sessions, world, world.senior.id, 90, paid=True)
    with pytest.raises(ledger.PoolOverdrawn) as refused:
        await reverse(sessions, world, gift.id)
    assert refused.value.field == "override_reason"
    assert refused.value.extra == {"balance_minutes": 30, "minutes": 120}
    assert await pool_balance(sessions) == 30
    assert await balance(sessions, world.volunteer.id) == -120
    async with transaction(sessions) as s:
        assert await ledger.reversal_of(s, gift.id) is None


async def test_with_a_managers_reason_the_pool_goes_below_zero_and_it_is_recorded(sessions, world):
    gift = await with_pool(sessions, world, world.volunteer.id, 120, paid=False)
    await with_pool(sessions, world, world.senior.id, 90, paid=True)
    reversal = await reverse(
        sessions, world, gift.id, override_reason="the gift was never made; the board agreed"
    )
    assert reversal.override_reason == "the gift was never made; the board agreed"
    assert (reversal.from_balance_after, reversal.from_min_crossed) == (-90, 0)
    assert reversal.to_max_crossed is None
    assert await pool_balance(sessions) == -90
    async with transaction(sessions) as s:
        stored = await s.get(Transfer, reversal.id)
        assert (stored.from_min_crossed, stored.override_reason) == (  # type: ignore[union-attr]
            0,
            "the gift was never made; the board agreed",
        )
        assert (await ledger.verify(s)).ok


async def test_a_reversal_crossing_a_members_limits_books_and_records_them(sessions, world):
    """The volunteer has spent the hours being taken back (minimum −30 min), and the senior
    getting them back is at a maximum of 0: the correction books all the same."""
    async with transaction(sessions) as s:
        for member_id, limits in ((world.volunteer.id, (-30, None)), (world.senior.id, (None, 0))):
            acct = await ledger.account_of_member(s, member_id)
            acct.min_minutes, acct.max_minutes = limits
            s.add(acct)
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    await pay(sessions, world, world.volunteer.id, world.client.id, 90)
    await pay(sessions, world, world.client.id, world.senior.id, 30)
    async with transaction(sessions) as s:
        volunteer, senior = (
            await account_id(s, world.volunteer.id),
            await account_id(s, world.senior.id),
        )
    reversal = await reverse(sessions, world, original.id)
    assert (reversal.from_account_id, reversal.from_balance_after, reversal.from_min_crossed) == (
        volunteer,
        -90,
        -30,
    )
    assert (reversal.to_account_id, reversal.to_balance_after, reversal.to_max_crossed) == (
        senior,
        30,
        0,
    )
    assert reversal.override_reason is None


async def test_a_transfer_within_the_limits_records_no_crossing(sessions, world):
    original = await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    reversal = await reverse(sessions, world, original.id)
    for t in (original, reversal):
        assert (t.from_min_crossed, t.to_max_crossed) == (None, None)


async def test_a_managers_override_records_the_limit_it_crossed(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 20 * 60)
    t = await pay(
        sessions, world, world.senior.id, world.volunteer.id, 30, override_reason="agreed"
    )
    assert (t.from_balance_after, t.from_min_crossed, t.to_max_crossed) == (-1230, -1200, None)


async def test_a_reversal_below_a_pools_reserve_but_not_below_zero_books(sessions, world):
    """A pool minimum above zero (a reserve) is a limit like any other for a correction."""
    async with transaction(sessions) as s:
        pool = await ledger.pool_account(s)
        pool.min_minutes = 60
        s.add(pool)
    gift = await with_pool(sessions, world, world.volunteer.id, 100, paid=False)
    reversal = await reverse(sessions, world, gift.id)
    assert (reversal.from_balance_after, reversal.from_min_crossed) == (0, 60)


async def book_by_hand(sessions: Sessions, world: World, **columns: object) -> None:
    """Insert a transfer of 1 h from the senior to the volunteer past the ledger's code."""
    async with transaction(sessions) as s:
        a, b = await account_id(s, world.senior.id), await account_id(s, world.volunteer.id)
        s.add(
            Transfer(
                from_account_id=a,
                to_account_id=b,
                minutes=60,
                kind="adjustment",
                actor_id=world.manager.id,
                from_balance_after=-60,
                to_balance_after=60,
                **columns,  # type: ignore[arg-type]
            )
        )
        await s.flush()


@pytest.mark.parametrize(
    "columns",
    [
        # A crossing on a transfer that is neither a reversal nor a manager's override.
        {"from_min_crossed": 0},
        {"to_max_crossed": 0},
        # A crossing of a limit the balance after is not beyond.
        {"override_reason": "x", "from_min_crossed": -100},
        {"override_reason": "x", "to_max_crossed": 100},
    ],
)
async def test_the_database_refuses_a_crossing_that_cannot_be(sessions, world, columns):
    with pytest.raises(IntegrityError):
        await book_by_hand(sessions, world, **columns)
    # The same transfer with a true crossing, by an override, is accepted.
    await book_by_hand(sessions, world, override_reason="x", from_min_crossed=-59)


async def test_simultaneous_reversals_never_overdraw_the_pool(sessions, world):
    """Two gifts of 1 h, one paid out: of the two gifts reversed at once, one books."""
    gifts = [
        await with_pool(sessions, world, member.id, 60, paid=False)
        for member in (world.volunteer, world.volunteer2)
    ]
    await with_pool(sessions, world, world.senior.id, 60, paid=True)

    async def take_back(gift: Transfer) -> str:
        try:
            await reverse(sessions, world, gift.id)  # type: ignore[arg-type]
            return "booked"
        except ledger.PoolOverdrawn:
            return "refused"

    results = await asyncio.gather(*[take_back(g) for g in gifts])
    assert sorted(results) == ["booked", "refused"]
    assert await pool_balance(sessions) == 0


# --- 5. idempotency ------------------------------------------------------------------------


async def test_a_retried_transfer_with_the_same_key_books_once(sessions, world):
    first = await pay(
        sessions, world, world.senior.id, world.volunteer.id, 45, idempotency_key="k1"
    )
    again = await pay(
        sessions, world, world.senior.id, world.volunteer.id, 45, idempotency_key="k1"
    )
    assert again.id == first.id
    assert await balance(sessions, world.volunteer.id) == 45


async def test_a_key_reused_for_a_different_transfer_is_refused(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 45, idempotency_key="k1")
    with pytest.raises(ledger.IdempotencyConflict):
        await pay(sessions, world, world.senior.id, world.volunteer.id, 50, idempotency_key="k1")
    assert await balance(sessions, world.volunteer.id) == 45


async def test_simultaneous_retries_with_one_key_book_once(sessions, world):
    """Both accounts are locked before the key is looked up, so every retry that waited
    for the lock finds the first booking and returns it: no error, no second booking."""
    transfers = await asyncio.gather(
        *[
            pay(sessions, world, world.senior.id, world.volunteer.id, 45, idempotency_key="same")
            for _ in range(6)
        ]
    )
    assert len({t.id for t in transfers}) == 1
    assert await balance(sessions, world.volunteer.id) == 45


# --- 6. actors and the statement -----------------------------------------------------------


async def test_the_statement_shows_newest_first_with_the_running_balance(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    await pay(sessions, world, world.volunteer.id, world.client.id, 15)
    t3 = await pay(
        sessions,
        world,
        world.senior.id,
        world.volunteer.id,
        30,
        override_reason=None,
        reason="garden",
    )
    async with transaction(sessions) as s:
        vol = await account_id(s, world.volunteer.id)
        lines = await ledger.statement(s, vol)
    assert [(line.minutes, line.balance_after) for line in lines] == [(30, 75), (-15, 45), (60, 60)]
    assert lines[0].transfer_id == t3.id and lines[0].reason == "garden"
    assert {line.actor_id for line in lines} == {world.manager.id}


async def test_the_statement_pages_by_transfer_id(sessions, world):
    for m in range(1, 8):
        await pay(sessions, world, world.senior.id, world.volunteer.id, m)
    async with transaction(sessions) as s:
        vol = await account_id(s, world.volunteer.id)
        first = await ledger.statement(s, vol, limit=3)
        second = await ledger.statement(s, vol, limit=3, before_id=first[-1].transfer_id)
        rest = await ledger.statement(s, vol, limit=3, before_id=second[-1].transfer_id)
    assert [x.minutes for x in first + second + rest] == [7, 6, 5, 4, 3, 2, 1]
    assert rest[-1].balance_after == 1


async def test_balances_are_cached_on_the_account_row(sessions, world):
    await pay(sessions, world, world.senior.id, world.volunteer.id, 60)
    async with transaction(sessions) as s:
        rows = (await s.exec(select(Account.balance_minutes).where(Account.kind == "member"))).all()
    assert sorted(rows)[0] == -60 and sorted(rows)[-1] == 60
