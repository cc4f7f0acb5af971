"""The manager's flag workflow: acknowledge, note, snooze, resolve; history; filters."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.support import World, town_today, until_a_connection_waits_for_a_lock
from timebank import flags
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid, NotFound
from timebank.models import Flag, FlagEvent, utcnow

TODAY = town_today()


async def raise_flag(sessions, world: World, member, kind: str = "takes_without_giving") -> int:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        flag = Flag(member_id=member.id, kind=kind, rule="balance", balance_minutes=-700)
        s.add(flag)
    return flag.id  # type: ignore[return-value]


@pytest.mark.parametrize("who", ["volunteer", "senior", "professional", "client"])
async def test_only_the_manager_handles_flags(sessions, world, who):
    flag_id = await raise_flag(sessions, world, world.volunteer2)
    actor = getattr(world, who)
    async with transaction(sessions) as s:
        with pytest.raises(Forbidden):
            await flags.acknowledge(s, actor, flag_id)
        with pytest.raises(Forbidden):
            await flags.resolve(s, actor, flag_id, note="done")
        with pytest.raises(Forbidden):
            await flags.open_flags(s, actor)
        with pytest.raises(Forbidden):
            await flags.member_history(s, actor, world.volunteer2.id)


async def test_every_action_is_in_the_history_with_its_actor(sessions, world):
    flag_id = await raise_flag(sessions, world, world.volunteer)
    until = TODAY + timedelta(days=14)
    async with transaction(sessions) as s:
        await flags.acknowledge(s, world.manager, flag_id)
        await flags.add_note(s, world.manager, flag_id, note="Rufe sie morgen an")
        await flags.snooze(s, world.manager, flag_id, until=until, note="im Urlaub")
        await flags.resolve(s, world.manager, flag_id, note="Gespräch geführt, alles gut")
    async with transaction(sessions) as s:
        [history] = await flags.member_history(s, world.manager, world.volunteer.id)
    assert (history.flag.status, history.flag.resolution, history.flag.resolved_by_id) == (
        "resolved",
        "manager",
        world.manager.id,
    )
    assert [(e.action, e.actor_id, e.note) for e in history.events] == [
        ("acknowledge", world.manager.id, None),
        ("note", world.manager.id, "Rufe sie morgen an"),
        ("snooze", world.manager.id, "im Urlaub"),
        ("resolve", world.manager.id, "Gespräch geführt, alles gut"),
    ]
    assert history.events[2].snoozed_until == until


async def test_resolving_needs_a_note_and_a_resolved_flag_stays_resolved(sessions, world):
    flag_id = await raise_flag(sessions, world, world.volunteer)
    async with transaction(sessions) as s:
        with pytest.raises(Invalid):
            await flags.resolve(s, world.manager, flag_id, note="   ")
    async with transaction(sessions) as s:
        await flags.resolve(s, world.manager, flag_id, note="erledigt")
    async with transaction(sessions) as s:
        with pytest.raises(Conflict):
            await flags.snooze(s, world.manager, flag_id, until=TODAY + timedelta(days=3))
        with pytest.raises(Conflict):
            await flags.acknowledge(s, world.manager, flag_id)


@pytest.mark.parametrize("days", [0, -1, 367])
async def test_snoozing_needs_a_date_after_today_within_a_year(sessions, world, days):
    flag_id = await raise_flag(sessions, world, world.volunteer)
    async with transaction(sessions) as s:
        with pytest.raises(Invalid):
            await flags.snooze(s, world.manager, flag_id, until=TODAY + timedelta(days=days))
        assert (await s.get(Flag, flag_id)).status == "open"  # type: ignore[union-attr]


async def test_an_unknown_flag_is_not_found(sessions, world):
    async with transaction(sessions) as s:
        with pytest.raises(NotFound):
            await flags.acknowledge(s, world.manager, 999_999)


async def test_one_unresolved_flag_per_member_and_kind_is_enforced_by_the_database(sessions, world):
    from sqlalchemy.exc import IntegrityError

    await raise_flag(sessions, world, world.volunteer)
    with pytest.raises(IntegrityError):
        await raise_flag(sessions, world, world.volunteer)
    # A resolved one does not count.
    async with transaction(sessions) as s:
        s.add(Flag(member_id=world.volunteer.id, kind="takes_without_giving", status="resolved"))


async def test_open_flags_filter_by_kind_role_district_and_organisation(sessions, world):
    volunteer = await raise_flag(sessions, world, world.volunteer)  # district Nord
    await raise_flag(sessions, world, world.volunteer2)  # district Süd
    client = await raise_flag(sessions, world, world.client, "inactive")  # Nord, org
    resolved = await raise_flag(sessions, world, world.senior)
    async with transaction(sessions) as s:
        await flags.resolve(s, world.manager, resolved, note="ok")

    async def ids(**filters: object) -> set[int]:
        async with transaction(sessions) as s:
            rows = await flags.open_flags(s, world.manager, flags.FlagFilter(**filters))  # type: ignore[arg-type]
        return {r.flag.id for r in rows}  # type: ignore[misc]

    assert len(await ids()) == 3
    assert await ids(kind="inactive") == {client}
    assert await ids(role="senior") == {client}
    assert await ids(district_id=world.north.id) == {volunteer, client}
    assert await ids(organization_id=world.org.id) == {client}
    with pytest.raises(Invalid):
        await ids(kind="grumpy")


async def test_the_member_sees_only_which_kinds_of_balance_flag_they_have(sessions, world):
    await raise_flag(sessions, world, world.volunteer, "gives_without_taking")
    await raise_flag(sessions, world, world.volunteer, "unconfirmed_exchange")
    async with transaction(sessions) as s:
        assert await flags.own_balance_flag_kinds(s, world.volunteer) == ["gives_without_taking"]
        assert await flags.own_balance_flag_kinds(s, world.senior) == []


# --- Opened by the jobs -----------------------------------------------------------------------


async def open_waiting_flag(s, world: World) -> bool:  # type: ignore[no-untyped-def]
    return await flags.open_flag(
        s,
        member_id=world.senior.id,
        kind="unconfirmed_exchange",
        subject_id=7,
        now=utcnow(),
        rule="waiting",
        received_minutes=60,
    )


async def test_open_flag_opens_once_with_its_figures_and_an_event(sessions, world):
    async with transaction(sessions) as s:
        assert await open_waiting_flag(s, world) is True
        assert await open_waiting_flag(s, world) is False
    async with transaction(sessions) as s:
        [flag] = (await s.exec(select(Flag))).all()
        assert (flag.status, flag.rule, flag.received_minutes) == ("open", "waiting", 60)
        events = (await s.exec(select(FlagEvent.action))).all()
    assert events == ["open"]


async def test_a_flag_opened_in_two_transactions_at_once_opens_once_without_an_error(
    sessions, world
):
    """The second opener looks while the first has opened the flag but not yet committed
    (on PostgreSQL it is seen waiting for the first): it waits and skips, never fails."""
    async with transaction(sessions) as s:
        assert await open_waiting_flag(s, world) is True

        async def second() -> bool:
            async with transaction(sessions) as other:
                return await open_waiting_flag(other, world)

        later = asyncio.create_task(second())
        await until_a_connection_waits_for_a_lock(sessions)
    assert await later is False
    async with transaction(sessions) as s:
        assert len((await s.exec(select(Flag))).all()) == 1
        assert len((await s.exec(select(FlagEvent))).all()) == 1
