"""The pages of issue 9, points 5 and 6: "I would like this" on an offer, an offer of help
marked and taken back, staff asking for help for a client (in the client's district), the
client list and adding a client without email (English pages; see tests/web/conftest.py)."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World
from tests.web.support import Client, error_of, main_of, make_app, post, sign_in
from timebank import board
from timebank.db import transaction
from timebank.members import category_by_slug
from timebank.models import HelpRequest, Member, Offer, id_of

Sessions = async_sessionmaker[AsyncSession]


async def an_offer(sessions: Sessions, owner: Member, title: str = "Vorlesen am Abend") -> Offer:
    async with transaction(sessions) as s:
        visits = await category_by_slug(s, "visits")
        return await board.create_offer(
            s, owner, member_id=id_of(owner), category_id=id_of(visits), title=title
        )


async def a_request(sessions: Sessions, owner: Member) -> HelpRequest:
    async with transaction(sessions) as s:
        shopping = await category_by_slug(s, "shopping")
        return await board.create_request(
            s, owner, member_id=id_of(owner), category_id=id_of(shopping), title="Einkauf"
        )


# --- "I would like this" ----------------------------------------------------------------------


async def test_a_senior_takes_up_an_offer_once_and_sees_what_happens_next(
    client: Client, world: World, sessions: Sessions
) -> None:
    offer = await an_offer(sessions, world.volunteer)
    mine = await an_offer(sessions, world.senior, "Stricken lernen")
    await sign_in(client, "sieglinde@example.org")
    offers = main_of((await client.get("/board/offers")).text)
    assert f'action="/board/offers/{offer.id}/take"' in offers
    assert f'action="/board/offers/{mine.id}/take"' not in offers  # not on her own offer
    first = await post(client, f"/board/offers/{offer.id}/take", {"member_id": world.senior.id})
    again = await post(client, f"/board/offers/{offer.id}/take", {"member_id": world.senior.id})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]  # a double click: one request
    shown = main_of((await client.get(first.headers["location"])).text)
    assert "the person who offered this help is told" in shown
    assert "Volker Vogel is coming" in shown
    async with transaction(sessions) as s:
        made = (await s.exec(select(HelpRequest).where(HelpRequest.offer_id == offer.id))).all()
    assert [(r.member_id, r.helper_id, r.status) for r in made] == [
        (world.senior.id, world.volunteer.id, "matched")
    ]


async def test_a_closed_offer_is_refused_in_the_readers_language(
    client: Client, world: World, sessions: Sessions
) -> None:
    offer = await an_offer(sessions, world.volunteer)
    async with transaction(sessions) as s:
        await board.close_offer(s, world.volunteer, id_of(offer))
        await s.exec(update(Member).where(Member.id == world.senior.id).values(language="de"))  # type: ignore[call-overload, arg-type]
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, f"/board/offers/{offer.id}/take", {"member_id": world.senior.id})
    assert answer.status_code == 409
    assert "Dieses Angebot gilt nicht mehr." in main_of(answer.text)
    own = await an_offer(sessions, world.senior)
    answer = await post(client, f"/board/offers/{own.id}/take", {"member_id": world.senior.id})
    assert "Niemand kann das eigene Angebot annehmen." in main_of(answer.text)


async def test_a_professional_takes_up_an_offer_for_a_client_chosen_in_a_form(
    client: Client, world: World, sessions: Sessions
) -> None:
    offer = await an_offer(sessions, world.volunteer2)
    await sign_in(client, "paula@example.org")
    offers = main_of((await client.get("/board/offers")).text)
    assert f'href="/board/offers/{offer.id}/take"' in offers
    form = main_of((await client.get(f"/board/offers/{offer.id}/take")).text)
    assert f'<option value="{world.client.id}">Karl Klient</option>' in form
    nobody = await post(client, f"/board/offers/{offer.id}/take", {"member_id": ""})
    assert error_of(nobody.text, "member_id")
    answer = await post(client, f"/board/offers/{offer.id}/take", {"member_id": world.client.id})
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        made = await s.scalar(select(HelpRequest).where(HelpRequest.offer_id == offer.id))
    assert made is not None
    assert (made.member_id, made.district_id) == (world.client.id, world.north.id)


# --- Offering help: marked, and taken back ----------------------------------------------------


async def test_after_offering_help_the_board_and_the_request_say_so_with_a_way_back(
    client: Client, world: World, sessions: Sessions
) -> None:
    request = await a_request(sessions, world.senior)
    await sign_in(client, "volker@example.org")
    await post(client, f"/requests/{request.id}/respond", {"message": "Gern"})
    withdraw = f'action="/requests/{request.id}/withdraw-offer"'
    for url in ("/board", f"/requests/{request.id}"):
        shown = main_of((await client.get(url)).text)
        assert "You offered to help" in shown and withdraw in shown, url
    assert f'action="/requests/{request.id}/respond"' not in main_of(
        (await client.get(f"/requests/{request.id}")).text
    )
    answer = await post(client, f"/requests/{request.id}/withdraw-offer")
    assert answer.headers["location"] == f"/requests/{request.id}?done=response_withdrawn"
    shown = main_of((await client.get(answer.headers["location"])).text)
    assert "You offered to help" not in shown
    assert f'action="/requests/{request.id}/respond"' in shown


# --- Staff: asking for a client, the client list, adding a client -----------------------------


def selected_value(html: str, name: str) -> str:
    select_ = re.search(rf'<select id="f-{name}".*?</select>', html, re.S)
    assert select_ is not None
    chosen = re.search(r'<option value="([^"]*)" selected>', select_.group(0))
    return chosen.group(1) if chosen else ""


async def test_a_request_a_professional_enters_for_a_client_is_in_the_clients_district(
    client: Client, world: World, sessions: Sessions
) -> None:
    # Paula works in the south; her client Karl lives in the north.
    async with transaction(sessions) as s:
        await s.exec(
            update(Member)
            .where(Member.id == world.professional.id)
            .values(district_id=world.south.id)  # type: ignore[call-overload, arg-type]
        )
        shopping = await category_by_slug(s, "shopping")
    await sign_in(client, "paula@example.org")
    menu = (await client.get("/home")).text
    assert 'href="/requests/new"' in menu and 'href="/clients"' in menu
    form = (await client.get(f"/requests/new?for={world.client.id}")).text
    sent = {
        "member_id": selected_value(form, "member_id"),
        "district_id": selected_value(form, "district_id"),
        "title": "Einkauf",
        "category_id": str(shopping.id),
        "urgency": "normal",
    }
    assert sent["member_id"] == str(world.client.id)
    answer = await post(client, "/requests/new", sent)
    assert answer.status_code == 303, error_of(answer.text, "district_id")
    async with transaction(sessions) as s:
        made = await s.scalar(select(HelpRequest))
    assert made is not None
    assert (made.member_id, made.district_id) == (world.client.id, world.north.id)


async def test_the_client_list_shows_balances_in_hours_and_ways_to_act(
    db_url: str, client: Client, world: World
) -> None:
    await sign_in(client, "paula@example.org")
    page = main_of((await client.get("/clients")).text)
    assert "Karl Klient" in page
    assert f'href="/members/{world.client.id}/statement"' in page
    assert f'href="/requests/new?for={world.client.id}"' in page
    assert f'href="/exchanges/assisted?receiver_id={world.client.id}"' in page
    assert "0:00" in page and " min" not in page
    assisted = main_of(
        (await client.get(f"/exchanges/assisted?receiver_id={world.client.id}")).text
    )
    assert f'<option value="{world.client.id}" selected>' in assisted
    async with AsyncTestClient(app=make_app(db_url)) as other:
        await sign_in(other, "volker@example.org")
        assert (await other.get("/clients")).status_code == 403


async def test_a_client_is_added_only_with_the_paper_consent_ticked(
    client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "paula@example.org")
    sent = {
        "name": "Hilde Hoffmann",
        "district_id": str(world.south.id),
        "language": "de",
        "phone": "0511 98765",
        "street": "Lindenstraße 4",
        "postcode": "30159",
        "town": "Hannover",
    }
    refused = await post(client, "/clients/new", sent)
    assert refused.status_code == 400
    assert error_of(refused.text, "consent")
    assert 'value="Hilde Hoffmann"' in refused.text  # kept
    answer = await post(client, "/clients/new", {**sent, "consent": "1"})
    assert answer.headers["location"] == "/clients?done=client_added"
    page = main_of((await client.get("/clients?done=client_added")).text)
    assert "Hilde Hoffmann" in page and "The client is added" in page
    async with transaction(sessions) as s:
        hilde = await s.scalar(select(Member).where(Member.name == "Hilde Hoffmann"))
    assert hilde is not None
    assert (hilde.consent_how, hilde.consent_by_id) == ("paper", world.professional.id)
    assert (hilde.email, hilde.organization_id, hilde.town) == (None, world.org.id, "Hannover")
