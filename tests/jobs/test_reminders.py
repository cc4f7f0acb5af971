"""The daily follow-ups: unconfirmed exchanges, unanswered requests, expiry (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import delete, select

from tests.support import World, town_today
from timebank import board, exchanges, ledger, network
from timebank.db import transaction
from timebank.jobs import reminders
from timebank.models import (
    Account,
    Category,
    Exchange,
    Flag,
    HelpRequest,
    Member,
    NetworkSettings,
    Notification,
    Offer,
    Transfer,
    utcnow,
)

NOW = utcnow()


async def pending_exchange(sessions, world: World, receiver: Member, *, days_ago: float) -> int:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        done = await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,
            receiver_id=receiver.id,
            minutes=120,
            performed_on=town_today() - timedelta(days=20),
            category="visits",
        )
        done.exchange.created_at = NOW - timedelta(days=days_ago)
        s.add(done.exchange)
        # Logged days ago: the receiver was told then (tests/test_notice_events.py).
        await s.exec(delete(Notification).where(Notification.kind == "hours_logged"))  # type: ignore[call-overload]
    return done.exchange.id  # type: ignore[return-value]


async def run_unconfirmed(sessions, **changes: object) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        settings = await network.network_settings(s)
        for name, value in changes.items():
            setattr(settings, name, value)
        s.add(settings)
        return await reminders.unconfirmed_exchanges(s, settings, now=NOW, email=False)


async def notified(sessions) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        rows = await s.exec(select(Notification).order_by(Notification.id))  # type: ignore[arg-type]
        return [(n.member_id, n.kind) for n in rows.all()]


async def open_flags(sessions, kind: str) -> list[Flag]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        rows = await s.exec(select(Flag).where(Flag.kind == kind, Flag.status != "resolved"))
        return list(rows.all())


# --- Unconfirmed exchanges ------------------------------------------------------------------


@pytest.mark.parametrize(("days_ago", "reminded"), [(2.99, False), (3.01, True)])
async def test_the_receiver_is_reminded_after_three_days(sessions, world, days_ago, reminded):
    await pending_exchange(sessions, world, world.senior, days_ago=days_ago)
    counts = await run_unconfirmed(sessions)
    assert counts["reminded"] == int(reminded)
    assert await notified(sessions) == (
        [(world.senior.id, "exchange_reminder")] if reminded else []
    )


async def test_for_a_receiver_without_login_the_staff_who_act_for_them_are_reminded(
    sessions, world
):
    await pending_exchange(sessions, world, world.client, days_ago=4)
    await run_unconfirmed(sessions)
    # Karl Klient has no login; Paula Profi works for his organisation. Karl's own row is
    # for the office's post (timebank.post).
    assert await notified(sessions) == [
        (world.professional.id, "exchange_reminder"),
        (world.client.id, "exchange_reminder"),
    ]


async def test_a_reminder_is_sent_once(sessions, world):
    await pending_exchange(sessions, world, world.senior, days_ago=4)
    await run_unconfirmed(sessions)
    again = await run_unconfirmed(sessions)
    assert again["reminded"] == 0
    assert len(await notified(sessions)) == 1


@pytest.mark.parametrize(("days_ago", "flagged"), [(13.99, False), (14.01, True)])
async def test_after_fourteen_days_the_manager_gets_a_flag(sessions, world, days_ago, flagged):
    exchange_id = await pending_exchange(sessions, world, world.senior, days_ago=days_ago)
    counts = await run_unconfirmed(sessions)
    assert counts["flagged"] == int(flagged)
    found = await open_flags(sessions, "unconfirmed_exchange")
    assert [(f.member_id, f.subject_id) for f in found] == (
        [(world.senior.id, exchange_id)] if flagged else []
    )
    again = await run_unconfirmed(sessions)
    assert again["flagged"] == 0
    assert len(await open_flags(sessions, "unconfirmed_exchange")) == len(found)


async def test_the_flag_clears_itself_once_the_exchange_is_decided(sessions, world):
    exchange_id = await pending_exchange(sessions, world, world.senior, days_ago=15)
    await run_unconfirmed(sessions)
    async with transaction(sessions) as s:
        await exchanges.confirm_exchange(s, world.senior, exchange_id)
    counts = await run_unconfirmed(sessions)
    assert counts["cleared"] == 1
    async with transaction(sessions) as s:
        flag = await s.scalar(select(Flag).where(Flag.kind == "unconfirmed_exchange"))
    assert (flag.status, flag.resolution) == ("resolved", "review")  # type: ignore[union-attr]


async def test_by_network_setting_a_late_exchange_is_confirmed_automatically(sessions, world):
    exchange_id = await pending_exchange(sessions, world, world.senior, days_ago=15)
    counts = await run_unconfirmed(sessions, unconfirmed_action="confirm")
    assert (counts["confirmed"], counts["flagged"]) == (1, 0)
    async with transaction(sessions) as s:
        exchange = await s.get(Exchange, exchange_id)
        transfer = await s.scalar(select(Transfer).where(Transfer.exchange_id == exchange_id))
        senior = await ledger.account_of_member(s, world.senior.id)  # type: ignore[arg-type]
        volunteer = await ledger.account_of_member(s, world.volunteer.id)  # type: ignore[arg-type]
        assert (await ledger.verify(s)).ok
    assert (exchange.status, exchange.decided_by_id) == ("confirmed", None)  # type: ignore[union-attr]
    assert (transfer.actor_id, transfer.minutes) == (None, 120)  # type: ignore[union-attr]
    assert (senior.balance_minutes, volunteer.balance_minutes) == (-120, 120)
    assert sorted(await notified(sessions)) == sorted(
        [
            (world.volunteer.id, "exchange_auto_confirmed"),
            (world.senior.id, "exchange_auto_confirmed"),
        ]
    )
    again = await run_unconfirmed(sessions, unconfirmed_action="confirm")
    assert again["confirmed"] == 0


async def test_an_automatic_confirmation_beyond_a_limit_is_held_for_the_office(sessions, world):
    exchange_id = await pending_exchange(sessions, world, world.senior, days_ago=15)
    async with transaction(sessions) as s:
        account = await s.get(Account, (await ledger.account_of_member(s, world.senior.id)).id)  # type: ignore[arg-type]
        account.min_minutes = -60  # type: ignore[union-attr]
        s.add(account)
    counts = await run_unconfirmed(sessions, unconfirmed_action="confirm")
    assert (counts["confirmed"], counts["held"], counts["flagged"]) == (0, 1, 0)
    async with transaction(sessions) as s:
        held = await s.get(Exchange, exchange_id)
        assert (held.status, held.held_for) == ("held", "minimum")  # type: ignore[union-attr]
        assert (await ledger.verify(s)).transfers == 0
    # The receiver, the giver and the manager hear it; nobody is told it was booked.
    told = await notified(sessions)
    assert sorted(m for m, kind in told if kind == "help_held") == sorted(
        [world.senior.id, world.volunteer.id, world.manager.id]
    )
    assert all(kind != "exchange_auto_confirmed" for _, kind in told)
    again = await run_unconfirmed(sessions, unconfirmed_action="confirm")
    assert (again["held"], again["flagged"]) == (0, 0)


# --- Unanswered requests --------------------------------------------------------------------


async def help_request(sessions, world: World, *, days_ago: float) -> HelpRequest:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        garden = await s.scalar(select(Category).where(Category.slug == "garden"))
        request = await board.create_request(
            s,
            world.professional,
            member_id=world.client.id,  # type: ignore[arg-type]
            category_id=garden.id,  # type: ignore[union-attr]
            title="Hecke schneiden",
        )
        request.created_at = NOW - timedelta(days=days_ago)
        s.add(request)
    return request


async def run_unanswered(sessions) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        settings = await s.get(NetworkSettings, 1)
        return await reminders.unanswered_requests(s, settings, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(("days_ago", "flagged"), [(2.99, False), (3.01, True)])
async def test_a_request_nobody_answered_for_three_days_is_flagged_with_district_and_category(
    sessions, world, days_ago, flagged
):
    request = await help_request(sessions, world, days_ago=days_ago)
    assert (await run_unanswered(sessions))["flagged"] == int(flagged)
    found = await open_flags(sessions, "unanswered_request")
    assert [(f.member_id, f.subject_id, f.district_id, f.category_id) for f in found] == (
        [(world.client.id, request.id, world.north.id, request.category_id)] if flagged else []
    )
    assert (await run_unanswered(sessions))["flagged"] == 0


async def test_a_request_with_a_response_is_not_flagged_and_its_flag_clears(sessions, world):
    answered = await help_request(sessions, world, days_ago=5)
    waiting = await help_request(sessions, world, days_ago=5)
    await run_unanswered(sessions)
    assert len(await open_flags(sessions, "unanswered_request")) == 2
    async with transaction(sessions) as s:
        await board.respond(s, world.volunteer, answered.id)  # type: ignore[arg-type]
    counts = await run_unanswered(sessions)
    assert counts["cleared"] == 1
    assert [f.subject_id for f in await open_flags(sessions, "unanswered_request")] == [waiting.id]


# --- Expiry ---------------------------------------------------------------------------------


async def test_offers_and_requests_past_their_date_close_and_their_owners_are_told(sessions, world):
    today = town_today()
    async with transaction(sessions) as s:
        garden = await s.scalar(select(Category).where(Category.slug == "garden"))
        old_offer = Offer(
            member_id=world.volunteer.id,  # type: ignore[arg-type]
            category_id=garden.id,  # type: ignore[union-attr,arg-type]
            title="Rasen mähen",
            expires_on=today - timedelta(days=1),
        )
        current = Offer(
            member_id=world.volunteer2.id,  # type: ignore[arg-type]
            category_id=garden.id,  # type: ignore[union-attr,arg-type]
            title="Blumen gießen",
            expires_on=today,
        )
        old_request = HelpRequest(
            member_id=world.client.id,  # type: ignore[arg-type]
            entered_by_id=world.professional.id,  # type: ignore[arg-type]
            category_id=garden.id,  # type: ignore[union-attr,arg-type]
            title="Laub fegen",
            expires_on=today - timedelta(days=2),
        )
        s.add_all([old_offer, current, old_request])
    async with transaction(sessions) as s:
        counts = await reminders.expire_past(s, today=today, email=False)
    assert counts == {"requests": 1, "offers": 1, "told": 3}
    async with transaction(sessions) as s:
        assert (await s.get(Offer, old_offer.id)).status == "expired"  # type: ignore[union-attr]
        assert (await s.get(Offer, current.id)).status == "open"  # type: ignore[union-attr]
        assert (await s.get(HelpRequest, old_request.id)).status == "expired"  # type: ignore[union-attr]
    assert sorted(await notified(sessions)) == sorted(
        [
            (world.volunteer.id, "offer_expired"),
            (world.professional.id, "request_expired"),
            (world.client.id, "request_expired"),  # for the office's post
        ]
    )
    async with transaction(sessions) as s:
        again = await reminders.expire_past(s, today=today, email=False)
    assert again == {"requests": 0, "offers": 0, "told": 0}
