"""The balance review's rules, each at its boundary, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import (
    NOW,
    World,
    account_id_of,
    move,
    open_flags,
    run_review,
    set_balance,
    town_today,
    until_a_connection_waits_for_a_lock,
)
from timebank import exchanges, flags, ledger, review
from timebank.db import transaction
from timebank.models import (
    Account,
    Flag,
    FlagEvent,
    Member,
    NetworkSettings,
    ReviewPolicy,
)

Sessions = async_sessionmaker[AsyncSession]


async def help_given(
    sessions: Sessions, world: World, giver: Member, receiver: Member, minutes: int, **kw: float
) -> None:
    await move(sessions, world, receiver, giver, minutes, **kw)


async def change_settings(sessions: Sessions, **values: object) -> None:
    async with transaction(sessions) as s:
        settings = await s.get(NetworkSettings, 1)
        for name, value in values.items():
            setattr(settings, name, value)
        s.add(settings)


# --- takes without giving -------------------------------------------------------------------


@pytest.mark.parametrize(("balance", "flagged"), [(-599, False), (-600, False), (-601, True)])
async def test_a_balance_below_minus_ten_hours_is_taking_without_giving(
    sessions, world, balance, flagged
):
    await set_balance(sessions, world, world.volunteer, balance)
    await run_review(sessions)
    found = await open_flags(sessions, world.volunteer)
    assert ("takes_without_giving" in found) is flagged
    if flagged:
        flag = found["takes_without_giving"]
        assert (flag.rule, flag.balance_minutes) == ("balance", balance)


@pytest.mark.parametrize(
    ("received", "given", "flagged"),
    [
        (300, 75, False),  # exactly 4× is not more than 4×
        (300, 74, True),
        (301, 75, True),
        (299, 0, False),  # less than 5 h received is too little to judge
    ],
)
async def test_receiving_more_than_four_times_what_one_gives_is_taking(
    sessions, world, received, given, flagged
):
    await help_given(sessions, world, world.professional, world.volunteer, received)
    if given:
        await help_given(sessions, world, world.volunteer, world.professional, given)
    await run_review(sessions)
    found = await open_flags(sessions, world.volunteer)
    assert ("takes_without_giving" in found) is flagged
    if flagged:
        flag = found["takes_without_giving"]
        assert (flag.rule, flag.received_minutes, flag.given_minutes) == (
            "ratio",
            received,
            given,
        )


@pytest.mark.parametrize(("days_ago", "flagged"), [(89.9, True), (90.1, False)])
async def test_the_ratios_look_at_the_last_ninety_days_only(sessions, world, days_ago, flagged):
    await help_given(sessions, world, world.professional, world.volunteer, 400, days_ago=days_ago)
    await run_review(sessions)
    assert ("takes_without_giving" in await open_flags(sessions, world.volunteer)) is flagged


async def test_a_senior_whose_help_the_pool_paid_is_not_taking_but_a_volunteer_is(sessions, world):
    async with transaction(sessions) as s:  # fill the pool so it can pay
        pool = await ledger.pool_account(s)
        await ledger.post_transfer(
            s,
            from_account_id=await account_id_of(s, world.professional),
            to_account_id=pool.id,  # type: ignore[arg-type]
            minutes=2000,
            kind="donation",
            actor=world.manager,
            override_reason="test set-up",
        )
    for receiver in (world.senior, world.volunteer):
        async with transaction(sessions) as s:
            done = await exchanges.record_exchange(
                s,
                world.volunteer2,
                giver_id=world.volunteer2.id,
                receiver_id=receiver.id,
                minutes=600,
                performed_on=town_today(),
                category="shopping",
            )
            await exchanges.pay_from_pool(s, world.manager, done.exchange.id)  # type: ignore[arg-type]
    await run_review(sessions)
    assert "takes_without_giving" not in await open_flags(sessions, world.senior)
    volunteer_flag = (await open_flags(sessions, world.volunteer))["takes_without_giving"]
    assert volunteer_flag.received_minutes == 600


async def test_professionals_are_not_reviewed_unless_the_policy_says_so(sessions, world):
    await set_balance(sessions, world, world.outside_professional, -700)
    await run_review(sessions)
    assert await open_flags(sessions, world.outside_professional) == {}
    async with transaction(sessions) as s:
        policy = await s.get(ReviewPolicy, "professional")
        policy.reviewed = True  # type: ignore[union-attr]
        s.add(policy)
    await run_review(sessions)
    assert "takes_without_giving" in await open_flags(sessions, world.outside_professional)


async def test_members_who_left_the_network_are_not_reviewed(sessions, world):
    await set_balance(sessions, world, world.volunteer, -700)
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        member.active = False  # type: ignore[union-attr]
        s.add(member)
    await run_review(sessions)
    assert await open_flags(sessions, world.volunteer) == {}


# --- gives without taking ------------------------------------------------------------------


@pytest.mark.parametrize(("balance", "flagged"), [(2399, False), (2400, False), (2401, True)])
async def test_a_balance_above_forty_hours_is_giving_without_taking(
    sessions, world, balance, flagged
):
    await set_balance(sessions, world, world.volunteer, balance)
    await run_review(sessions)
    assert ("gives_without_taking" in await open_flags(sessions, world.volunteer)) is flagged


@pytest.mark.parametrize(
    ("given", "received", "flagged"),
    [(600, 150, False), (600, 149, True), (601, 150, True), (599, 0, False)],
)
async def test_giving_more_than_four_times_what_one_receives_is_burnout_risk(
    sessions, world, given, received, flagged
):
    await help_given(sessions, world, world.volunteer, world.professional, given)
    if received:
        await help_given(sessions, world, world.professional, world.volunteer, received)
    await run_review(sessions)
    found = await open_flags(sessions, world.volunteer)
    assert ("gives_without_taking" in found) is flagged
    if flagged:
        assert found["gives_without_taking"].rule == "ratio"


# --- near a limit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "rule"),
    [(-1079, None), (-1080, "min"), (-1200, "min"), (5399, None), (5400, "max")],
)
async def test_within_ten_percent_of_the_role_limit_is_near_a_limit(sessions, world, balance, rule):
    # The role defaults are -20 h and +100 h: 10 % is 2 h below the top, 2 h above the floor.
    await set_balance(sessions, world, world.volunteer, balance)
    await run_review(sessions)
    found = await open_flags(sessions, world.volunteer)
    if rule is None:
        assert "near_limit" not in found
    else:
        flag = found["near_limit"]
        assert (flag.rule, flag.limit_minutes) == (rule, -1200 if rule == "min" else 6000)


@pytest.mark.parametrize(("balance", "flagged"), [(-539, False), (-540, True)])
async def test_an_account_override_is_the_limit_that_counts(sessions, world, balance, flagged):
    async with transaction(sessions) as s:
        account = await s.get(Account, await account_id_of(s, world.volunteer))
        account.min_minutes = -600  # type: ignore[union-attr]
        s.add(account)
    await set_balance(sessions, world, world.volunteer, balance)
    await run_review(sessions)
    found = await open_flags(sessions, world.volunteer)
    assert ("near_limit" in found) is flagged
    if flagged:
        assert found["near_limit"].limit_minutes == -600


# --- inactive -------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_ago", "flagged"), [(89.99, False), (90.01, True)])
async def test_no_exchange_for_ninety_days_after_being_active_is_inactive(
    sessions, world, days_ago, flagged
):
    await help_given(sessions, world, world.volunteer, world.professional, 60, days_ago=days_ago)
    await run_review(sessions)
    found = await open_flags(sessions, world.volunteer)
    assert ("inactive" in found) is flagged
    if flagged:
        assert found["inactive"].last_activity_at == NOW - timedelta(days=days_ago)


async def test_someone_who_never_exchanged_is_not_inactive(sessions, world):
    await run_review(sessions)
    assert await open_flags(sessions) == {}


# --- flags over several runs ------------------------------------------------------------------


async def _snapshot(sessions: Sessions) -> tuple[list[tuple], list[tuple]]:
    async with transaction(sessions) as s:
        all_flags = (await s.exec(select(Flag).order_by(Flag.id))).all()
        events = (await s.exec(select(FlagEvent).order_by(FlagEvent.id))).all()
        return [tuple(f.model_dump().items()) for f in all_flags], [
            tuple(e.model_dump().items()) for e in events
        ]


async def test_a_second_run_changes_nothing(sessions, world):
    await set_balance(sessions, world, world.volunteer, -700)
    await help_given(sessions, world, world.volunteer2, world.professional, 700)
    await help_given(sessions, world, world.senior, world.professional, 30, days_ago=120)
    first = await run_review(sessions)
    assert first.opened == 3
    before = await _snapshot(sessions)
    second = await run_review(sessions, NOW + timedelta(minutes=5))
    assert (second.opened, second.updated, second.cleared, second.woken) == (0, 0, 0, 0)
    assert await _snapshot(sessions) == before


async def test_a_new_run_updates_the_figures_instead_of_adding_a_flag(sessions, world):
    await set_balance(sessions, world, world.volunteer, -700)
    await run_review(sessions)
    first = (await open_flags(sessions, world.volunteer))["takes_without_giving"]
    await set_balance(sessions, world, world.volunteer, -100)
    result = await run_review(sessions)
    assert (result.opened, result.updated) == (0, 1)
    again = (await open_flags(sessions, world.volunteer))["takes_without_giving"]
    assert again.id == first.id
    assert again.balance_minutes == -800
    async with transaction(sessions) as s:
        count = len((await s.exec(select(Flag).where(Flag.member_id == world.volunteer.id))).all())
    assert count == 1


async def test_a_flag_clears_itself_when_the_member_is_back_in_balance(sessions, world):
    await set_balance(sessions, world, world.volunteer, -700)
    await run_review(sessions)
    flag = (await open_flags(sessions, world.volunteer))["takes_without_giving"]
    await set_balance(sessions, world, world.volunteer, 700)
    result = await run_review(sessions)
    assert result.cleared == 1
    async with transaction(sessions) as s:
        cleared = await s.get(Flag, flag.id)
        events = (await s.exec(select(FlagEvent).where(FlagEvent.flag_id == flag.id))).all()
    assert (cleared.status, cleared.resolution, cleared.resolved_by_id) == (
        "resolved",
        "review",
        None,
    )
    assert [(e.action, e.actor_id) for e in events] == [("open", None), ("resolve", None)]
    # Out of balance again: a new flag, the old one stays in the history.
    await set_balance(sessions, world, world.volunteer, -700)
    await run_review(sessions)
    assert (await open_flags(sessions, world.volunteer))["takes_without_giving"].id != flag.id


async def test_a_snoozed_flag_keeps_its_figures_current_and_wakes_on_its_date(sessions, world):
    await set_balance(sessions, world, world.volunteer, -700)
    await run_review(sessions)
    flag = (await open_flags(sessions, world.volunteer))["takes_without_giving"]
    until = (NOW + timedelta(days=7)).date()
    async with transaction(sessions) as s:
        await flags.snooze(s, world.manager, flag.id, until=until, note="on holiday")  # type: ignore[arg-type]
    await set_balance(sessions, world, world.volunteer, -10)
    await run_review(sessions, NOW + timedelta(days=3))
    snoozed = (await open_flags(sessions, world.volunteer))["takes_without_giving"]
    assert (snoozed.status, snoozed.balance_minutes) == ("snoozed", -710)
    result = await run_review(sessions, NOW + timedelta(days=8))
    assert result.woken == 1
    assert (await open_flags(sessions, world.volunteer))["takes_without_giving"].status == "open"


async def test_thresholds_are_network_settings(sessions, world):
    await set_balance(sessions, world, world.volunteer, -301)
    await run_review(sessions)
    assert "takes_without_giving" not in await open_flags(sessions, world.volunteer)
    await change_settings(sessions, takes_balance_below=-300)
    await run_review(sessions)
    assert "takes_without_giving" in await open_flags(sessions, world.volunteer)


# --- Two reviews at once ----------------------------------------------------------------------


async def out_of_balance(sessions: Sessions, world: World) -> None:
    await set_balance(sessions, world, world.volunteer, -700)
    await set_balance(sessions, world, world.volunteer2, 2500)
    await help_given(sessions, world, world.senior, world.professional, 30, days_ago=120)


async def flags_and_open_events(sessions: Sessions) -> list[tuple[int, str, int]]:
    async with transaction(sessions) as s:
        rows = await s.exec(
            select(Flag.member_id, Flag.kind, func.count(col(FlagEvent.id)))
            .join(FlagEvent, col(FlagEvent.flag_id) == Flag.id)
            .where(Flag.status != "resolved", FlagEvent.action == "open")
            .group_by(col(Flag.member_id), col(Flag.kind))
        )
        return sorted(rows.all())


async def test_a_review_started_while_another_runs_waits_and_opens_nothing_twice(sessions, world):
    """The second review reaches the flags while the first has opened them but not yet
    committed (on PostgreSQL it is seen waiting for a lock): it must wait, then find the
    flags open, never fail on the one-open-flag index."""
    await out_of_balance(sessions, world)
    async with transaction(sessions) as s:
        first = await review.run_review(s, now=NOW)
        second = asyncio.create_task(run_review(sessions, NOW + timedelta(minutes=1)))
        await until_a_connection_waits_for_a_lock(sessions)
    assert first.opened == 3
    later = await second
    assert (later.opened, later.cleared) == (0, 0)
    assert later.open_by_kind == first.open_by_kind
    found = await flags_and_open_events(sessions)
    assert len(found) == 3 and all(events == 1 for _, _, events in found)


async def test_reviews_started_at_once_all_succeed_and_open_each_flag_once(sessions, world):
    await out_of_balance(sessions, world)
    for round_ in range(5):
        results = await asyncio.gather(
            *(run_review(sessions, NOW + timedelta(minutes=round_)) for _ in range(3))
        )
        assert sum(r.opened for r in results) == 3
        found = await flags_and_open_events(sessions)
        assert len(found) == 3 and all(events == 1 for _, _, events in found)
        # The manager resolves them all, so the next round opens them afresh.
        async with transaction(sessions) as s:
            for flag in (await s.exec(select(Flag).where(Flag.status != "resolved"))).all():
                await flags.resolve(s, world.manager, flag.id, note="spoke to them")  # type: ignore[arg-type]
