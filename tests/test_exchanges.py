"""The life of an exchange: logged, confirmed or rejected, paid by the pool, reversed
(domain level, on both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from timebank import exchanges, ledger
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.members import NewMember, create_member
from timebank.models import Exchange, Member, Transfer

Sessions = async_sessionmaker[AsyncSession]
TODAY = town_today()


async def log(
    sessions: Sessions, actor: Member, giver: Member, receiver: Member, minutes: int = 60, **kw
) -> exchanges.ExchangeResult:
    async with transaction(sessions) as s:
        return await exchanges.record_exchange(
            s,
            actor,
            giver_id=giver.id,  # type: ignore[arg-type]
            receiver_id=receiver.id,  # type: ignore[arg-type]
            minutes=minutes,
            performed_on=kw.pop("performed_on", TODAY),
            category=kw.pop("category", "shopping"),
            **kw,
        )


async def balance(sessions: Sessions, member: Member) -> int:
    async with transaction(sessions) as s:
        return (await ledger.account_of_member(s, member.id)).balance_minutes  # type: ignore[arg-type]


async def pool_balance(sessions: Sessions) -> int:
    async with transaction(sessions) as s:
        return (await ledger.pool_account(s)).balance_minutes


async def transfers(sessions: Sessions) -> list[Transfer]:
    async with transaction(sessions) as s:
        return list((await s.exec(select(Transfer).order_by(Transfer.id))).all())  # type: ignore[arg-type]


async def exchange(sessions: Sessions, exchange_id: int) -> Exchange:
    async with transaction(sessions) as s:
        found = await s.get(Exchange, exchange_id)
    assert found is not None
    return found


# --- pending → confirmed / rejected --------------------------------------------------------


async def test_help_logged_by_the_giver_waits_for_the_receiver(sessions, world):
    result = await log(sessions, world.volunteer, world.volunteer, world.senior)
    assert result.exchange.status == "pending"
    assert result.transfer is None
    assert result.exchange.assisted is False
    assert await transfers(sessions) == []
    assert await balance(sessions, world.volunteer) == 0


async def test_the_receiver_confirms_and_their_account_pays_the_giver(sessions, world):
    logged = await log(sessions, world.volunteer, world.volunteer, world.senior, 75)
    async with transaction(sessions) as s:
        confirmed = await exchanges.confirm_exchange(s, world.senior, logged.exchange.id)
    assert confirmed.exchange.status == "confirmed"
    assert confirmed.exchange.decided_by_id == world.senior.id
    assert confirmed.exchange.decided_at is not None
    assert confirmed.transfer is not None
    assert (confirmed.transfer.kind, confirmed.transfer.minutes) == ("exchange", 75)
    assert confirmed.transfer.actor_id == world.senior.id
    assert await balance(sessions, world.volunteer) == 75
    assert await balance(sessions, world.senior) == -75


async def test_confirming_twice_books_once(sessions, world):
    logged = await log(sessions, world.volunteer, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        first = await exchanges.confirm_exchange(s, world.senior, logged.exchange.id)
    async with transaction(sessions) as s:
        again = await exchanges.confirm_exchange(s, world.senior, logged.exchange.id)
    assert again.transfer is not None and first.transfer is not None
    assert again.transfer.id == first.transfer.id
    assert len(await transfers(sessions)) == 1
    assert await balance(sessions, world.volunteer) == 60


async def test_the_giver_cannot_confirm_their_own_help(sessions, world):
    logged = await log(sessions, world.volunteer, world.volunteer, world.senior)
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await exchanges.confirm_exchange(s, world.volunteer, logged.exchange.id)
    assert (await exchange(sessions, logged.exchange.id)).status == "pending"


async def test_the_receiver_rejects_with_a_reason_and_nothing_is_booked(sessions, world):
    logged = await log(sessions, world.volunteer, world.volunteer, world.senior)
    with pytest.raises(Invalid):
        async with transaction(sessions) as s:
            await exchanges.reject_exchange(s, world.senior, logged.exchange.id, reason="  ")
    async with transaction(sessions) as s:
        rejected = await exchanges.reject_exchange(
            s, world.senior, logged.exchange.id, reason="  war jemand anderes "
        )
    assert (rejected.status, rejected.reject_reason) == ("rejected", "war jemand anderes")
    assert rejected.decided_by_id == world.senior.id
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await exchanges.confirm_exchange(s, world.senior, logged.exchange.id)
    assert await transfers(sessions) == []


async def test_a_confirmed_exchange_cannot_be_rejected(sessions, world):
    logged = await log(sessions, world.volunteer, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        await exchanges.confirm_exchange(s, world.senior, logged.exchange.id)
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await exchanges.reject_exchange(
                s, world.senior, logged.exchange.id, reason="doch nicht"
            )


# --- assisted entries -----------------------------------------------------------------------


async def test_staff_entering_for_a_client_book_at_once_and_mark_it_assisted(sessions, world):
    result = await log(sessions, world.professional, world.volunteer, world.client, 45)
    assert result.exchange.status == "confirmed"
    assert result.exchange.assisted is True
    assert result.exchange.entered_by_id == world.professional.id
    assert result.transfer is not None and result.transfer.actor_id == world.professional.id
    assert await balance(sessions, world.client) == -45
    assert await balance(sessions, world.volunteer) == 45


async def test_staff_acting_only_for_the_giver_enter_it_pending(sessions, world):
    result = await log(sessions, world.professional, world.client, world.senior)
    assert result.exchange.status == "pending"
    assert result.exchange.assisted is True
    assert result.transfer is None


async def confirm_refused(sessions: Sessions, actor: Member, exchange_id: int) -> None:
    with pytest.raises(exchanges.GiverCannotConfirm):
        async with transaction(sessions) as s:
            await exchanges.confirm_exchange(s, actor, exchange_id)
    assert (await exchange(sessions, exchange_id)).status == "pending"
    assert await transfers(sessions) == []


async def test_staff_logging_help_for_their_client_cannot_confirm_it_the_client_or_manager_does(
    sessions, world
):
    # Issue 8: Paula logged help she gave her client Karl, then confirmed it herself.
    for turn, confirming in enumerate((world.client, world.manager), start=1):
        logged = await log(sessions, world.professional, world.professional, world.client, 45)
        assert (logged.exchange.status, logged.exchange.assisted) == ("pending", False)
        with pytest.raises(exchanges.GiverCannotConfirm):
            async with transaction(sessions) as s:
                await exchanges.confirm_exchange(s, world.professional, logged.exchange.id)
        assert await balance(sessions, world.client) == -45 * (turn - 1)
        async with transaction(sessions) as s:
            done = await exchanges.confirm_exchange(s, confirming, logged.exchange.id)
        assert done.exchange.decided_by_id == confirming.id
        assert await balance(sessions, world.client) == -45 * turn


async def test_the_manager_cannot_confirm_help_they_gave(sessions, world):
    logged = await log(sessions, world.manager, world.manager, world.senior, 30)
    assert logged.exchange.status == "pending"
    await confirm_refused(sessions, world.manager, logged.exchange.id)
    async with transaction(sessions) as s:
        done = await exchanges.confirm_exchange(s, world.senior, logged.exchange.id)
    assert done.transfer is not None and await balance(sessions, world.manager) == 30


async def test_a_colleague_cannot_confirm_a_professionals_help_to_their_own_client(sessions, world):
    async with transaction(sessions) as s:
        colleague = await create_member(
            s,
            NewMember(name="Petra Pfeil", role="professional", organization_id=world.org.id),
            actor=None,
        )
    logged = await log(sessions, world.professional, world.professional, world.client)
    await confirm_refused(sessions, colleague, logged.exchange.id)
    # Entered by the colleague for the client: assisted, and still waiting.
    entered = await log(sessions, colleague, world.professional, world.client)
    assert (entered.exchange.status, entered.exchange.assisted) == ("pending", True)
    assert entered.exchange.entered_by_id == colleague.id
    await confirm_refused(sessions, colleague, entered.exchange.id)


async def test_staffs_help_to_their_own_client_is_not_confirmed_automatically(sessions, world):
    own = await log(sessions, world.professional, world.professional, world.client)
    other = await log(sessions, world.volunteer, world.volunteer, world.senior)
    now = datetime.now(UTC)
    async with transaction(sessions) as s:
        for result, booked in ((own, False), (other, True)):
            found = await s.get(Exchange, result.exchange.id)
            assert found is not None
            assert await exchanges.auto_confirm(s, found, at=now) is booked
    assert (await exchange(sessions, own.exchange.id)).status == "pending"
    assert (await exchange(sessions, other.exchange.id)).status == "confirmed"


async def test_an_assisted_entry_beyond_a_limit_is_held_and_books_nothing(sessions, world):
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, world.client.id)  # type: ignore[arg-type]
        account.min_minutes = -30
        s.add(account)
    entered = await log(sessions, world.professional, world.volunteer, world.client, 31)
    assert (entered.exchange.status, entered.transfer) == ("held", None)
    assert entered.exchange.held_for == "minimum"
    assert await transfers(sessions) == []


async def test_a_manager_may_book_an_assisted_entry_beyond_a_limit_with_a_reason(sessions, world):
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, world.client.id)  # type: ignore[arg-type]
        account.min_minutes = -30
        s.add(account)
    result = await log(
        sessions, world.manager, world.volunteer, world.client, 60, override_reason="Härtefall"
    )
    assert result.transfer is not None and result.transfer.override_reason == "Härtefall"
    assert await balance(sessions, world.client) == -60


# --- the rules of a valid entry -------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": -5}, "minutes"),
        ({"minutes": 24 * 60 + 1}, "minutes"),
        ({"performed_on": TODAY + timedelta(days=1)}, "performed_on"),
        ({"category": "astrology"}, "category"),
        ({"note": "x" * 1001}, "note"),
        ({"idempotency_key": "k" * 65}, "idempotency_key"),
    ],
)
async def test_an_entry_that_breaks_a_rule_is_refused_naming_the_field(
    sessions, world, changes, field
):
    changes = dict(changes)  # the parameters are shared by both databases' runs
    minutes = changes.pop("minutes", 60)
    with pytest.raises(Invalid) as refused:
        await log(sessions, world.volunteer, world.volunteer, world.senior, minutes, **changes)
    assert refused.value.field == field
    async with transaction(sessions) as s:
        assert (await s.exec(select(Exchange))).all() == []


async def test_a_whole_day_is_the_most_one_exchange_can_be(sessions, world):
    result = await log(sessions, world.volunteer, world.volunteer, world.senior, 24 * 60)
    assert result.exchange.minutes == 1440


async def test_giver_and_receiver_must_be_two_people(sessions, world):
    with pytest.raises(Invalid) as refused:
        await log(sessions, world.volunteer, world.volunteer, world.volunteer)
    assert refused.value.field == "receiver_id"


async def test_help_with_an_inactive_member_is_refused(sessions, world):
    async with transaction(sessions) as s:
        gone = await s.get(Member, world.senior.id)
        assert gone is not None
        gone.active = False
        s.add(gone)
    with pytest.raises(Invalid) as refused:
        await log(sessions, world.volunteer, world.volunteer, world.senior)
    assert refused.value.field == "receiver_id"


async def test_the_receiver_cannot_log_help_they_received(sessions, world):
    with pytest.raises(Forbidden):
        await log(sessions, world.senior, world.volunteer, world.senior)


# --- idempotency ----------------------------------------------------------------------------


async def test_a_retried_entry_with_the_same_key_returns_the_first(sessions, world):
    first = await log(
        sessions, world.professional, world.volunteer, world.client, idempotency_key="x1"
    )
    again = await log(
        sessions, world.professional, world.volunteer, world.client, idempotency_key=" x1 "
    )
    assert again.exchange.id == first.exchange.id
    assert again.transfer is not None and first.transfer is not None
    assert again.transfer.id == first.transfer.id
    assert len(await transfers(sessions)) == 1
    with pytest.raises(ledger.IdempotencyConflict):
        await log(
            sessions, world.professional, world.volunteer, world.client, 30, idempotency_key="x1"
        )


# --- the community pool ---------------------------------------------------------------------


async def test_a_donation_moves_hours_from_the_donor_to_the_pool(sessions, world):
    async with transaction(sessions) as s:
        t = await exchanges.donate_to_pool(s, world.volunteer, 120)
    assert (t.kind, t.minutes, t.actor_id) == ("donation", 120, world.volunteer.id)
    assert await balance(sessions, world.volunteer) == -120
    assert await pool_balance(sessions) == 120


async def test_a_retried_donation_books_once_and_keys_are_per_member(sessions, world):
    async with transaction(sessions) as s:
        first = await exchanges.donate_to_pool(s, world.volunteer, 30, idempotency_key="d")
    async with transaction(sessions) as s:
        again = await exchanges.donate_to_pool(s, world.volunteer, 30, idempotency_key="d")
    async with transaction(sessions) as s:
        other = await exchanges.donate_to_pool(s, world.senior, 30, idempotency_key="d")
    assert again.id == first.id and other.id != first.id
    assert await pool_balance(sessions) == 60


async def test_the_pool_pays_the_giver_and_the_receiver_pays_nothing(sessions, world):
    async with transaction(sessions) as s:
        await exchanges.donate_to_pool(s, world.volunteer2, 100)
    logged = await log(sessions, world.volunteer, world.volunteer, world.senior, 60)
    async with transaction(sessions) as s:
        paid = await exchanges.pay_from_pool(s, world.manager, logged.exchange.id)
    assert (paid.exchange.status, paid.exchange.paid_by_pool) == ("confirmed", True)
    assert paid.transfer is not None and paid.transfer.kind == "pool_payment"
    assert await pool_balance(sessions) == 40
    assert await balance(sessions, world.volunteer) == 60
    assert await balance(sessions, world.senior) == 0
    # Paying again books nothing more.
    async with transaction(sessions) as s:
        again = await exchanges.pay_from_pool(s, world.manager, logged.exchange.id)
    assert again.transfer is not None and again.transfer.id == paid.transfer.id
    assert await pool_balance(sessions) == 40


@pytest.mark.parametrize("who", ["professional", "senior", "volunteer"])
async def test_only_the_manager_lets_the_pool_pay(sessions, world, who):
    async with transaction(sessions) as s:
        await exchanges.donate_to_pool(s, world.volunteer2, 100)
    logged = await log(sessions, world.volunteer, world.volunteer, world.senior)
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await exchanges.pay_from_pool(s, getattr(world, who), logged.exchange.id)
    assert await pool_balance(sessions) == 100


# --- reversal -------------------------------------------------------------------------------


async def test_reversing_a_booked_exchange_marks_it_reversed_and_restores_balances(sessions, world):
    booked = await log(sessions, world.professional, world.volunteer, world.client, 50)
    assert booked.transfer is not None
    async with transaction(sessions) as s:
        reversal = await exchanges.reverse_exchange_transfer(
            s, world.manager, booked.transfer.id, reason="falscher Klient"
        )
    assert (reversal.kind, reversal.exchange_id) == ("reversal", booked.exchange.id)
    assert (await exchange(sessions, booked.exchange.id)).status == "reversed"
    assert await balance(sessions, world.client) == 0
    assert await balance(sessions, world.volunteer) == 0
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await exchanges.confirm_exchange(s, world.client, booked.exchange.id)
    assert len(await transfers(sessions)) == 2


# --- booking at a given time (the demo's history, the scheduler's tick) -----------------------


async def test_writes_can_be_dated_at_a_given_time(sessions, world):
    at = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    assisted = await log(
        sessions, world.professional, world.volunteer, world.client, performed_on=at.date(), at=at
    )
    assert assisted.exchange.created_at == at and assisted.exchange.decided_at == at
    assert assisted.transfer is not None and assisted.transfer.created_at == at

    later = at + timedelta(days=2)
    pending = await log(
        sessions, world.volunteer, world.volunteer, world.senior, performed_on=at.date(), at=at
    )
    async with transaction(sessions) as s:
        confirmed = await exchanges.confirm_exchange(s, world.senior, pending.exchange.id, at=later)
    assert confirmed.exchange.decided_at == later
    assert confirmed.transfer is not None and confirmed.transfer.created_at == later

    refused = await log(
        sessions, world.volunteer, world.volunteer, world.senior, performed_on=at.date(), at=at
    )
    async with transaction(sessions) as s:
        rejected = await exchanges.reject_exchange(
            s, world.senior, refused.exchange.id, reason="nein", at=later
        )
    assert rejected.decided_at == later

    async with transaction(sessions) as s:
        donation = await exchanges.donate_to_pool(s, world.volunteer, 10, at=later)
    assert donation.created_at == later
    pool_paid = await log(
        sessions, world.volunteer2, world.volunteer2, world.senior, 10, performed_on=at.date(),
        at=at,
    )  # fmt: skip
    async with transaction(sessions) as s:
        paid = await exchanges.pay_from_pool(s, world.manager, pool_paid.exchange.id, at=later)
    assert paid.exchange.decided_at == later
    assert paid.transfer is not None and paid.transfer.created_at == later


async def test_a_backdated_entry_judges_the_future_by_its_own_date(sessions, world):
    at = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    with pytest.raises(Invalid) as refused:
        await log(
            sessions,
            world.volunteer,
            world.volunteer,
            world.senior,
            performed_on=date(2025, 3, 15),
            at=at,
        )
    assert refused.value.field == "performed_on"


# --- the statement shows how each line came about -------------------------------------------


async def test_the_statement_marks_assisted_entries_pool_payments_and_overrides(sessions, world):
    async with transaction(sessions) as s:
        await exchanges.donate_to_pool(s, world.volunteer2, 100)
    await log(sessions, world.professional, world.volunteer, world.client, 20)  # assisted
    own = await log(sessions, world.volunteer, world.volunteer, world.senior, 30)
    async with transaction(sessions) as s:
        await exchanges.pay_from_pool(s, world.manager, own.exchange.id)
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, world.volunteer.id)  # type: ignore[arg-type]
        statement = await exchanges.account_statement(s, world.volunteer, account.id)  # type: ignore[arg-type]
    assert statement.account.balance_minutes == 50
    assert [(e.line.minutes, e.assisted, e.paid_by_pool) for e in statement.entries] == [
        (30, False, True),
        (20, True, False),
    ]


async def test_a_stranger_cannot_read_someone_elses_statement(sessions, world: World):
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, world.senior.id)  # type: ignore[arg-type]
    for stranger in (world.volunteer, world.outside_professional, world.professional):
        with pytest.raises(Forbidden):
            async with transaction(sessions) as s:
                await exchanges.account_statement(s, stranger, account.id)  # type: ignore[arg-type]
