"""The board's rules: asking for help, answering, accepting, offers, expiry and matching
(both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import refusal_in, town_today
from timebank import board, exchanges
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid, NotFound
from timebank.members import NewMember, category_by_slug, create_member
from timebank.models import HelpRequest, Member

Sessions = async_sessionmaker[AsyncSession]
TODAY = date(2026, 6, 1)


async def category_id(sessions: Sessions, slug: str) -> int:
    async with transaction(sessions) as s:
        return (await category_by_slug(s, slug)).id  # type: ignore[return-value]


async def ask(
    sessions: Sessions, actor: Member, member: Member, slug: str = "shopping", **kw: object
) -> HelpRequest:
    cat = await category_id(sessions, slug)
    kw.setdefault("title", "Einkaufen am Samstag")
    kw.setdefault("today", TODAY)
    async with transaction(sessions) as s:
        return await board.create_request(
            s,
            actor,
            member_id=member.id,  # type: ignore[arg-type]
            category_id=cat,
            **kw,  # type: ignore[arg-type]
        )


async def respond(sessions: Sessions, helper: Member, request: HelpRequest) -> None:
    async with transaction(sessions) as s:
        await board.respond(s, helper, request.id, message="Ich komme gern", today=TODAY)  # type: ignore[arg-type]


async def board_titles(sessions: Sessions, actor: Member, **kw: object) -> list[str]:
    kw.setdefault("today", TODAY)
    async with transaction(sessions) as s:
        page = await board.open_requests(s, actor, **kw)  # type: ignore[arg-type]
    return [card.request.title for card in page.items]


# --- Asking for help --------------------------------------------------------------------------


async def test_a_senior_asks_for_help_in_their_own_district_for_thirty_days(sessions, world):
    request = await ask(sessions, world.client, world.client, title="  Zum Arzt  ")
    assert request.status == "open"
    assert request.title == "Zum Arzt"
    assert request.district_id == world.north.id
    assert request.entered_by_id == world.client.id
    assert request.expires_on == TODAY + timedelta(days=board.DEFAULT_EXPIRY_DAYS)


async def test_a_request_for_a_given_day_expires_on_that_day(sessions, world):
    needed = TODAY + timedelta(days=3)
    request = await ask(sessions, world.senior, world.senior, needed_on=needed)
    assert request.expires_on == needed


async def test_staff_ask_for_the_members_they_act_for_and_nobody_else(sessions, world):
    request = await ask(sessions, world.professional, world.client)
    assert (request.member_id, request.entered_by_id) == (world.client.id, world.professional.id)
    await ask(sessions, world.manager, world.senior)
    for outsider in (world.outside_professional, world.volunteer):
        with pytest.raises(Forbidden):
            await ask(sessions, outsider, world.client)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"urgency": "panic"}, "urgency"),
        ({"expires_on": TODAY - timedelta(days=1)}, "expires_on"),
        ({"needed_on": TODAY - timedelta(days=1)}, "needed_on"),
        ({"district_id": 9999}, "district_id"),
    ],
)
async def test_bad_input_names_the_field_and_saves_nothing(sessions, world, kw, field):
    with pytest.raises(Invalid) as caught:
        await ask(sessions, world.senior, world.senior, **kw)
    assert caught.value.field == field
    assert await board_titles(sessions, world.volunteer) == []


async def test_an_unknown_category_is_refused(sessions, world):
    async with transaction(sessions) as s:
        with pytest.raises(Invalid) as caught:
            await board.create_request(
                s, world.senior, member_id=world.senior.id, category_id=9999, title="Hilfe"
            )
    assert caught.value.field == "category_id"


# --- The board --------------------------------------------------------------------------------


async def test_the_board_filters_by_category_district_and_words(sessions, world):
    await ask(sessions, world.client, world.client, "shopping", title="Wocheneinkauf")
    await ask(sessions, world.senior, world.senior, "garden", title="Hecke schneiden")
    await ask(
        sessions,
        world.senior,
        world.senior,
        "tech",
        title="Handy einrichten",
        description="Neues Smartphone, 100% ratlos",
        district_id=world.south.id,
    )
    volunteer = world.volunteer
    assert await board_titles(sessions, volunteer) == [
        "Handy einrichten",
        "Hecke schneiden",
        "Wocheneinkauf",
    ]
    garden = await category_id(sessions, "garden")
    assert await board_titles(sessions, volunteer, category_id=garden) == ["Hecke schneiden"]
    assert await board_titles(sessions, volunteer, district_id=world.north.id) == ["Wocheneinkauf"]
    assert await board_titles(sessions, volunteer, search="HECKE") == ["Hecke schneiden"]
    assert await board_titles(sessions, volunteer, search="smartphone") == ["Handy einrichten"]
    # "%" is a letter to search for, not a wildcard.
    assert await board_titles(sessions, volunteer, search="0% rat") == ["Handy einrichten"]
    assert await board_titles(sessions, volunteer, search="%") == ["Handy einrichten"]


async def test_the_board_pages_and_counts(sessions, world):
    for n in range(5):
        await ask(sessions, world.senior, world.senior, title=f"Bitte {n}")
    async with transaction(sessions) as s:
        first = await board.open_requests(s, world.volunteer, per_page=2, today=TODAY)
        last = await board.open_requests(s, world.volunteer, page=3, per_page=2, today=TODAY)
    assert (first.total, first.pages, first.has_next, first.has_previous) == (5, 3, True, False)
    assert [c.request.title for c in first.items] == ["Bitte 4", "Bitte 3"]
    assert [c.request.title for c in last.items] == ["Bitte 0"]
    assert (last.has_next, last.has_previous) == (False, True)


async def test_a_request_past_its_expiry_leaves_the_board_unless_asked_for(sessions, world):
    await ask(sessions, world.senior, world.senior, title="Bald", expires_on=TODAY)
    await ask(sessions, world.senior, world.senior, title="Später")
    tomorrow = TODAY + timedelta(days=1)
    assert await board_titles(sessions, world.volunteer, today=TODAY) == ["Später", "Bald"]
    assert await board_titles(sessions, world.volunteer, today=tomorrow) == ["Später"]
    assert await board_titles(sessions, world.volunteer, today=tomorrow, include_expired=True) == [
        "Später",
        "Bald",
    ]


async def test_expire_past_marks_old_requests_and_offers(sessions, world):
    old = await ask(sessions, world.senior, world.senior, title="Alt", expires_on=TODAY)
    fresh = await ask(sessions, world.senior, world.senior, title="Neu")
    shopping = await category_id(sessions, "shopping")
    async with transaction(sessions) as s:
        offer = await board.create_offer(
            s,
            world.volunteer,
            member_id=world.volunteer.id,
            category_id=shopping,
            title="Ich kaufe ein",
            expires_on=TODAY,
            today=TODAY,
        )
    async with transaction(sessions) as s:
        changed = await board.expire_past(s, today=TODAY + timedelta(days=1))
    assert changed == 2
    async with transaction(sessions) as s:
        assert (await s.get(HelpRequest, old.id)).status == "expired"  # type: ignore[union-attr]
        assert (await s.get(HelpRequest, fresh.id)).status == "open"  # type: ignore[union-attr]
        mine = await board.offers_of(s, world.volunteer, world.volunteer.id)  # type: ignore[arg-type]
    assert [c.offer.id for c in mine] == [offer.id]
    assert mine[0].offer.status == "expired"


async def test_a_helper_sees_the_requests_of_their_categories_and_district(sessions, world):
    shopping = await category_id(sessions, "shopping")
    async with transaction(sessions) as s:
        helper = await create_member(
            s,
            NewMember(
                name="Hanna Helfer",
                role="volunteer",
                district_id=world.north.id,
                category_ids=(shopping,),
            ),
            actor=None,
        )
    await ask(sessions, world.client, world.client, "shopping", title="Einkauf Nord")
    await ask(sessions, world.client, world.client, "garden", title="Garten Nord")
    await ask(sessions, world.senior, world.senior, "shopping", title="Einkauf ohne Bezirk")
    await ask(
        sessions,
        world.senior,
        world.senior,
        "shopping",
        title="Einkauf Süd",
        district_id=world.south.id,
    )
    await ask(sessions, helper, helper, "shopping", title="Mein eigener Einkauf")
    async with transaction(sessions) as s:
        fits = await board.requests_for_helper(s, helper, today=TODAY)
        # No categories chosen: every kind of help, still only their district.
        anything = await board.requests_for_helper(s, world.volunteer, today=TODAY)
    assert sorted(c.request.title for c in fits) == ["Einkauf Nord", "Einkauf ohne Bezirk"]
    assert sorted(c.request.title for c in anything) == [
        "Einkauf Nord",
        "Einkauf ohne Bezirk",
        "Garten Nord",
        "Mein eigener Einkauf",
    ]


# --- Answering and accepting --------------------------------------------------------------------


async def test_a_helper_responds_once_and_never_to_their_own_request(sessions, world):
    request = await ask(sessions, world.senior, world.senior)
    await respond(sessions, world.volunteer, request)
    with pytest.raises(Conflict):
        await respond(sessions, world.volunteer, request)
    with pytest.raises(Forbidden):
        await respond(sessions, world.senior, request)
    async with transaction(sessions) as s:
        rows = await board.responses_to(s, world.senior, request.id)  # type: ignore[arg-type]
        card = await board.get_request(s, world.volunteer2, request.id)  # type: ignore[arg-type]
    assert [(r.helper.id, r.response.message) for r in rows] == [
        (world.volunteer.id, "Ich komme gern")
    ]
    assert card.responses == 1


async def test_only_the_requester_and_their_staff_see_the_responses(sessions, world):
    request = await ask(sessions, world.client, world.client)
    async with transaction(sessions) as s:
        await board.responses_to(s, world.professional, request.id)  # type: ignore[arg-type]
        for outsider in (world.volunteer, world.outside_professional):
            with pytest.raises(Forbidden):
                await board.responses_to(s, outsider, request.id)  # type: ignore[arg-type]


async def test_accepting_a_helper_matches_the_request_and_shows_who_is_coming(sessions, world):
    request = await ask(sessions, world.senior, world.senior)
    await respond(sessions, world.volunteer, request)
    await respond(sessions, world.volunteer2, request)
    async with transaction(sessions) as s:
        with pytest.raises(Forbidden):
            await board.accept_helper(s, world.volunteer, request.id, world.volunteer.id)  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        matched = await board.accept_helper(s, world.senior, request.id, world.volunteer2.id)  # type: ignore[arg-type]
    assert (matched.status, matched.helper_id) == ("matched", world.volunteer2.id)
    async with transaction(sessions) as s:
        coming = await board.who_is_coming(s, world.senior, world.senior.id)  # type: ignore[arg-type]
        answers = await board.responses_to(s, world.senior, request.id)  # type: ignore[arg-type]
    assert [(c.request.id, c.helper_name) for c in coming] == [(request.id, "Vera Wolf")]
    assert {r.helper.name: r.response.accepted for r in answers} == {
        "Volker Vogel": False,
        "Vera Wolf": True,
    }
    assert await board_titles(sessions, world.volunteer) == []
    with pytest.raises(Conflict):
        await respond(sessions, world.manager, request)
    async with transaction(sessions) as s:
        with pytest.raises(Conflict):
            await board.accept_helper(s, world.senior, request.id, world.volunteer.id)  # type: ignore[arg-type]


async def test_the_requester_accepts_only_someone_who_offered_but_staff_may_assign(sessions, world):
    request = await ask(sessions, world.client, world.client)
    async with transaction(sessions) as s:
        with pytest.raises(Invalid):
            await board.accept_helper(s, world.client, request.id, world.volunteer.id)  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        matched = await board.accept_helper(
            s,
            world.professional,
            request.id,  # type: ignore[arg-type]
            world.volunteer.id,  # type: ignore[arg-type]
        )
    assert matched.helper_id == world.volunteer.id
    async with transaction(sessions) as s:
        answers = await board.responses_to(s, world.client, request.id)  # type: ignore[arg-type]
    assert [(r.helper.id, r.response.accepted) for r in answers] == [(world.volunteer.id, True)]


async def test_closing_withdraws_a_request_and_only_the_requester_side_may(sessions, world):
    request = await ask(sessions, world.senior, world.senior)
    async with transaction(sessions) as s:
        with pytest.raises(Forbidden):
            await board.close_request(s, world.volunteer, request.id)  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        closed = await board.close_request(s, world.senior, request.id)  # type: ignore[arg-type]
        again = await board.close_request(s, world.manager, request.id)  # type: ignore[arg-type]
    assert closed.status == again.status == "closed"
    assert closed.closed_at is not None
    assert await board_titles(sessions, world.volunteer) == []
    with pytest.raises(Conflict):
        await respond(sessions, world.volunteer, request)


async def test_a_request_past_its_expiry_takes_no_responses(sessions, world):
    request = await ask(sessions, world.senior, world.senior, expires_on=TODAY)
    async with transaction(sessions) as s:
        with pytest.raises(Conflict):
            await board.respond(
                s,
                world.volunteer,
                request.id,  # type: ignore[arg-type]
                today=TODAY + timedelta(days=1),
            )


# --- Offers -------------------------------------------------------------------------------------


async def test_offers_are_listed_filtered_and_closed_by_their_owner(sessions, world):
    garden = await category_id(sessions, "garden")
    tech = await category_id(sessions, "tech")
    async with transaction(sessions) as s:
        hedge = await board.create_offer(
            s,
            world.volunteer,
            member_id=world.volunteer.id,  # type: ignore[arg-type]
            category_id=garden,
            title="Heckenschnitt",
            today=TODAY,
        )
        await board.create_offer(
            s,
            world.volunteer2,
            member_id=world.volunteer2.id,  # type: ignore[arg-type]
            category_id=tech,
            title="Hilfe mit dem Handy",
            today=TODAY,
        )
        with pytest.raises(Forbidden):
            await board.create_offer(
                s,
                world.volunteer2,
                member_id=world.volunteer.id,  # type: ignore[arg-type]
                category_id=tech,
                title="Fremdes Angebot",
                today=TODAY,
            )
        with pytest.raises(Invalid) as caught:
            await board.create_offer(
                s,
                world.volunteer,
                member_id=world.volunteer.id,  # type: ignore[arg-type]
                category_id=None,
                title="Ohne Art",
                today=TODAY,
            )
        assert caught.value.field == "category_id"
    assert hedge.district_id == world.north.id
    assert hedge.expires_on == TODAY + timedelta(days=90)
    async with transaction(sessions) as s:
        every = await board.open_offers(s, world.senior, today=TODAY)
        north = await board.open_offers(s, world.senior, district_id=world.north.id, today=TODAY)
        handy = await board.open_offers(s, world.senior, search="handy", today=TODAY)
    assert every.total == 2
    assert [c.offer.title for c in north.items] == ["Heckenschnitt"]
    assert [(c.offer.title, c.member_name) for c in handy.items] == [
        ("Hilfe mit dem Handy", "Vera Wolf")
    ]
    async with transaction(sessions) as s:
        with pytest.raises(Forbidden):
            await board.close_offer(s, world.volunteer2, hedge.id)  # type: ignore[arg-type]
        await board.close_offer(s, world.volunteer, hedge.id)  # type: ignore[arg-type]
    async with transaction(sessions) as s:
        left = await board.open_offers(s, world.senior, today=TODAY)
    assert [c.offer.title for c in left.items] == ["Hilfe mit dem Handy"]


# --- Matching -----------------------------------------------------------------------------------


async def test_suggested_helpers_are_ranked_by_fit_district_and_load(sessions, world):
    today = town_today()
    shopping = await category_id(sessions, "shopping")
    garden = await category_id(sessions, "garden")
    north, south = world.north.id, world.south.id

    async def helper(name: str, district: int | None, *cats: int, role: str = "volunteer"):
        async with transaction(sessions) as s:
            return await create_member(
                s,
                NewMember(
                    name=name,
                    role=role,
                    district_id=district,
                    category_ids=cats,
                    organization_id=world.org.id if role == "professional" else None,
                    joined_on=today - timedelta(days=365),
                ),
                actor=None,
            )

    anna = await helper("Anna Frei", north, shopping, garden)  # fits, here, free
    ida = await helper("Ida Früher", north, shopping)  # gave help, but long ago
    berta = await helper("Berta Beschäftigt", north, shopping)  # gave 2 h recently
    carl = await helper("Carl Zugesagt", north, shopping)  # already promised elsewhere
    dora = await helper("Dora Süd", south, shopping)  # fits, other district
    emil = await helper("Emil Nachbar", north, garden)  # does not fit, lives here
    await helper("Fritz Fern", south, garden)  # neither: never suggested
    gone = await helper("Gisela Weg", north, shopping)  # inactive
    hans = await helper("Hans Hat-schon", north, shopping)  # already responded
    await helper("Petra Profi", north, shopping, role="professional")  # staff: not suggested
    seniora = await helper("Olga Oma", north, shopping, role="senior")  # seniors help too

    async with transaction(sessions) as s:
        (await s.get(Member, gone.id)).active = False  # type: ignore[union-attr]
        for giver, days_ago, minutes in ((berta, 10, 120), (ida, 200, 600), (seniora, 5, 30)):
            await exchanges.record_exchange(
                s,
                world.manager,
                giver_id=giver.id,  # type: ignore[arg-type]
                receiver_id=world.senior.id,  # type: ignore[arg-type]
                minutes=minutes,
                performed_on=today - timedelta(days=days_ago),
                category="shopping",
                # Logged back then (the help-date window counts from the day it was logged).
                today=today - timedelta(days=days_ago),
            )
    elsewhere = await ask(sessions, world.senior, world.senior, today=today)
    async with transaction(sessions) as s:
        await board.accept_helper(s, world.manager, elsewhere.id, carl.id)  # type: ignore[arg-type]

    request = await ask(sessions, world.client, world.client, today=today)
    await respond(sessions, hans, request)
    async with transaction(sessions) as s:
        ranked = await board.suggested_helpers(
            s,
            world.manager,
            request.id,  # type: ignore[arg-type]
            limit=20,
            today=today,
        )
    assert [h.name for h in ranked] == [
        anna.name,  # fits, same district, nothing open, nothing recent (name before Ida)
        ida.name,  # her hours are older than 90 days
        seniora.name,  # 30 min recently
        berta.name,  # 120 min recently
        carl.name,  # one open commitment outweighs any amount of hours
        dora.name,  # fits, other district
        emil.name,  # same district only
        world.volunteer.name,  # same district, no categories chosen
    ]
    assert (ranked[3].recent_minutes, ranked[4].open_commitments) == (120, 1)
    assert ranked[5].fits_category and not ranked[5].same_district
    assert not ranked[6].fits_category and ranked[6].same_district


async def test_only_staff_acting_for_the_requester_see_suggestions(sessions, world):
    request = await ask(sessions, world.client, world.client)
    async with transaction(sessions) as s:
        await board.suggested_helpers(s, world.professional, request.id)  # type: ignore[arg-type]
        for outsider in (world.client, world.volunteer, world.outside_professional):
            with pytest.raises(Forbidden):
                await board.suggested_helpers(s, outsider, request.id)  # type: ignore[arg-type]
        with pytest.raises(Forbidden):
            await board.matching(s, world.professional)


async def test_matching_lists_open_requests_urgent_first_with_their_suggestions(sessions, world):
    today = town_today()
    await ask(sessions, world.client, world.client, title="Irgendwann", urgency="low", today=today)
    await ask(sessions, world.client, world.client, title="Dringend", urgency="high", today=today)
    done = await ask(sessions, world.senior, world.senior, title="Erledigt", today=today)
    async with transaction(sessions) as s:
        await board.close_request(s, world.senior, done.id)  # type: ignore[arg-type]
        page = await board.matching(s, world.manager, today=today)
    assert [card.request.title for card, _ in page.items] == ["Dringend", "Irgendwann"]
    # world.volunteer lives in the client's district: suggested for both.
    assert all([h.member_id for h in helpers] == [world.volunteer.id] for _, helpers in page.items)


# --- Refusals in the reader's language ---------------------------------------------------------


async def test_the_board_refuses_in_german_and_turkish_with_the_values(sessions, world):
    with pytest.raises(Invalid) as long_text:
        await ask(sessions, world.senior, world.senior, description="x" * 2001)
    assert "höchstens 2000 Zeichen" in refusal_in("de", long_text.value)
    assert "en fazla 2000 karakter" in refusal_in("tr", long_text.value)
    async with transaction(sessions) as s:
        with pytest.raises(NotFound) as gone:
            await board.get_request(s, world.volunteer, 9999)
    # No number a member could not place: just which thing is missing.
    assert "Anfrage" in refusal_in("de", gone.value) and "9999" not in refusal_in("de", gone.value)
    assert "yardım talebi" in refusal_in("tr", gone.value)


# --- How the two sides reach each other (issue 9, point 3) --------------------------------------


async def test_each_side_sees_the_others_contact_once_a_helper_is_chosen_and_not_before(
    sessions, world
):
    async with transaction(sessions) as s:
        for member, phone, when in (
            (world.senior, "0176 111", "vormittags"),
            (world.volunteer, "0176 222", "abends ab 18 Uhr"),
        ):
            found = await s.get(Member, member.id)
            assert found is not None
            found.phone, found.best_time_to_call = phone, when
    request = await ask(sessions, world.senior, world.senior, contact="0176 111 (Festnetz)")
    async with transaction(sessions) as s:
        await board.respond(s, world.volunteer, request.id, today=TODAY)  # type: ignore[arg-type]

    async def seen(actor: Member) -> board.Contacts:
        async with transaction(sessions) as s:
            found = await s.get(HelpRequest, request.id)
            assert found is not None
            return await board.contacts(s, actor, found)

    # Before: nobody but the office; the requester sees only what they gave, as theirs.
    for actor in (world.volunteer, world.volunteer2, world.outside_professional):
        assert await seen(actor) == board.Contacts(None, None, None)
    mine = await seen(world.senior)
    assert (mine.requester, mine.helper, mine.own) == (None, None, "0176 111 (Festnetz)")
    office = await seen(world.manager)
    assert office.requester is not None and office.requester.phone == "0176 111 (Festnetz)"

    async with transaction(sessions) as s:
        await board.accept_helper(s, world.senior, request.id, world.volunteer.id)  # type: ignore[arg-type]

    # After: each side the other's name, phone and best time to call; a third member nothing.
    helper_sees = await seen(world.volunteer)
    assert helper_sees.helper is None and helper_sees.own is None
    assert helper_sees.requester == board.Contact(
        "Sieglinde Sommer", "0176 111 (Festnetz)", "sieglinde@example.org", "vormittags"
    )
    senior_sees = await seen(world.senior)
    assert senior_sees.requester is None  # never their own number as someone to reach
    assert senior_sees.helper == board.Contact(
        "Volker Vogel", "0176 222", "volker@example.org", "abends ab 18 Uhr"
    )
    for third in (world.volunteer2, world.outside_professional):
        assert await seen(third) == board.Contacts(None, None, None)
    office = await seen(world.manager)
    assert office.requester is not None and office.helper is not None
