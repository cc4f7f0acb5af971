"""Members, their accounts and limits, passwords and API tokens (both databases)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, refusal_in
from timebank import i18n, ledger, members, signin
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid, NotFound
from timebank.members import NewMember
from timebank.models import Account, ApiToken, Member

Sessions = async_sessionmaker[AsyncSession]


async def add(sessions: Sessions, new: NewMember, actor: Member | None = None) -> Member:
    async with transaction(sessions) as s:
        return await members.create_member(s, new, actor=actor)


# --- Adding members -------------------------------------------------------------------------


async def test_a_new_member_gets_an_account_with_a_zero_balance(sessions, world):
    member = await add(sessions, NewMember(name=" Hans Huber ", role="senior"), world.manager)
    assert member.name == "Hans Huber"
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
    assert (account.kind, account.balance_minutes) == ("member", 0)


@pytest.mark.parametrize("who", ["volunteer", "senior", "professional"])
async def test_only_the_manager_adds_members(sessions, world, who):
    with pytest.raises(Forbidden):
        await add(sessions, NewMember(name="X", role="senior"), getattr(world, who))


async def test_a_professional_belongs_to_an_organisation(sessions, world):
    with pytest.raises(Invalid) as refused:
        await add(sessions, NewMember(name="P", role="professional"))
    assert refused.value.field == "organization_id"


async def test_emails_are_stored_trimmed_and_lower_case(sessions, world):
    member = await add(sessions, NewMember(name="E", role="volunteer", email=" Eva.Ernst@Web.DE "))
    assert member.email == "eva.ernst@web.de"
    async with transaction(sessions) as s:
        found = await members.member_by_email(s, "EVA.ERNST@web.de ")
    assert found is not None and found.id == member.id


async def test_one_email_one_member_whatever_its_case(sessions, world):
    with pytest.raises(Conflict) as refused:
        await add(sessions, NewMember(name="Twin", role="volunteer", email="VOLKER@example.org"))
    assert refused.value.field == "email"


@pytest.mark.parametrize("email", ["no-at-sign", "a@b", "two@@example.org", "sp ace@example.org"])
async def test_something_that_is_not_an_email_is_refused(sessions, world, email):
    with pytest.raises(Invalid):
        await add(sessions, NewMember(name="X", role="volunteer", email=email))


async def test_an_empty_email_means_none(sessions, world):
    member = await add(sessions, NewMember(name="Ohne Mail", role="senior", email="  "))
    assert member.email is None


async def test_a_district_is_named_by_name_or_id_and_an_unknown_one_is_a_field_error(
    sessions, world
):
    async with transaction(sessions) as s:
        assert await members.district_id_for(s, "Süd") == world.south.id
        assert await members.district_id_for(s, str(world.north.id)) == world.north.id
        assert await members.district_id_for(s, None) is None
        with pytest.raises(Invalid) as refused:
            await members.district_id_for(s, "Atlantis")
    assert refused.value.field == "district"


async def test_an_organisation_gets_its_own_account_and_a_unique_name(sessions, world):
    async with transaction(sessions) as s:
        org = await members.create_organization(s, "Pfarrei St. Anna", "other")
        account = await s.scalar(select(Account).where(Account.organization_id == org.id))
    assert account is not None and account.kind == "organization"
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            await members.create_organization(s, "Pfarrei St. Paul", "parish")
    assert refused.value.field == "kind"
    with pytest.raises(Conflict):
        async with transaction(sessions) as s:
            await members.create_organization(s, "Pfarrei St. Anna")


# --- Who sees a member ------------------------------------------------------------------------


async def test_members_see_themselves_and_staff_the_members_they_act_for(sessions, world):
    async with transaction(sessions) as s:
        assert (await members.member_for(s, world.volunteer, world.volunteer.id)).id == (
            world.volunteer.id
        )
        assert (await members.member_for(s, world.professional, world.client.id)).id == (
            world.client.id
        )
        assert (await members.member_for(s, world.manager, world.senior.id)).id == world.senior.id
        with pytest.raises(Forbidden):
            await members.member_for(s, world.volunteer, world.senior.id)
        with pytest.raises(Forbidden):
            await members.member_for(s, world.outside_professional, world.client.id)
        with pytest.raises(NotFound):
            await members.member_for(s, world.manager, 99999)


# --- Passwords ------------------------------------------------------------------------------


async def test_passwords_are_stored_as_argon2_hashes_and_verified(sessions, world):
    async with transaction(sessions) as s:
        member = await members.get_member(s, world.volunteer.id)  # type: ignore[arg-type]
    assert member.password_hash is not None
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in member.password_hash
    assert members.password_matches(member, PASSWORD)
    assert not members.password_matches(member, PASSWORD.upper())
    assert not members.password_matches(member, "")


async def test_two_members_with_one_password_get_different_hashes(sessions, world):
    first, second = [
        await add(
            sessions,
            NewMember(
                name=n, role="volunteer", email=f"{n}@example.org", password="dasselbe Passwort"
            ),
        )
        for n in ("erste", "zweite")
    ]
    assert first.password_hash != second.password_hash
    assert members.password_matches(first, "dasselbe Passwort")
    assert members.password_matches(second, "dasselbe Passwort")


async def test_a_member_without_a_password_cannot_log_in(sessions, world):
    assert world.client.password_hash is None
    assert not members.password_matches(world.client, "")
    assert not world.client.can_log_in


async def test_a_short_password_is_refused(sessions, world):
    with pytest.raises(Invalid) as refused:
        await add(
            sessions,
            NewMember(name="K", role="volunteer", email="k@example.org", password="1234567"),
        )
    assert refused.value.field == "password"


async def test_members_change_their_own_password_and_only_the_manager_anyone_elses(sessions, world):
    async with transaction(sessions) as s:
        me = await members.get_member(s, world.volunteer.id)  # type: ignore[arg-type]
        await members.set_password(s, me, "ein neues Passwort", actor=me)
    assert members.password_matches(me, "ein neues Passwort")
    assert not members.password_matches(me, PASSWORD)
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            senior = await members.get_member(s, world.senior.id)  # type: ignore[arg-type]
            await members.set_password(s, senior, "fremdes Passwort", actor=world.volunteer)
    async with transaction(sessions) as s:
        senior = await members.get_member(s, world.senior.id)  # type: ignore[arg-type]
        await members.set_password(s, senior, "vom Büro gesetzt", actor=world.manager)
    assert members.password_matches(senior, "vom Büro gesetzt")


async def test_a_password_reset_signs_the_member_out_of_every_browser(sessions, world):
    async with transaction(sessions) as s:
        _, old_token = await signin.sign_in(
            s, "sieglinde@example.org", PASSWORD, address="127.0.0.1"
        )
    async with transaction(sessions) as s:
        assert await signin.member_for_session(s, old_token) is not None
        senior = await members.get_member(s, world.senior.id)  # type: ignore[arg-type]
        await members.set_password(s, senior, "vom Büro neu gesetzt", actor=world.manager)
    async with transaction(sessions) as s:
        assert await signin.member_for_session(s, old_token) is None
        _, new_token = await signin.sign_in(
            s, "sieglinde@example.org", "vom Büro neu gesetzt", address="127.0.0.1"
        )
        assert await signin.member_for_session(s, new_token) is not None


# --- API tokens -----------------------------------------------------------------------------


async def test_a_token_is_stored_only_as_its_sha256(sessions, world):
    async with transaction(sessions) as s:
        token = await members.create_token(s, world.volunteer, "laptop")
    async with transaction(sessions) as s:
        rows = (await s.exec(select(ApiToken))).all()
        dumped = " ".join(
            str(value)
            for row in (await s.exec(text("SELECT * FROM api_tokens"))).all()  # type: ignore[call-overload]
            for value in row
        )
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in dumped


async def test_a_token_names_its_member_until_revoked(sessions, world):
    async with transaction(sessions) as s:
        token = await members.create_token(s, world.volunteer)
    async with transaction(sessions) as s:
        found = await members.member_for_token(s, token)
        assert found is not None and found.id == world.volunteer.id
        assert await members.member_for_token(s, token + "x") is None
        await members.revoke_tokens(s, found)
    async with transaction(sessions) as s:
        assert await members.member_for_token(s, token) is None


async def test_an_inactive_members_token_no_longer_works(sessions, world):
    async with transaction(sessions) as s:
        token = await members.create_token(s, world.senior)
    async with transaction(sessions) as s:
        senior = await members.get_member(s, world.senior.id)  # type: ignore[arg-type]
        senior.active = False
        s.add(senior)
    async with transaction(sessions) as s:
        assert await members.member_for_token(s, token) is None
        with pytest.raises(Invalid):
            await members.create_token(s, senior)


# --- Accounts and their limits ----------------------------------------------------------------


async def account_of(sessions: Sessions, member: Member) -> int:
    async with transaction(sessions) as s:
        return (await ledger.account_of_member(s, member.id)).id  # type: ignore[arg-type, return-value]


async def test_an_account_shows_the_network_default_limits_until_overridden(sessions, world):
    account_id = await account_of(sessions, world.senior)
    async with transaction(sessions) as s:
        view = await members.account_view(s, world.senior, account_id)
    assert (view.limits.min_minutes, view.limits.max_minutes) == (-20 * 60, 100 * 60)
    async with transaction(sessions) as s:
        changed = await members.set_account_limits(
            s, world.manager, account_id, {"min_minutes": -300}
        )
    assert (changed.limits.min_minutes, changed.limits.max_minutes) == (-300, 100 * 60)
    assert (changed.account.min_minutes, changed.account.max_minutes) == (-300, None)
    async with transaction(sessions) as s:
        reset = await members.set_account_limits(
            s, world.manager, account_id, {"min_minutes": None}
        )
    assert reset.limits.min_minutes == -20 * 60


@pytest.mark.parametrize(
    "changes",
    [{"min_minutes": 1}, {"max_minutes": -1}, {"min_minutes": -(10**9)}, {"balance_minutes": 5}],
)
async def test_limits_that_make_no_sense_are_refused(sessions, world, changes):
    account_id = await account_of(sessions, world.senior)
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            await members.set_account_limits(s, world.manager, account_id, changes)
    assert refused.value.field == next(iter(changes))


@pytest.mark.parametrize("who", ["senior", "professional", "volunteer"])
async def test_only_the_manager_changes_limits(sessions, world, who):
    account_id = await account_of(sessions, world.senior)
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await members.set_account_limits(
                s, getattr(world, who), account_id, {"min_minutes": -(10**4)}
            )


async def test_an_account_is_seen_by_its_owner_their_staff_and_the_manager(sessions, world):
    client_account = await account_of(sessions, world.client)
    async with transaction(sessions) as s:
        for viewer in (world.professional, world.manager):
            assert (await members.get_account(s, viewer, client_account)).id == client_account
        for stranger in (world.volunteer, world.senior, world.outside_professional):
            with pytest.raises(Forbidden):
                await members.get_account(s, stranger, client_account)
        with pytest.raises(NotFound):
            await members.get_account(s, world.manager, 99999)


# --- Refusals in the reader's language ---------------------------------------------------------


async def test_a_refused_email_is_named_in_german_and_turkish(sessions, world):
    with pytest.raises(Invalid) as refused:
        await add(sessions, NewMember(name="X", role="volunteer", email="kein-at-zeichen"))
    assert "„kein-at-zeichen“ ist keine E-Mail-Adresse" in refusal_in("de", refused.value)
    turkish = refusal_in("tr", refused.value)
    assert "kein-at-zeichen" in turkish and "e-posta adresi değil" in turkish


async def test_limits_out_of_range_are_refused_in_hours_not_minutes(sessions, world):
    account_id = await account_of(sessions, world.senior)
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            await members.set_account_limits(
                s, world.manager, account_id, {"min_minutes": -(10**9)}
            )
    german = refusal_in("de", refused.value)
    lowest = i18n.hours_and_minutes(-members.MAX_LIMIT, "de")
    assert german.startswith("Diese Grenze muss zwischen") and lowest in german
    assert "min_minutes" not in german and str(members.MAX_LIMIT) not in german
    assert i18n.hours_and_minutes(-members.MAX_LIMIT, "tr") in refusal_in("tr", refused.value)


async def test_unknown_places_and_roles_are_refused_in_the_readers_language(sessions, world):
    with pytest.raises(Invalid) as no_district:
        async with transaction(sessions) as s:
            await members.district_id_for(s, "Atlantis")
    assert "Stadtteil „Atlantis“ gibt es nicht" in refusal_in("de", no_district.value)
    assert "Atlantis" in refusal_in("tr", no_district.value)
    with pytest.raises(Invalid) as no_role:
        await add(sessions, NewMember(name="X", role="king"))
    # The sentence names no codes; the API answer lists them.
    assert "eine Rolle aus der Liste" in refusal_in("de", no_role.value)
    assert "bir rol seçiniz" in refusal_in("tr", no_role.value)
    assert "volunteer" in no_role.value.extra["allowed"]
    with pytest.raises(Invalid) as short:
        await add(
            sessions, NewMember(name="X", role="senior", email="x@example.org", password="kurz")
        )
    assert "mindestens 8 Zeichen" in refusal_in("de", short.value)
    assert "en az 8 karakter" in refusal_in("tr", short.value)
