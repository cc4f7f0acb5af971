"""The front door's rules: a visitor's message waits for a person; accepting creates the
member once; spam is kept out without anyone's address being stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World
from timebank import intake, network
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.models import Intake, Member, Organization, utcnow

SENDER = intake.sender_hash("secret", "203.0.113.7")


def visitor(**kw: object) -> intake.Visitor:
    values: dict[str, object] = {
        "kind": "help",
        "name": "Hatice Yilmaz",
        "phone": "0521 123456",
        "language": "tr",
        "consent": True,
    }
    values.update(kw)
    return intake.Visitor(**values)  # type: ignore[arg-type]


async def test_a_message_waits_in_the_queue_with_the_consent_version(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with transaction(sessions) as s:
        sent = await intake.send(s, visitor(district_id=world.north.id), sender=SENDER)
        version = (await network.network_settings(s)).privacy_version
    assert sent is not None
    async with transaction(sessions) as s:
        waiting = await intake.queue(s, world.manager)
        assert [i.name for i in waiting] == ["Hatice Yilmaz"]
        assert waiting[0].consent_version == version
        assert waiting[0].status == "new"
        # Nothing is created before a person decides.
        assert await s.scalar(select(func.count()).where(Member.name == "Hatice Yilmaz")) == 0


async def test_the_address_is_never_kept_only_a_keyed_hash() -> None:
    assert "203.0.113.7" not in SENDER
    assert intake.sender_hash("another secret", "203.0.113.7") != SENDER


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "  "}, "name"),
        ({"phone": "", "email": ""}, "phone"),
        ({"consent": False}, "consent"),
        ({"kind": "organization", "organization_name": ""}, "organization_name"),
        ({"email": "not an address"}, "email"),
        ({"message": "x" * 2001}, "message"),
    ],
)
async def test_a_message_missing_something_is_refused_at_its_field(
    sessions: async_sessionmaker[AsyncSession], world: World, change: dict[str, object], field: str
) -> None:
    async with transaction(sessions) as s:
        with pytest.raises(Invalid) as refused:
            await intake.send(s, visitor(**change), sender=SENDER)
    assert refused.value.field == field


async def test_a_robot_filling_the_honeypot_is_thanked_and_nothing_is_kept(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with transaction(sessions) as s:
        assert await intake.send(s, visitor(honeypot="http://spam.example"), sender=SENDER) is None
    async with transaction(sessions) as s:
        assert await s.scalar(select(func.count()).select_from(Intake)) == 0


async def test_one_sender_may_send_a_few_messages_a_day_not_more(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    limit = network.INTAKES_PER_SENDER_PER_DAY
    async with transaction(sessions) as s:
        for i in range(limit):
            await intake.send(s, visitor(name=f"Person {i}"), sender=SENDER)
        with pytest.raises(Conflict):
            await intake.send(s, visitor(name="One too many"), sender=SENDER)
        # Another sender is not held back by the first one's count...
        assert await intake.send(s, visitor(), sender=intake.sender_hash("secret", "x")) is not None
        # ...and the first may send again a day later.
        later = utcnow() + timedelta(days=1, minutes=1)
        assert await intake.send(s, visitor(), sender=SENDER, now=later) is not None


async def test_accepting_a_person_creates_the_member_once_with_who_and_when(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with transaction(sessions) as s:
        sent = await intake.send(s, visitor(email="hatice@example.org"), sender=SENDER)
        assert sent is not None
        intake_id = sent.id
    async with transaction(sessions) as s:
        await intake.mark_called(s, world.manager, intake_id)  # type: ignore[arg-type]
        accepted, member = await intake.accept(s, world.manager, intake_id)  # type: ignore[arg-type]
    assert isinstance(member, Member)
    assert (member.role, member.language, member.email) == ("senior", "tr", "hatice@example.org")
    assert member.consent_how == "online"
    assert accepted.decided_by_id == world.manager.id and accepted.decided_at is not None
    assert accepted.called_by_id == world.manager.id and accepted.member_id == member.id
    async with transaction(sessions) as s:
        with pytest.raises(Conflict):  # a double click creates nobody twice
            await intake.accept(s, world.manager, intake_id)  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        assert await s.scalar(select(func.count()).where(Member.name == "Hatice Yilmaz")) == 1


async def test_a_volunteer_and_an_organisation_are_welcomed_as_what_they_asked_for(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with transaction(sessions) as s:
        give = await intake.send(s, visitor(kind="give", name="Olaf Berg"), sender=SENDER)
        org = await intake.send(
            s,
            visitor(kind="organization", name="Frau Kaya", organization_name="Seniorenbüro Ost"),
            sender=SENDER,
        )
        assert give is not None and org is not None
        _, volunteer = await intake.accept(s, world.manager, give.id)  # type: ignore[arg-type]
        _, organization = await intake.accept(s, world.manager, org.id)  # type: ignore[arg-type]
    assert isinstance(volunteer, Member) and volunteer.role == "volunteer"
    assert isinstance(organization, Organization) and organization.name == "Seniorenbüro Ost"


async def test_declining_needs_a_note_and_only_the_manager_decides(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with transaction(sessions) as s:
        sent = await intake.send(s, visitor(), sender=SENDER)
        assert sent is not None
        with pytest.raises(Forbidden):
            await intake.accept(s, world.volunteer, sent.id)  # type: ignore[arg-type]
        with pytest.raises(Forbidden):
            await intake.queue(s, world.professional)
        with pytest.raises(Invalid) as refused:
            await intake.decline(s, world.manager, sent.id, "  ")  # type: ignore[arg-type]
        assert refused.value.field == "note"
        declined = await intake.decline(s, world.manager, sent.id, "lives outside the city")  # type: ignore[arg-type]
    assert declined.status == "declined" and declined.decision_note == "lives outside the city"
