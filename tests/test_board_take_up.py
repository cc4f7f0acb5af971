"""Taking up an offer ("Das möchte ich") and taking back an offer of help (issue 9, point 5),
on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import refusal_in
from timebank import board
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden
from timebank.members import category_by_slug
from timebank.models import HelpRequest, Member, Notification, Offer, RequestResponse, id_of

Sessions = async_sessionmaker[AsyncSession]
TODAY = date(2026, 6, 1)


async def offer_of(sessions: Sessions, owner: Member, **kw: object) -> Offer:
    async with transaction(sessions) as s:
        garden = await category_by_slug(s, "garden")
        return await board.create_offer(
            s,
            owner,
            member_id=id_of(owner),
            category_id=id_of(garden),
            title="Heckenschnitt im Herbst",
            description="Mit eigener Schere",
            today=TODAY,
            **kw,  # type: ignore[arg-type]
        )


async def take(sessions: Sessions, actor: Member, offer: Offer, member: Member) -> HelpRequest:
    async with transaction(sessions) as s:
        return await board.take_up_offer(
            s, actor, id_of(offer), member_id=id_of(member), today=TODAY
        )


async def notices_of(sessions: Sessions, member: Member) -> list[Notification]:
    async with transaction(sessions) as s:
        rows = await s.exec(
            select(Notification).where(
                Notification.member_id == member.id, Notification.kind == "offer_taken_up"
            )
        )
        return list(rows.all())


async def test_taking_up_an_offer_makes_a_request_matched_to_the_helper_who_is_told(
    sessions, world
):
    # Vera lives in the south; Karl, for whom his professional takes the offer, in the north.
    offer = await offer_of(sessions, world.volunteer2)
    request = await take(sessions, world.professional, offer, world.client)
    assert (request.status, request.helper_id) == ("matched", world.volunteer2.id)
    assert (request.member_id, request.entered_by_id) == (world.client.id, world.professional.id)
    assert request.category_id == offer.category_id
    assert request.district_id == world.north.id  # the receiver's district, not the offer's
    assert (request.title, request.offer_id) == ("Heckenschnitt im Herbst", offer.id)
    async with transaction(sessions) as s:
        coming = await board.who_is_coming(s, world.professional, id_of(world.client))
        expected = await board.expected_at(s, world.volunteer2)
        accepted = await s.scalar(
            select(RequestResponse.accepted).where(RequestResponse.request_id == request.id)
        )
        still_open = await board.open_offers(s, world.senior, today=TODAY)
    assert [c.helper_name for c in coming] == ["Vera Wolf"]
    assert [c.request.id for c in expected] == [request.id]
    assert accepted is True
    # The offer stays on the board for others.
    assert [c.offer.id for c in still_open.items] == [offer.id]
    [notice] = await notices_of(sessions, world.volunteer2)
    assert "Karl Klient" in notice.body and "Heckenschnitt im Herbst" in notice.subject
    assert notice.link == f"/requests/{request.id}"


async def test_taking_up_twice_makes_one_request_and_tells_the_helper_once(sessions, world):
    offer = await offer_of(sessions, world.volunteer)
    first = await take(sessions, world.senior, offer, world.senior)
    again = await take(sessions, world.senior, offer, world.senior)
    assert again.id == first.id
    async with transaction(sessions) as s:
        count = await s.scalar(
            select(func.count()).select_from(HelpRequest).where(HelpRequest.offer_id == offer.id)
        )
    assert count == 1
    assert len(await notices_of(sessions, world.volunteer)) == 1


async def test_nobody_takes_up_their_own_offer(sessions, world):
    offer = await offer_of(sessions, world.volunteer)
    with pytest.raises(Conflict) as refused:
        await take(sessions, world.volunteer, offer, world.volunteer)
    assert refusal_in("de", refused.value) == "Niemand kann das eigene Angebot annehmen."
    assert await notices_of(sessions, world.volunteer) == []


async def test_a_closed_or_expired_offer_is_refused_in_words(sessions, world):
    closed = await offer_of(sessions, world.volunteer)
    async with transaction(sessions) as s:
        await board.close_offer(s, world.volunteer, id_of(closed))
    with pytest.raises(Conflict) as refused:
        await take(sessions, world.senior, closed, world.senior)
    assert refusal_in("de", refused.value) == "Dieses Angebot gilt nicht mehr."
    short = await offer_of(sessions, world.volunteer, expires_on=TODAY + timedelta(days=1))
    async with transaction(sessions) as s:
        with pytest.raises(Conflict):
            await board.take_up_offer(
                s,
                world.senior,
                id_of(short),
                member_id=id_of(world.senior),
                today=TODAY + timedelta(days=2),
            )


async def test_only_the_member_or_staff_acting_for_them_take_up_an_offer(sessions, world):
    offer = await offer_of(sessions, world.volunteer)
    for outsider in (world.outside_professional, world.volunteer2):
        with pytest.raises(Forbidden):
            await take(sessions, outsider, offer, world.client)
    made = await take(sessions, world.manager, offer, world.client)
    assert made.entered_by_id == world.manager.id


# --- Offering help, and taking it back -------------------------------------------------------


async def test_an_offer_of_help_is_marked_and_can_be_taken_back(sessions, world):
    async with transaction(sessions) as s:
        shopping = await category_by_slug(s, "shopping")
        request = await board.create_request(
            s,
            world.senior,
            member_id=id_of(world.senior),
            category_id=id_of(shopping),
            title="Einkauf",
            today=TODAY,
        )
        await board.respond(s, world.volunteer, id_of(request), today=TODAY)
        assert await board.offered_help(s, world.volunteer, [id_of(request)]) == {request.id}
        assert await board.offered_help(s, world.volunteer2, [id_of(request)]) == set()
    for _ in range(2):  # a second click is harmless
        async with transaction(sessions) as s:
            await board.withdraw_response(s, world.volunteer, id_of(request))
    async with transaction(sessions) as s:
        assert await board.offered_help(s, world.volunteer, [id_of(request)]) == set()
        # Offered again, chosen: then it is a matter for the person or the office.
        await board.respond(s, world.volunteer, id_of(request), today=TODAY)
        await board.accept_helper(s, world.senior, id_of(request), id_of(world.volunteer))
    async with transaction(sessions) as s:
        with pytest.raises(Conflict) as refused:
            await board.withdraw_response(s, world.volunteer, id_of(request))
    assert refusal_in("de", refused.value).startswith("Sie sind als helfende Person ausgewählt.")
