"""Notices are written when things happen, to the people concerned (both databases): the
member, and for a member without a login also the staff who act for them; never the person
who did it. (Held, paid-from-pool, dispute and take-up notices are tested with their rules.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from timebank import board, exchanges, network
from timebank.db import transaction
from timebank.jobs import reminders
from timebank.members import NewMember, create_member
from timebank.models import Category, HelpRequest, Member, Notification, id_of

Event = Callable[[AsyncSession, World], Awaitable[None]]


async def _request(s: AsyncSession, w: World, owner: Member, **kw: object) -> HelpRequest:
    garden = await s.scalar(select(Category.id).where(Category.slug == "garden"))
    return await board.create_request(
        s,
        w.manager,
        member_id=id_of(owner),
        category_id=garden,
        title="Hecke",
        **kw,  # type: ignore[arg-type]
    )


async def _logged(s: AsyncSession, w: World, receiver: Member) -> int:
    done = await exchanges.record_exchange(
        s,
        w.volunteer,
        giver_id=id_of(w.volunteer),
        receiver_id=id_of(receiver),
        minutes=60,
        performed_on=town_today() - timedelta(days=1),
        category="visits",
    )
    return id_of(done.exchange)


async def offered_on_own_request(s: AsyncSession, w: World) -> None:
    await board.respond(s, w.volunteer, id_of(await _request(s, w, w.senior)))


async def offered_on_clients_request(s: AsyncSession, w: World) -> None:
    await board.respond(s, w.volunteer, id_of(await _request(s, w, w.client)))


async def chosen_by_the_requester(s: AsyncSession, w: World) -> None:
    request = await _request(s, w, w.senior)
    await board.respond(s, w.volunteer, id_of(request))
    await _forget(s)
    await board.accept_helper(s, w.senior, id_of(request), id_of(w.volunteer))


async def assigned_by_the_office(s: AsyncSession, w: World) -> None:
    request = await _request(s, w, w.client)
    await board.accept_helper(s, w.manager, id_of(request), id_of(w.volunteer2))


async def hours_logged(s: AsyncSession, w: World) -> None:
    await _logged(s, w, w.senior)


async def hours_logged_for_a_client(s: AsyncSession, w: World) -> None:
    await _logged(s, w, w.client)


async def confirmed(s: AsyncSession, w: World) -> None:
    exchange_id = await _logged(s, w, w.senior)
    await _forget(s)
    await exchanges.confirm_exchange(s, w.senior, exchange_id)


async def reversed_by_the_office(s: AsyncSession, w: World) -> None:
    exchange_id = await _logged(s, w, w.senior)
    done = await exchanges.confirm_exchange(s, w.senior, exchange_id)
    await _forget(s)
    assert done.transfer is not None
    await exchanges.reverse_exchange_transfer(
        s, w.manager, id_of(done.transfer), reason="Doppelt eingetragen"
    )


async def about_to_expire(s: AsyncSession, w: World) -> None:
    today = town_today()
    await _request(s, w, w.senior, expires_on=today + timedelta(days=2))
    await _request(s, w, w.client, expires_on=today + timedelta(days=3))  # not yet
    await _forget(s)
    settings = await network.network_settings(s)
    for _ in range(2):  # a second run tells nobody twice
        await reminders.expiring_soon(s, settings, today=today, email=True)


async def welcomed(s: AsyncSession, w: World) -> None:
    await create_member(s, NewMember(name="Nina Neu", role="volunteer"), actor=w.manager)


async def _forget(s: AsyncSession) -> None:
    """What happened before the event under test is not its notice."""
    await s.exec(delete(Notification))  # type: ignore[call-overload]


EVENTS: dict[str, tuple[Event, Callable[[World], set[tuple[str, str]]]]] = {
    "offered_on_own_request": (
        offered_on_own_request,
        lambda w: {(w.senior.name, "helper_offered")},
    ),
    "offered_on_clients_request": (
        offered_on_clients_request,
        lambda w: {(w.client.name, "helper_offered"), (w.professional.name, "helper_offered")},
    ),
    "chosen_by_the_requester": (
        chosen_by_the_requester,
        lambda w: {(w.volunteer.name, "helper_chosen")},
    ),
    "assigned_by_the_office": (
        assigned_by_the_office,
        lambda w: {
            (w.volunteer2.name, "assigned"),
            (w.client.name, "assigned"),
            (w.professional.name, "assigned"),
        },
    ),
    "hours_logged": (hours_logged, lambda w: {(w.senior.name, "hours_logged")}),
    "hours_logged_for_a_client": (
        hours_logged_for_a_client,
        lambda w: {(w.client.name, "hours_logged"), (w.professional.name, "hours_logged")},
    ),
    "confirmed": (confirmed, lambda w: {(w.volunteer.name, "help_confirmed")}),
    "reversed_by_the_office": (
        reversed_by_the_office,
        lambda w: {(w.volunteer.name, "help_reversed"), (w.senior.name, "help_reversed")},
    ),
    "about_to_expire": (about_to_expire, lambda w: {(w.senior.name, "request_expiring")}),
    "welcomed": (welcomed, lambda w: {("Nina Neu", "welcome")}),
}


@pytest.mark.parametrize("event", EVENTS)
async def test_each_event_tells_the_right_people(sessions, world: World, event: str):
    happen, expected = EVENTS[event]
    async with transaction(sessions) as s:
        await happen(s, world)
    async with transaction(sessions) as s:
        rows = (
            await s.exec(
                select(Member.name, Notification.kind).join(
                    Member,
                    Member.id == Notification.member_id,  # type: ignore[arg-type]
                )
            )
        ).all()
    assert sorted(rows) == sorted(expected(world))


async def test_a_reversal_tells_its_reason_in_each_readers_language(sessions, world: World):
    async with transaction(sessions) as s:
        senior = await s.get(Member, world.senior.id)
        senior.language = "tr"  # type: ignore[union-attr]
        s.add(senior)
    async with transaction(sessions) as s:
        await reversed_by_the_office(s, world)
    async with transaction(sessions) as s:
        notes = {n.member_id: n for n in (await s.exec(select(Notification))).all()}
    german, turkish = notes[world.volunteer.id], notes[world.senior.id]
    assert german.subject.startswith("Stunden storniert: Hilfe am")
    assert "Der Grund: Doppelt eingetragen" in german.body
    assert "Gerekçe: Doppelt eingetragen" in turkish.body
    assert (german.language, turkish.language) == ("de", "tr")
