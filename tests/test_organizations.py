"""Member organisations (issue 11, point 4): the office adds them with their contact details,
edits and deactivates them — not while their staff are active — and sees their staff,
clients, account and hours. Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.support import World, town_today
from timebank import exchanges, ledger, organizations
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.members import NewMember, create_member
from timebank.models import Member
from timebank.organizations import OrganizationFields


async def test_the_office_adds_an_organisation_with_its_contact_and_account(sessions, world):
    async with transaction(sessions) as s:
        made = await organizations.create(
            s,
            world.manager,
            OrganizationFields(
                name="  Seniorenbüro der Stadt ",
                kind="city",
                contact_person="Frau Wagner",
                address="Rathausplatz 1\n12345 Lindenfeld",
                phone="0621 123",
                email="Senioren@Stadt.example",
            ),
        )
        account = await organizations.account_of(s, made.id)
    assert (made.name, made.kind, made.email, made.active) == (
        "Seniorenbüro der Stadt", "city", "senioren@stadt.example", True,
    )  # fmt: skip
    assert account.kind == "organization" and account.balance_minutes == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (OrganizationFields(name=" "), "name"),
        (OrganizationFields(name="Neu", kind="club"), "kind"),
        (OrganizationFields(name="Neu", email="not an address"), "email"),
        (OrganizationFields(name="Neu", phone="1" * 61), "phone"),
        (OrganizationFields(name="Caritas Nord"), "name"),
    ],
)
async def test_bad_details_are_refused_at_their_field(sessions, world, fields, field):
    with pytest.raises((Invalid, Conflict)) as refused:
        async with transaction(sessions) as s:
            await organizations.create(s, world.manager, fields)
    assert refused.value.field == field


async def test_only_the_manager_adds_or_changes_organisations(sessions, world):
    for actor in (world.professional, world.volunteer):
        with pytest.raises(Forbidden):
            async with transaction(sessions) as s:
                await organizations.create(s, actor, OrganizationFields(name="Neu"))
        with pytest.raises(Forbidden):
            async with transaction(sessions) as s:
                await organizations.update(s, actor, world.org.id, {"phone": "1"})


async def test_an_edit_changes_only_the_fields_given(sessions, world):
    async with transaction(sessions) as s:
        await organizations.update(s, world.manager, world.org.id, {"contact_person": "Herr Ost"})
        changed = await organizations.update(s, world.manager, world.org.id, {"phone": " 0621 9 "})
    assert (changed.name, changed.contact_person, changed.phone) == (
        "Caritas Nord", "Herr Ost", "0621 9",
    )  # fmt: skip


async def test_deactivating_is_refused_while_staff_are_active(sessions, world):
    with pytest.raises(Conflict) as refused:
        async with transaction(sessions) as s:
            await organizations.set_active(s, world.manager, world.org.id, False)
    assert refused.value.field == "active" and refused.value.params == {"count": 1}
    # Once its professional is gone, it is deactivated; its clients stay members.
    async with transaction(sessions) as s:
        await s.exec(update(Member).where(Member.id == world.professional.id).values(active=False))  # type: ignore[call-overload, arg-type]
        org = await organizations.set_active(s, world.manager, world.org.id, False)
        client = await s.get(Member, world.client.id)
    assert not org.active and client is not None and client.active


async def test_a_deactivated_organisation_takes_no_new_member(sessions, world):
    async with transaction(sessions) as s:
        fresh = await organizations.create(s, world.manager, OrganizationFields(name="Leer e.V."))
        await organizations.set_active(s, world.manager, fresh.id, False)
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            await create_member(
                s, NewMember(name="Neu", role="senior", organization_id=fresh.id), actor=None
            )
    assert refused.value.field == "organization_id"


async def test_the_organisation_page_shows_staff_clients_account_and_hours(sessions, world):
    async with transaction(sessions) as s:
        # The client got an hour from a volunteer; the professional gave half an hour.
        for giver, receiver, minutes in (
            (world.volunteer, world.client, 60),
            (world.professional, world.senior, 30),
        ):
            await exchanges.record_exchange(
                s, world.manager, giver_id=giver.id, receiver_id=receiver.id, minutes=minutes,
                performed_on=town_today(), category="visits",
            )  # fmt: skip
        account = await organizations.account_of(s, world.org.id)
        pool = await ledger.pool_account(s)
        await ledger.post_transfer(
            s, from_account_id=pool.id, to_account_id=account.id, minutes=120, kind="adjustment",
            actor=world.manager, override_reason="test",
        )  # fmt: skip
        view = await organizations.view(s, world.manager, world.org.id)
        rows = {r.organization.name: r for r in await organizations.listing(s, world.manager)}
    assert [m.name for m in view.staff] == [world.professional.name]
    assert [m.name for m in view.clients] == [world.client.name] and view.client_count == 1
    assert (view.account.balance_minutes, view.account_in_minutes, view.account_out_minutes) == (
        120, 120, 0,
    )  # fmt: skip
    assert (view.given_minutes, view.received_minutes) == (30, 60)
    caritas = rows["Caritas Nord"]
    assert (caritas.staff, caritas.clients, caritas.balance_minutes) == (1, 1, 120)


async def test_listing_puts_active_organisations_first(sessions, world: World):
    async with transaction(sessions) as s:
        gone = await organizations.create(s, world.manager, OrganizationFields(name="Alt e.V."))
        await organizations.set_active(s, world.manager, gone.id, False)
        names = [r.organization.name for r in await organizations.listing(s, world.manager)]
    assert names == ["Caritas Nord", "Diakonie Süd", "Alt e.V."]
