"""The statement tells the truth (issue 9, point 7): lines stand on the date of their help,
oldest first, grouped by that month; a correction stands after what it takes back, with its
reason; each month's sums add up (balance at the start + given − received + donations and
corrections = balance at the end) and the year ends at the balance; the home page's "given /
received" add up to the balance after a donation (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from tests.support import Sessions, World
from timebank import exchanges, ledger, overview
from timebank.db import transaction
from timebank.errors import Invalid
from timebank.exchanges import ExchangeResult
from timebank.models import Member


def moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def helped(
    sessions: Sessions,
    world: World,
    giver: Member,
    receiver: Member,
    minutes: int,
    day: date,
    *,
    booked: date | None = None,
) -> ExchangeResult:
    """Help on ``day``, entered by the office for the receiver and so booked at once, on
    ``booked`` (the same day unless given)."""
    async with transaction(sessions) as s:
        result = await exchanges.record_exchange(
            s,
            world.manager,
            giver_id=giver.id,  # type: ignore[arg-type]
            receiver_id=receiver.id,  # type: ignore[arg-type]
            minutes=minutes,
            performed_on=day,
            category="shopping",
            at=moment(booked or day),
        )
    assert result.transfer is not None
    return result


async def statement_of(
    sessions: Sessions, world: World, member: Member, year: int, month: int | None = None
) -> overview.Statement:
    async with transaction(sessions) as s:
        return await overview.statement(s, world.manager, member.id, year=year, month=month)  # type: ignore[arg-type]


def adds_up(sums: overview.Sums) -> bool:
    return (
        sums.opening_minutes + sums.given_minutes - sums.received_minutes + sums.other_minutes
        == sums.closing_minutes
    )


async def test_help_of_december_booked_in_january_stands_in_december(
    sessions: Sessions, world: World
):
    await helped(
        sessions, world, world.volunteer, world.senior, 120, date(2025, 12, 28),
        booked=date(2026, 1, 3),
    )  # fmt: skip
    december = await statement_of(sessions, world, world.senior, 2025)
    [month] = december.months
    [line] = month.lines
    assert month.first_day == date(2025, 12, 1)
    assert (line.day, line.booked_on) == (date(2025, 12, 28), date(2026, 1, 3))
    assert (line.side, line.minutes, line.other_name) == ("received", 120, "Volker Vogel")
    assert (month.sums.received_minutes, month.sums.closing_minutes) == (120, -120)

    january = await statement_of(sessions, world, world.senior, 2026, 1)
    assert january.months == []
    assert (january.sums.opening_minutes, january.sums.closing_minutes) == (-120, -120)


async def test_a_correction_stands_after_what_it_takes_back_with_its_reason(
    sessions: Sessions, world: World
):
    wrong = await helped(sessions, world, world.volunteer, world.senior, 60, date(2025, 3, 10))
    await helped(sessions, world, world.volunteer, world.senior, 30, date(2025, 3, 12))
    async with transaction(sessions) as s:
        await exchanges.reverse_exchange_transfer(
            s,
            world.manager,
            wrong.transfer.id,  # type: ignore[union-attr,arg-type]
            reason="Doppelt eingetragen",
            at=moment(date(2025, 3, 20)),
        )
    march = await statement_of(sessions, world, world.volunteer, 2025, 3)
    [month] = march.months
    assert [(x.day, x.side, x.minutes, x.cancels) for x in month.lines] == [
        (date(2025, 3, 10), "given", 60, False),
        (date(2025, 3, 10), "given", -60, True),
        (date(2025, 3, 12), "given", 30, False),
    ]
    assert [x.balance_after for x in month.lines] == [60, 0, 30]
    cancel = month.lines[1]
    assert (cancel.booked_on, cancel.reason, cancel.other_name) == (
        date(2025, 3, 20),
        "Doppelt eingetragen",
        "Sieglinde Sommer",
    )
    assert (month.sums.given_minutes, month.sums.closing_minutes) == (30, 30)
    # The receiver's side: the help taken back counts against help received.
    [senior_month] = (await statement_of(sessions, world, world.senior, 2025, 3)).months
    assert [(x.side, x.minutes) for x in senior_month.lines] == [
        ("received", 60),
        ("received", -60),
        ("received", 30),
    ]
    assert senior_month.sums.received_minutes == 30


async def test_each_month_adds_up_and_the_year_ends_at_the_balance(
    sessions: Sessions, world: World
):
    await helped(sessions, world, world.volunteer, world.senior, 120, date(2025, 2, 5))
    await helped(sessions, world, world.senior, world.volunteer2, 180, date(2025, 3, 3))
    async with transaction(sessions) as s:
        senior = await s.get(Member, world.senior.id)
        assert senior is not None
        await exchanges.donate_to_pool(s, senior, 30, at=moment(date(2025, 3, 10)))
        await ledger.post_transfer(
            s,
            from_account_id=(await ledger.account_of_member(s, world.professional.id)).id,  # type: ignore[arg-type]
            to_account_id=(await ledger.account_of_member(s, world.senior.id)).id,  # type: ignore[arg-type]
            minutes=15,
            kind="adjustment",
            actor=world.manager,
            reason="Nachtrag vom Papierbogen",
            at=moment(date(2025, 4, 1)),
        )

    year = await statement_of(sessions, world, world.senior, 2025)
    assert [m.first_day.month for m in year.months] == [2, 3, 4]
    opening = 0
    for month in year.months:
        assert month.sums.opening_minutes == opening
        assert adds_up(month.sums)
        running = opening
        for line in month.lines:
            running += line.change
            assert line.balance_after == running
        assert running == month.sums.closing_minutes
        opening = month.sums.closing_minutes
    sums = year.sums
    assert (sums.given_minutes, sums.received_minutes, sums.other_minutes) == (180, 120, -15)
    assert adds_up(sums) and sums.closing_minutes == year.balance_minutes == 45
    donation = year.months[1].lines[-1]
    assert (donation.side, donation.kind, donation.minutes) == ("other", "donation", -30)

    march = await statement_of(sessions, world, world.senior, 2025, 3)
    assert [m.first_day for m in march.months] == [date(2025, 3, 1)]
    assert (march.sums.opening_minutes, march.sums.closing_minutes) == (-120, 30)

    async with transaction(sessions) as s:
        home = await overview.balance(s, world.senior, world.senior)
    assert (home.gave_minutes, home.received_minutes) == (180, 120)
    assert (home.donated_minutes, home.other_minutes) == (30, 15)


async def test_given_and_received_add_up_to_the_balance_after_a_donation(
    sessions: Sessions, world: World
):
    await helped(sessions, world, world.volunteer, world.senior, 120, date(2025, 5, 6))
    async with transaction(sessions) as s:
        volunteer = await s.get(Member, world.volunteer.id)
        assert volunteer is not None
        await exchanges.donate_to_pool(s, volunteer, 60)
        home = await overview.balance(s, volunteer, volunteer)
    assert home.balance_minutes == 60
    assert (
        home.gave_minutes - home.received_minutes - home.donated_minutes + home.other_minutes
        == home.balance_minutes
    )
    assert (home.gave_minutes, home.donated_minutes) == (120, 60)


async def test_help_the_pool_paid_is_on_both_statements(sessions: Sessions, world: World):
    day = date(2025, 4, 2)
    async with transaction(sessions) as s:
        await ledger.post_transfer(
            s,
            from_account_id=(await ledger.account_of_member(s, world.professional.id)).id,  # type: ignore[arg-type]
            to_account_id=(await ledger.pool_account(s)).id,  # type: ignore[arg-type]
            minutes=120,
            kind="donation",
            actor=world.manager,
            override_reason="test set-up",
            at=moment(date(2025, 3, 1)),
        )
        pending = await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=60,
            performed_on=day,
            category="shopping",
            at=moment(day),
        )
        await exchanges.pay_from_pool(
            s,
            world.manager,
            pending.exchange.id,  # type: ignore[arg-type]
            at=moment(date(2025, 4, 4)),
        )
    [given] = (await statement_of(sessions, world, world.volunteer, 2025, 4)).months[0].lines
    assert (given.side, given.kind, given.minutes, given.other_name) == (
        "given",
        "pool_payment",
        60,
        "Sieglinde Sommer",
    )
    senior = await statement_of(sessions, world, world.senior, 2025, 4)
    [told] = senior.months[0].lines
    assert (told.side, told.minutes, told.change, told.balance_after) == ("info", 60, 0, 0)
    assert told.other_name == "Volker Vogel"
    assert senior.sums.closing_minutes == 0 and adds_up(senior.sums)


@pytest.mark.parametrize(
    ("year", "month", "field"),
    [(1999, None, "year"), (2027, None, "year"), (2026, 13, "month"), (2026, 0, "month")],
)
def test_a_period_outside_the_choice_is_refused_at_its_field(
    year: int, month: int | None, field: str
):
    with pytest.raises(Invalid) as refused:
        overview.statement_period(year, month, date(2026, 11, 25))
    assert refused.value.field == field
