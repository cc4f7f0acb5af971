"""Disputes: the receiver says why logged help is not right; the giver accepts a corrected
length, the manager settles the rest, the receiver may take it back; each booked exactly
once, through the ledger's rules, and everyone involved told (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from timebank import disputes, exchanges, ledger
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid, NotFound
from timebank.models import Dispute, Exchange, Member, Notification, Transfer, id_of

Sessions = async_sessionmaker[AsyncSession]


async def logged(sessions: Sessions, giver: Member, receiver: Member, minutes: int = 120) -> int:
    async with transaction(sessions) as s:
        result = await exchanges.record_exchange(
            s,
            giver,
            giver_id=id_of(giver),
            receiver_id=id_of(receiver),
            minutes=minutes,
            performed_on=town_today(),
            category="shopping",
        )
    return id_of(result.exchange)


async def disputed(
    sessions: Sessions, world: World, reason: str = "length", minutes: int | None = 90, **kw
) -> int:
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        await disputes.open_dispute(
            s,
            world.senior,
            exchange_id,
            reason=reason,
            minutes=minutes if reason == "length" else None,
            **kw,
        )
    return exchange_id


async def state(sessions: Sessions, exchange_id: int) -> tuple[Exchange, Dispute, list[Transfer]]:
    async with transaction(sessions) as s:
        exchange = await s.get(Exchange, exchange_id)
        dispute = await s.scalar(
            select(Dispute)
            .where(Dispute.exchange_id == exchange_id)
            .order_by(col(Dispute.id).desc())
        )
        booked = list(
            (await s.exec(select(Transfer).where(Transfer.exchange_id == exchange_id))).all()
        )
    assert exchange is not None and dispute is not None
    return exchange, dispute, booked


async def balance(sessions: Sessions, member: Member) -> int:
    async with transaction(sessions) as s:
        return (await ledger.account_of_member(s, id_of(member))).balance_minutes


async def notices(sessions: Sessions, kind: str) -> dict[int, list[Notification]]:
    async with transaction(sessions) as s:
        rows = (await s.exec(select(Notification).where(Notification.kind == kind))).all()
    found: dict[int, list[Notification]] = {}
    for row in rows:
        found.setdefault(row.member_id, []).append(row)
    return found


# --- Opening ------------------------------------------------------------------------------------


async def test_a_dispute_keeps_the_entry_disputed_and_tells_the_giver_and_the_office(
    sessions, world
):
    exchange_id = await disputed(sessions, world, "length", 90, note="nur anderthalb")
    exchange, dispute, booked = await state(sessions, exchange_id)
    assert exchange.status == "disputed" and booked == []
    assert (dispute.reason, dispute.entered_minutes, dispute.proposed_minutes) == (
        "length",
        120,
        90,
    )
    assert (dispute.note, dispute.opened_by_id, dispute.outcome) == (
        "nur anderthalb",
        world.senior.id,
        None,
    )
    told = await notices(sessions, "dispute_opened")
    assert sorted(told) == sorted([id_of(world.volunteer), id_of(world.manager)])
    # The giver reads the reason and the length in their language (German here).
    [to_giver] = told[id_of(world.volunteer)]
    assert "1:30 Std." in to_giver.body and "2:00 Std." in to_giver.body
    assert world.senior.name in to_giver.body


@pytest.mark.parametrize(
    ("reason", "minutes", "note", "field"),
    [
        ("", None, None, "reason"),
        ("weil", None, None, "reason"),
        ("length", None, None, "minutes"),
        ("length", 120, None, "minutes"),  # the length that was entered
        ("length", 0, None, "minutes"),
        ("length", 1441, None, "minutes"),
        ("other", None, "  ", "note"),
        ("other", None, "x" * 501, "note"),
    ],
)
async def test_a_dispute_needs_its_reason_and_changes_nothing_when_refused(
    sessions, world, reason, minutes, note, field
):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            await disputes.open_dispute(
                s, world.senior, exchange_id, reason=reason, minutes=minutes, note=note
            )
    assert refused.value.field == field
    async with transaction(sessions) as s:
        assert (await s.get(Exchange, exchange_id)).status == "pending"  # type: ignore[union-attr]
        assert await disputes.open_dispute_of(s, exchange_id) is None


async def test_only_the_receiver_side_disputes_and_a_double_click_opens_one(sessions, world):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    for outsider in (world.volunteer, world.volunteer2, world.professional):
        with pytest.raises(Forbidden):
            async with transaction(sessions) as s:
                await disputes.open_dispute(s, outsider, exchange_id, reason="did_not_happen")
    for _ in range(2):
        async with transaction(sessions) as s:
            await disputes.open_dispute(s, world.senior, exchange_id, reason="did_not_happen")
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await disputes.open_dispute(s, world.senior, exchange_id, reason="other", note="x")
    async with transaction(sessions) as s:
        count = len((await s.exec(select(Dispute))).all())
    assert count == 1
    assert len((await notices(sessions, "dispute_opened"))[id_of(world.volunteer)]) == 1


async def test_a_confirmed_entry_cannot_be_disputed(sessions, world):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        await exchanges.confirm_exchange(s, world.senior, exchange_id)
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await disputes.open_dispute(s, world.senior, exchange_id, reason="did_not_happen")


# --- The giver accepts a corrected length ---------------------------------------------------------


async def test_the_giver_accepts_the_corrected_length_and_it_is_booked_once(sessions, world):
    exchange_id = await disputed(sessions, world, "length", 90)
    async with transaction(sessions) as s:
        result = await disputes.accept_correction(s, world.volunteer, exchange_id)
    assert result.transfer is not None and result.transfer.minutes == 90
    exchange, dispute, booked = await state(sessions, exchange_id)
    assert (exchange.status, exchange.minutes) == ("confirmed", 90)
    assert (dispute.outcome, dispute.settled_minutes, dispute.settled_by_id) == (
        "accepted",
        90,
        world.volunteer.id,
    )
    assert [t.minutes for t in booked] == [90]
    assert await balance(sessions, world.volunteer) == 90
    assert await balance(sessions, world.senior) == -90
    # Twice: refused in words, nothing booked again.
    with pytest.raises(Conflict) as again:
        async with transaction(sessions) as s:
            await disputes.accept_correction(s, world.volunteer, exchange_id)
    assert again.value.detail == disputes.SETTLED_ALREADY
    assert len((await state(sessions, exchange_id))[2]) == 1
    # The receiver is told; the giver, who did it, is not.
    told = await notices(sessions, "dispute_settled")
    assert list(told) == [id_of(world.senior)]
    assert "1:30 Std." in told[id_of(world.senior)][0].body


async def test_only_the_giver_accepts_and_only_a_length(sessions, world):
    exchange_id = await disputed(sessions, world, "length", 90)
    for other in (world.senior, world.volunteer2):
        with pytest.raises(Forbidden):
            async with transaction(sessions) as s:
                await disputes.accept_correction(s, other, exchange_id)
    other_reason = await disputed(sessions, world, "did_not_happen")
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await disputes.accept_correction(s, world.volunteer, other_reason)
    assert (await state(sessions, other_reason))[0].status == "disputed"


# --- The manager settles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "minutes", "status", "booked_minutes"),
    [
        ("confirmed", None, "confirmed", 120),
        ("corrected", 45, "confirmed", 45),
        ("rejected", None, "rejected", None),
    ],
)
async def test_the_manager_settles_with_a_note_and_both_sides_are_told(
    sessions, world, outcome, minutes, status, booked_minutes
):
    exchange_id = await disputed(sessions, world, "other", note="das war anders")
    async with transaction(sessions) as s:
        await disputes.settle(
            s, world.manager, exchange_id, outcome=outcome, minutes=minutes, note="telefoniert"
        )
    exchange, dispute, booked = await state(sessions, exchange_id)
    assert exchange.status == status
    assert [t.minutes for t in booked] == ([booked_minutes] if booked_minutes else [])
    assert (dispute.outcome, dispute.settled_by_id, dispute.settlement_note) == (
        outcome,
        world.manager.id,
        "telefoniert",
    )
    assert dispute.settled_minutes == booked_minutes
    assert dispute.entered_minutes == 120  # the length as entered stays on record
    assert await balance(sessions, world.volunteer) == (booked_minutes or 0)
    told = await notices(sessions, "dispute_settled")
    assert sorted(told) == sorted([id_of(world.volunteer), id_of(world.senior)])
    assert all("telefoniert" in n.body for rows in told.values() for n in rows)
    # A second settlement is refused and books nothing.
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await disputes.settle(
                s, world.manager, exchange_id, outcome="confirmed", note="nochmal"
            )
    assert len((await state(sessions, exchange_id))[2]) == len(booked)


async def test_settling_needs_the_manager_a_note_and_a_new_length(sessions, world):
    exchange_id = await disputed(sessions, world, "did_not_happen")
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await disputes.settle(s, world.professional, exchange_id, outcome="rejected", note="x")
    for outcome, minutes, note, field in (
        ("confirmed", None, " ", "note"),
        ("maybe", None, "x", "outcome"),
        ("corrected", None, "x", "minutes"),
        ("corrected", 120, "x", "minutes"),
    ):
        with pytest.raises(Invalid) as refused:
            async with transaction(sessions) as s:
                await disputes.settle(
                    s, world.manager, exchange_id, outcome=outcome, minutes=minutes, note=note
                )
        assert refused.value.field == field
    assert (await state(sessions, exchange_id))[1].outcome is None


async def test_a_settlement_is_booked_by_the_ledgers_rules(sessions, world):
    """A limit refuses the settlement as it refuses any confirmation (``confirm_exchange``
    decides): nothing is half-written."""
    exchange_id = await disputed(sessions, world, "did_not_happen")
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, id_of(world.senior))
        account.min_minutes = -60
        s.add(account)
    try:
        async with transaction(sessions) as s:
            result = await disputes.settle(
                s, world.manager, exchange_id, outcome="confirmed", note="stimmt doch"
            )
    except ledger.BalanceLimitExceeded:
        # Before the office holds such help (issue 9, point 1): refused, nothing written.
        exchange, dispute, booked = await state(sessions, exchange_id)
        assert (exchange.status, dispute.outcome, booked) == ("disputed", None, [])
    else:
        # Held for the office, not booked past the limit.
        assert result.transfer is None and result.exchange.status == "held"
    assert await balance(sessions, world.senior) == 0


async def test_nothing_to_settle_on_an_entry_that_is_not_disputed(sessions, world):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    with pytest.raises(NotFound):
        async with transaction(sessions) as s:
            await disputes.settle(s, world.manager, exchange_id, outcome="confirmed", note="x")


# --- Withdrawing ----------------------------------------------------------------------------------


async def test_the_receiver_withdraws_and_the_entry_waits_for_them_again(sessions, world):
    exchange_id = await disputed(sessions, world, "did_not_happen")
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await disputes.withdraw(s, world.volunteer, exchange_id)
    async with transaction(sessions) as s:
        await disputes.withdraw(s, world.senior, exchange_id)
    exchange, dispute, booked = await state(sessions, exchange_id)
    assert (exchange.status, dispute.outcome, booked) == ("pending", "withdrawn", [])
    told = await notices(sessions, "dispute_withdrawn")
    assert sorted(told) == sorted([id_of(world.volunteer), id_of(world.manager)])
    # Settled by the withdrawal: the manager finds nothing to settle.
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await disputes.settle(s, world.manager, exchange_id, outcome="confirmed", note="x")
    # It can be disputed again, with another reason, and then confirmed by the receiver.
    async with transaction(sessions) as s:
        await disputes.open_dispute(s, world.senior, exchange_id, reason="length", minutes=60)
        await disputes.withdraw(s, world.senior, exchange_id)
        result = await exchanges.confirm_exchange(s, world.senior, exchange_id)
    assert result.transfer is not None and result.transfer.minutes == 120


async def test_a_settled_dispute_cannot_be_withdrawn(sessions, world):
    exchange_id = await disputed(sessions, world, "length", 90)
    async with transaction(sessions) as s:
        await disputes.accept_correction(s, world.volunteer, exchange_id)
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await disputes.withdraw(s, world.senior, exchange_id)


# --- For staff and clients ------------------------------------------------------------------------


async def test_staff_dispute_for_a_client_and_are_told_for_them(sessions, world):
    """Karl has no login: his professional disputes for him, and hears about the outcome."""
    exchange_id = await logged(sessions, world.volunteer, world.client)
    async with transaction(sessions) as s:
        await disputes.open_dispute(s, world.professional, exchange_id, reason="length", minutes=60)
        await disputes.accept_correction(s, world.volunteer, exchange_id)
    told = await notices(sessions, "dispute_settled")
    # Karl is told too, for the office's post (he reads letters, not the app).
    assert id_of(world.professional) in told and id_of(world.client) in told


# --- Reading ------------------------------------------------------------------------------------


async def test_the_queue_and_each_sides_page_show_open_disputes(sessions, world):
    first = await disputed(sessions, world, "length", 90)
    second = await disputed(sessions, world, "did_not_happen")
    async with transaction(sessions) as s:
        await disputes.settle(s, world.manager, second, outcome="rejected", note="nie passiert")
        queue = await disputes.queue(s, world.manager)
        settled = await disputes.recently_settled(s, world.manager)
        giver = await disputes.of_member(s, world.volunteer, world.volunteer)
        receiver = await disputes.of_member(s, world.senior, world.senior)
        with pytest.raises(Forbidden):
            await disputes.queue(s, world.volunteer)
    assert [r.exchange.id for r in queue] == [first]
    assert [r.exchange.id for r in settled] == [second]
    assert [r.exchange.id for r in giver.as_giver] == [first] and giver.as_receiver == []
    assert [r.exchange.id for r in receiver.as_receiver] == [first]
