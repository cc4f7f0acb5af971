"""A professional's clients: the list with what waits for each, and adding a client without
email with their paper consent recorded (issue 9, point 6), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import refusal_in, town_today
from timebank import board, clients, exchanges
from timebank.db import transaction
from timebank.errors import Forbidden, Invalid
from timebank.members import NewMember, category_by_slug, create_member
from timebank.models import Member, id_of

Sessions = async_sessionmaker[AsyncSession]


def hilde(world) -> clients.NewClient:  # type: ignore[no-untyped-def]
    return clients.NewClient(
        name="Hilde Hoffmann",
        district_id=world.south.id,
        phone="0511 123456",
        language="tr",
        street="Lindenstraße 4",
        postcode="30159",
        town="Hannover",
        consent_on_paper=True,
    )


async def test_the_list_shows_each_client_with_balance_pending_help_and_requests(sessions, world):
    async with transaction(sessions) as s:
        # Someone of the other organisation is not on Paula's list.
        await create_member(
            s,
            NewMember(name="Olga Ostrowski", role="senior", organization_id=world.other_org.id),
            actor=None,
        )
        await exchanges.record_exchange(
            s,
            world.professional,
            giver_id=id_of(world.volunteer),
            receiver_id=id_of(world.client),
            minutes=90,
            performed_on=town_today(),
            category="visits",
        )
        await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=id_of(world.volunteer),
            receiver_id=id_of(world.client),
            minutes=30,
            performed_on=town_today(),
            category="visits",
        )
        shopping = await category_by_slug(s, "shopping")
        await board.create_request(
            s,
            world.professional,
            member_id=id_of(world.client),
            category_id=id_of(shopping),
            title="Einkauf",
        )
    async with transaction(sessions) as s:
        rows = await clients.my_clients(s, world.professional)
    assert [r.member.name for r in rows] == ["Karl Klient"]
    [karl] = rows
    assert (karl.balance_minutes, karl.pending, karl.open_requests) == (-90, 1, 1)
    assert karl.district_name == "Nord"


async def test_only_professionals_of_an_organisation_have_a_client_list(sessions, world):
    async with transaction(sessions) as s:
        for other in (world.volunteer, world.senior, world.manager):
            with pytest.raises(Forbidden):
                await clients.my_clients(s, other)
            with pytest.raises(Forbidden):
                await clients.add_client(s, other, hilde(world))


async def test_a_client_without_email_is_added_with_the_consent_recorded(sessions, world):
    async with transaction(sessions) as s:
        added = await clients.add_client(s, world.professional, hilde(world))
    assert (added.role, added.email, added.password_hash) == ("senior", None, None)
    assert (added.organization_id, added.district_id) == (world.org.id, world.south.id)
    assert (added.language, added.phone) == ("tr", "0511 123456")
    assert (added.street, added.postcode, added.town) == ("Lindenstraße 4", "30159", "Hannover")
    assert added.consent_how == "paper"
    assert added.consent_by_id == world.professional.id
    assert added.consent_at is not None
    async with transaction(sessions) as s:
        names = [r.member.name for r in await clients.my_clients(s, world.professional)]
    assert names == ["Hilde Hoffmann", "Karl Klient"]


async def members_count(sessions: Sessions) -> int:
    async with transaction(sessions) as s:
        return int(await s.scalar(select(func.count()).select_from(Member)) or 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consent_on_paper": False}, "consent"),
        ({"district_id": None}, "district_id"),
        ({"name": "  "}, "name"),
        ({"street": "x" * 201}, "street"),
        ({"language": "xx"}, "language"),
    ],
)
async def test_a_client_is_refused_at_the_field_and_nothing_is_written(
    sessions, world, change, field
):
    before = await members_count(sessions)
    new = hilde(world)
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            await clients.add_client(
                s, world.professional, clients.NewClient(**{**new.__dict__, **change})
            )
    assert refused.value.field == field
    refusal_in("de", refused.value)
    assert await members_count(sessions) == before
