"""The manager's directory: members with balances, keyset paging, exchanges to look at,
transfers to correct, member details, categories and districts (both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import refusal_in, town_today
from timebank import directory, exchanges, ledger
from timebank.db import transaction
from timebank.directory import MemberChanges
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.members import NewMember, create_member
from timebank.models import Flag, Member

Sessions = async_sessionmaker[AsyncSession]


async def members_page(sessions: Sessions, actor: Member, **kw: object) -> directory.MemberPage:
    async with transaction(sessions) as s:
        return await directory.list_members(s, actor, **kw)  # type: ignore[arg-type]


def names(page: directory.MemberPage) -> list[str]:
    return [row.member.name for row in page.rows]


async def give(sessions: Sessions, world, giver: Member, receiver: Member, minutes: int) -> None:
    async with transaction(sessions) as s:
        await ledger.post_transfer(
            s,
            from_account_id=(await ledger.account_of_member(s, receiver.id)).id,  # type: ignore[arg-type]
            to_account_id=(await ledger.account_of_member(s, giver.id)).id,  # type: ignore[arg-type]
            minutes=minutes,
            kind="adjustment",
            actor=world.manager,
        )


# --- Who may look --------------------------------------------------------------------------------


async def test_only_the_manager_sees_the_directory(sessions, world):
    for actor in (world.volunteer, world.professional, world.senior):
        async with transaction(sessions) as s:
            with pytest.raises(Forbidden):
                await directory.list_members(s, actor)
            with pytest.raises(Forbidden):
                await directory.pending_exchanges(s, actor)
            with pytest.raises(Forbidden):
                await directory.transfers(s, actor)
            with pytest.raises(Forbidden):
                await directory.add_district(s, actor, "Mitte")


# --- Members with balances ----------------------------------------------------------------------


async def test_the_directory_shows_balances_and_sorts_by_them(sessions, world):
    await give(sessions, world, world.volunteer, world.senior, 150)
    await give(sessions, world, world.volunteer2, world.client, 30)
    page = await members_page(sessions, world.manager, sort="-balance")
    balances = {row.member.name: row.balance_minutes for row in page.rows}
    assert balances["Volker Vogel"] == 150
    assert balances["Sieglinde Sommer"] == -150
    assert names(page)[:2] == ["Volker Vogel", "Vera Wolf"]
    assert names(page)[-1] == "Sieglinde Sommer"
    ascending = await members_page(sessions, world.manager, sort="balance")
    assert names(ascending)[0] == "Sieglinde Sommer"
    assert page.total == len(world.all())


async def test_the_directory_filters_by_role_organisation_district_and_name(sessions, world):
    assert set(names(await members_page(sessions, world.manager, role="senior"))) == {
        "Sieglinde Sommer",
        "Karl Klient",
    }
    by_org = await members_page(sessions, world.manager, organization_id=world.org.id)
    assert set(names(by_org)) == {"Karl Klient", "Paula Profi"}
    assert by_org.rows[0].organization_name == "Caritas Nord"
    north = await members_page(sessions, world.manager, district_id=world.north.id)
    assert set(names(north)) == {"Volker Vogel", "Karl Klient"}
    assert {row.district_name for row in north.rows} == {"Nord"}
    assert names(await members_page(sessions, world.manager, search="VOGEL")) == ["Volker Vogel"]
    with pytest.raises(Invalid):
        await members_page(sessions, world.manager, role="king")
    with pytest.raises(Invalid):
        await members_page(sessions, world.manager, sort="shoe_size")


async def test_only_flags_that_ask_for_attention_mark_a_member(sessions, world):
    async with transaction(sessions) as s:
        s.add(Flag(member_id=world.senior.id, kind="takes_without_giving", status="open"))  # type: ignore[arg-type]
        s.add(Flag(member_id=world.volunteer.id, kind="inactive", status="resolved"))  # type: ignore[arg-type]
        s.add(Flag(member_id=world.client.id, kind="near_limit", status="snoozed"))  # type: ignore[arg-type]
    flagged = await members_page(sessions, world.manager, flagged=True)
    assert names(flagged) == ["Sieglinde Sommer"]
    everyone = await members_page(sessions, world.manager)
    assert {r.member.name for r in everyone.rows if r.flagged} == {"Sieglinde Sommer"}


# --- Keyset paging --------------------------------------------------------------------------------


async def add_crowd(sessions: Sessions, world, count: int) -> None:
    """Members with repeated names, join dates and balances, so ties must be broken by id."""
    async with transaction(sessions) as s:
        crowd = [
            await create_member(
                s,
                NewMember(
                    name=f"Helfer {n % 4}",
                    role="volunteer",
                    joined_on=date(2024, 1, 1) + timedelta(days=n % 3),
                ),
                actor=None,
            )
            for n in range(count)
        ]
    for n, member in enumerate(crowd):
        if n % 2:
            await give(sessions, world, member, world.senior, 30 * (n % 5 + 1))


async def walk(sessions: Sessions, actor: Member, sort: str, per_page: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = await members_page(sessions, actor, sort=sort, after=cursor, per_page=per_page)
        pages.append([row.member.id for row in page.rows])
        if page.next_cursor is None:
            return pages
        assert len(page.rows) == per_page
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", directory.SORTS)
async def test_keyset_pages_walk_every_member_once_in_order_both_ways(sessions, world, sort):
    await add_crowd(sessions, world, 13)
    everyone = await members_page(sessions, world.manager, sort=sort, per_page=200)
    order = [row.member.id for row in everyone.rows]
    assert len(order) == 20 and everyone.next_cursor is None

    forward = await walk(sessions, world.manager, sort, per_page=3)
    assert [m for page in forward for m in page] == order
    assert [len(p) for p in forward] == [3, 3, 3, 3, 3, 3, 2]

    # Back from the last page, using each page's previous cursor.
    last = await members_page(
        sessions, world.manager, sort=sort, per_page=3, after=None, before=None
    )
    cursor = last.next_cursor
    while cursor:
        last = await members_page(sessions, world.manager, sort=sort, per_page=3, after=cursor)
        cursor = last.next_cursor
    backward = [[row.member.id for row in last.rows]]
    cursor = last.previous_cursor
    while cursor:
        page = await members_page(sessions, world.manager, sort=sort, per_page=3, before=cursor)
        backward.insert(0, [row.member.id for row in page.rows])
        cursor = page.previous_cursor
    assert backward == forward


async def test_balances_in_order_are_really_sorted(sessions, world):
    await add_crowd(sessions, world, 10)
    pages = []
    cursor = None
    while True:
        page = await members_page(
            sessions, world.manager, sort="-balance", per_page=4, after=cursor
        )
        pages.extend((row.balance_minutes, row.member.id) for row in page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [b for b, _ in pages] == sorted((b for b, _ in pages), reverse=True)
    assert len(set(pages)) == len(pages) == 17


async def test_the_first_page_has_no_previous_and_a_filtered_walk_stays_filtered(sessions, world):
    await add_crowd(sessions, world, 5)
    first = await members_page(sessions, world.manager, role="volunteer", per_page=2)
    assert first.previous_cursor is None and first.next_cursor is not None
    second = await members_page(
        sessions, world.manager, role="volunteer", per_page=2, after=first.next_cursor
    )
    assert second.previous_cursor is not None
    assert {row.member.role for row in first.rows + second.rows} == {"volunteer"}
    assert first.total == second.total == 7


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "WzEsIDJd", "WyJhIiwgInRleHQiXQ"])
async def test_a_damaged_page_link_is_a_clear_error(sessions, world, cursor):
    with pytest.raises(Invalid) as caught:
        await members_page(sessions, world.manager, sort="joined", after=cursor)
    assert "damaged" in caught.value.detail


# --- Exchanges and transfers ----------------------------------------------------------------------


async def test_pending_and_disputed_exchanges_are_listed_for_the_manager(sessions, world):
    today = town_today()
    async with transaction(sessions) as s:
        waiting = await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=60,
            performed_on=today,
            category="shopping",
        )
        disputed = await exchanges.record_exchange(
            s,
            world.volunteer2,
            giver_id=world.volunteer2.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=90,
            performed_on=today,
            category="garden",
        )
        await exchanges.reject_exchange(
            s,
            world.senior,
            disputed.exchange.id,  # type: ignore[arg-type]
            reason="war nicht da",
        )
    async with transaction(sessions) as s:
        pending = await directory.pending_exchanges(s, world.manager)
        rejected = await directory.disputed_exchanges(s, world.manager)
    assert [(x.exchange.id, x.giver_name, x.receiver_name) for x in pending.items] == [
        (waiting.exchange.id, "Volker Vogel", "Sieglinde Sommer")
    ]
    assert [(x.exchange.reject_reason, x.category.slug) for x in rejected.items] == [
        ("war nicht da", "garden")
    ]


async def test_transfers_show_who_paid_whom_and_what_is_already_reversed(sessions, world):
    await give(sessions, world, world.volunteer, world.senior, 60)
    await give(sessions, world, world.volunteer2, world.senior, 30)
    async with transaction(sessions) as s:
        lines = await directory.transfers(s, world.manager)
        first = lines[-1]
        assert (first.from_name, first.to_name, first.reversible) == (
            "Sieglinde Sommer",
            "Volker Vogel",
            True,
        )
        await exchanges.reverse_exchange_transfer(
            s,
            world.manager,
            first.transfer.id,  # type: ignore[arg-type]
            reason="doppelt gebucht",
        )
    async with transaction(sessions) as s:
        lines = await directory.transfers(s, world.manager)
        account = await ledger.account_of_member(s, world.volunteer2.id)  # type: ignore[arg-type]
        own = await directory.transfers(s, world.manager, account_id=account.id)
        older = await directory.transfers(s, world.manager, before_id=lines[0].transfer.id)
    reversal, second, original = lines
    assert reversal.transfer.reverses_id == original.transfer.id and not reversal.reversible
    assert original.reversed_by_id == reversal.transfer.id and not original.reversible
    assert second.reversible
    assert [line.transfer.id for line in own] == [second.transfer.id]
    assert [line.transfer.id for line in older] == [second.transfer.id, original.transfer.id]


# --- Member details -----------------------------------------------------------------------------


async def test_the_manager_edits_a_member_and_their_kinds_of_help(sessions, world):
    async with transaction(sessions) as s:
        member = await directory.update_member(
            s,
            world.manager,
            world.volunteer.id,  # type: ignore[arg-type]
            MemberChanges(
                name=" Volker Vogel-Neu ",
                role="volunteer",
                email="Neu@Example.org",
                district_id=world.south.id,
                language="en",
                category_ids=(1, 2, 2),
            ),
        )
    assert (member.name, member.email, member.district_id, member.language) == (
        "Volker Vogel-Neu",
        "neu@example.org",
        world.south.id,
        "en",
    )
    async with transaction(sessions) as s:
        assert sorted(await directory.category_ids_of(s, world.volunteer.id)) == [1, 2]  # type: ignore[arg-type]
        await directory.update_member(
            s,
            world.manager,
            world.volunteer.id,  # type: ignore[arg-type]
            MemberChanges(
                name="Volker", role="volunteer", email="neu@example.org", category_ids=(3,)
            ),
        )
        assert await directory.category_ids_of(s, world.volunteer.id) == [3]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"name": "  "}, "name", Invalid),
        ({"role": "king"}, "role", Invalid),
        ({"role": "professional"}, "organization_id", Invalid),
        ({"district_id": 999}, "district_id", Invalid),
        ({"email": "vera@example.org"}, "email", Conflict),
        ({"email": None}, "email", Invalid),  # he logs in: he keeps an address
        ({"category_ids": (999,)}, "category_ids", Invalid),
    ],
)
async def test_a_bad_edit_names_its_field_and_changes_nothing(
    sessions, world, changes, field, error
):
    base = {"name": "Volker Vogel", "role": "volunteer", "email": "volker@example.org"}
    with pytest.raises(error) as caught:
        async with transaction(sessions) as s:
            await directory.update_member(
                s,
                world.manager,
                world.volunteer.id,  # type: ignore[arg-type]
                MemberChanges(**{**base, **changes}),  # type: ignore[arg-type]
            )
    assert caught.value.field == field
    async with transaction(sessions) as s:
        again = await s.scalar(select(Member).where(Member.id == world.volunteer.id))
    assert (again.name, again.role, again.email) == (
        "Volker Vogel",
        "volunteer",
        "volker@example.org",
    )  # type: ignore[union-attr]


async def test_the_manager_cannot_demote_themselves(sessions, world):
    async with transaction(sessions) as s:
        with pytest.raises(Invalid):
            await directory.update_member(
                s,
                world.manager,
                world.manager.id,  # type: ignore[arg-type]
                MemberChanges(name="M", role="volunteer", email="manager@example.org"),
            )


# --- Categories and districts ---------------------------------------------------------------------


async def test_categories_are_added_renamed_and_deactivated(sessions, world):
    async with transaction(sessions) as s:
        pets = await directory.add_category(
            s, world.manager, slug="Pets", name_de="Haustiere", name_en="Pets"
        )
        with pytest.raises(Conflict):
            await directory.add_category(s, world.manager, slug="pets", name_de="X", name_en="X")
        with pytest.raises(Invalid) as caught:
            await directory.add_category(
                s, world.manager, slug="two words", name_de="X", name_en="X"
            )
        assert caught.value.field == "slug"
        with pytest.raises(Invalid) as caught:
            await directory.add_category(s, world.manager, slug="ok", name_de="", name_en="X")
        assert caught.value.field == "name_de"
    assert pets.slug == "pets"
    async with transaction(sessions) as s:
        await directory.rename_category(
            s,
            world.manager,
            pets.id,
            name_de="Tiere",
            name_en="Animals",  # type: ignore[arg-type]
        )
        await directory.set_category_active(s, world.manager, pets.id, False)  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        listed = {c.slug: c for c in await directory.all_categories(s)}
    assert (listed["pets"].name_de, listed["pets"].active) == ("Tiere", False)
    assert listed["pets"].position > listed["shopping"].position


async def test_districts_are_added_renamed_and_deactivated_with_unique_names(sessions, world):
    async with transaction(sessions) as s:
        mitte = await directory.add_district(s, world.manager, " Mitte ")
        with pytest.raises(Conflict):
            await directory.add_district(s, world.manager, "nord")
        with pytest.raises(Conflict):
            await directory.rename_district(s, world.manager, mitte.id, "Süd")  # type: ignore[arg-type]
        await directory.rename_district(s, world.manager, mitte.id, "Stadtmitte")  # type: ignore[arg-type]
        await directory.set_district_active(s, world.manager, world.south.id, False)  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        listed = {d.name: d.active for d in await directory.all_districts(s)}
    assert listed == {"Nord": True, "Stadtmitte": True, "Süd": False}


# --- Refusals in the reader's language ---------------------------------------------------------


async def test_the_managers_lists_refuse_in_german_and_turkish_with_the_values(sessions, world):
    async with transaction(sessions) as s:
        with pytest.raises(Invalid) as long_name:
            await directory.add_category(
                s, world.manager, slug="pets", name_de="x" * 121, name_en="Pets"
            )
        with pytest.raises(Conflict) as twice:
            await directory.add_district(s, world.manager, "nord")
        with pytest.raises(Invalid) as sort:
            await directory.list_members(s, world.manager, sort="shoe size")
    assert "höchstens 120 Zeichen" in refusal_in("de", long_name.value)
    assert "en fazla 120 karakter" in refusal_in("tr", long_name.value)
    # The name as the manager typed it, in the quotes of the reader's language.
    assert "Stadtteil mit dem Namen „nord“" in refusal_in("de", twice.value)
    assert "nord" in refusal_in("tr", twice.value) and "semt" in refusal_in("tr", twice.value)
    assert "Sortierung" in refusal_in("de", sort.value) and sort.value.extra["allowed"]
    assert "sıralama" in refusal_in("tr", sort.value)
