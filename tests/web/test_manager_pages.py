"""The manager's pages and the help board through the test client: only the manager gets in,
forms show errors next to their fields with the values kept, lists page, and each action
does what its page says (both databases)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, town_today
from tests.web.support import error_of, main_of, manager, post, sign_in
from timebank import board, exchanges, ledger, members
from timebank.db import transaction
from timebank.models import Category, District, Exchange, HelpRequest, Member, Offer

Sessions = async_sessionmaker[AsyncSession]

MANAGER_PAGES = [
    "/manage",
    "/manage/members",
    "/manage/members/new",
    "/manage/members/{volunteer}",
    "/manage/members/{volunteer}/login-sheet",
    "/manage/assisted",
    "/manage/exchanges",
    "/manage/transfers",
    "/manage/pool",
    "/manage/lists",
    "/manage/matching",
]


# --- Only the manager gets in ---------------------------------------------------------------


@pytest.mark.parametrize("path", MANAGER_PAGES)
async def test_every_manager_page_opens_for_the_manager(client, world, path):
    await manager(client)
    answer = await client.get(path.format(volunteer=world.volunteer.id))
    assert answer.status_code == 200, answer.text
    assert "<h1>" in answer.text


@pytest.mark.parametrize(
    "email", ["volker@example.org", "paula@example.org", "sieglinde@example.org"]
)
async def test_everyone_else_gets_the_forbidden_page(client, world, email):
    await sign_in(client, email)
    for path in MANAGER_PAGES:
        answer = await client.get(path.format(volunteer=world.volunteer.id))
        assert answer.status_code == 403, path
    refused = await post(
        client, f"/manage/members/{world.volunteer.id}/password", {"password": "x" * 12}
    )
    assert refused.status_code == 403


async def test_a_visitor_is_sent_to_sign_in(client):
    answer = await client.get("/manage/members", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/manage/members")


async def test_a_manager_form_posted_without_its_csrf_token_is_refused(client, world, sessions):
    await manager(client)
    answer = await client.post(
        "/manage/districts", data={"district_name": "Mitte"}, follow_redirects=False
    )
    assert answer.status_code == 403
    async with transaction(sessions) as s:
        assert (await s.exec(select(District).where(District.name == "Mitte"))).first() is None


# --- Members list -----------------------------------------------------------------------------


async def test_the_members_list_shows_balances_filters_and_sorts(client, world, sessions):
    async with transaction(sessions) as s:
        await exchanges.record_exchange(
            s,
            world.manager,
            giver_id=world.volunteer.id,
            receiver_id=world.senior.id,
            minutes=150,
            performed_on=town_today(),
            category="shopping",
        )
    await manager(client)
    page = main_of((await client.get("/manage/members?sort=-balance")).text)
    rows = re.findall(r"<tr>\s*<td><a href=\"/manage/members/\d+\">([^<]+)</a>", page)
    assert rows[0] == "Volker Vogel" and rows[-1] == "Sieglinde Sommer"
    volker_row = page.split(">Volker Vogel<", 1)[1].split("</tr>", 1)[0]
    assert "2:30" in volker_row
    seniors = main_of((await client.get("/manage/members?role=senior")).text)
    assert "Karl Klient" in seniors and "Volker Vogel" not in seniors
    assert 'value="senior" selected' in seniors  # the filter stays chosen
    north = main_of((await client.get(f"/manage/members?district_id={world.north.id}")).text)
    assert "Karl Klient" in north and "Vera Wolf" not in north


async def test_the_members_list_pages_forward_and_back(client, world, sessions):
    async with transaction(sessions) as s:
        for n in range(55):
            await members.create_member(
                s, members.NewMember(name=f"Zelda {n:02d}", role="volunteer"), actor=None
            )
    await manager(client)
    first = main_of((await client.get("/manage/members?q=Zelda")).text)
    assert "55 members found" in first
    names_first = re.findall(r">(Zelda \d\d)<", first)
    assert names_first == [f"Zelda {n:02d}" for n in range(50)]
    assert 'rel="prev"' not in first
    link = unescape(re.search(r'<a rel="next" href="([^"]+)"', first).group(1))  # type: ignore[union-attr]
    second = main_of((await client.get(link)).text)
    assert re.findall(r">(Zelda \d\d)<", second) == [f"Zelda {n:02d}" for n in range(50, 55)]
    assert 'rel="next"' not in second
    back = unescape(re.search(r'<a rel="prev" href="([^"]+)"', second).group(1))  # type: ignore[union-attr]
    again = main_of((await client.get(back)).text)
    assert re.findall(r">(Zelda \d\d)<", again) == names_first


async def test_a_damaged_page_link_is_a_clear_error_not_a_crash(client, world):
    await manager(client)
    answer = await client.get("/manage/members?after=garbage!!")
    assert answer.status_code in (400, 422)
    assert "damaged" in answer.text


# --- Creating and editing members -------------------------------------------------------------


async def test_a_new_member_form_with_errors_keeps_the_values(client, world, sessions):
    await manager(client)
    answer = await post(
        client,
        "/manage/members/new",
        {
            "name": "Neue Nachbarin",
            "role": "volunteer",
            "email": "vera@example.org",
            "phone": "0351 1234",
        },
    )
    assert answer.status_code == 400
    page = main_of(answer.text)
    assert "already has this email address" in error_of(page, "email")
    assert 'value="Neue Nachbarin"' in page and 'value="0351 1234"' in page
    answer = await post(
        client,
        "/manage/members/new",
        {
            "name": "Neue Nachbarin",
            "role": "senior",
            "category_ids": ["1", "3"],
            "district_id": str(world.north.id),
        },
    )
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        created = (await s.exec(select(Member).where(Member.name == "Neue Nachbarin"))).one()
    assert answer.headers["location"].startswith(f"/manage/members/{created.id}")
    assert (created.role, created.district_id, created.email) == ("senior", world.north.id, None)
    edit = main_of((await client.get(f"/manage/members/{created.id}")).text)
    assert 'id="f-cat-1" name="category_ids" value="1" checked' in edit
    assert 'id="f-cat-2" name="category_ids" value="2">' in edit


async def test_editing_a_member_shows_errors_next_to_fields_and_saves_good_input(
    client, world, sessions
):
    await manager(client)
    url = f"/manage/members/{world.volunteer.id}"
    bad = await post(
        client, url, {"name": "", "role": "volunteer", "email": "volker@example.org", "active": "1"}
    )
    assert bad.status_code == 400
    assert error_of(main_of(bad.text), "name")
    good = await post(
        client,
        url,
        {
            "name": "Volker V.",
            "role": "volunteer",
            "email": "volker@example.org",
            "phone": "0170",
            "active": "1",
        },
    )
    assert good.status_code == 303
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
    assert (member.name, member.phone, member.active) == ("Volker V.", "0170", True)  # type: ignore[union-attr]


async def test_the_manager_sets_a_members_limits_in_hours(client, world, sessions):
    await manager(client)
    url = f"/manage/members/{world.senior.id}/limits"
    bad = await post(client, url, {"min_hours": "viele", "max_hours": "50"})
    assert bad.status_code == 400
    page = main_of(bad.text)
    assert "whole number" in error_of(page, "min_hours")
    assert 'value="viele"' in page
    positive = await post(client, url, {"min_hours": "5", "max_hours": ""})
    assert positive.status_code == 400 and error_of(main_of(positive.text), "min_hours")
    assert (await post(client, url, {"min_hours": "-5", "max_hours": "40"})).status_code == 303
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, world.senior.id)
    assert (account.min_minutes, account.max_minutes) == (-300, 2400)


async def test_a_reset_password_is_printed_once_and_works(client, world, sessions):
    await manager(client)
    sheet = await post(client, f"/manage/members/{world.volunteer2.id}/password", {"password": ""})
    assert sheet.status_code == 200
    page = main_of(sheet.text)
    password = re.search(r"<code[^>]*>([^<]+)</code>", page).group(1)  # type: ignore[union-attr]
    assert "vera@example.org" in page and "/login" in page
    async with transaction(sessions) as s:
        vera = await s.get(Member, world.volunteer2.id)
        assert members.password_matches(vera, password)  # type: ignore[arg-type]
        assert not members.password_matches(vera, PASSWORD)  # type: ignore[arg-type]
    short = await post(
        client, f"/manage/members/{world.volunteer2.id}/password", {"password": "kurz"}
    )
    assert short.status_code == 400 and "8" in error_of(main_of(short.text), "password")
    # The client has no email address: there is nothing to sign in with.
    none = await post(client, f"/manage/members/{world.client.id}/password", {"password": "x" * 10})
    assert none.status_code == 400 and "no email" in error_of(main_of(none.text), "email")


# --- Exchanges, reversals and the pool -----------------------------------------------------------


async def test_assisted_entry_for_anyone_is_booked_at_once(client, world, sessions):
    await manager(client)
    form = {
        "giver_id": str(world.volunteer2.id),
        "receiver_id": str(world.senior.id),
        "performed_on": town_today().isoformat(),
        "hours": "1",
        "minutes": "30",
        "category": "garden",
    }
    bad = await post(client, "/manage/assisted", {**form, "receiver_id": "abc"})
    assert bad.status_code == 400 and error_of(main_of(bad.text), "receiver_id")
    assert 'value="abc"' in main_of(bad.text)
    assert (await post(client, "/manage/assisted", form)).status_code == 303
    async with transaction(sessions) as s:
        exchange = (await s.exec(select(Exchange))).one()
    assert (exchange.status, exchange.assisted, exchange.minutes) == ("confirmed", True, 90)


async def test_pending_and_disputed_help_is_listed_and_the_pool_can_pay(client, world, sessions):
    async with transaction(sessions) as s:
        pending = await exchanges.record_exchange(
            s, world.volunteer, giver_id=world.volunteer.id, receiver_id=world.client.id,
            minutes=60, performed_on=town_today(), category="shopping",
        )  # fmt: skip
        disputed = await exchanges.record_exchange(
            s, world.volunteer2, giver_id=world.volunteer2.id, receiver_id=world.senior.id,
            minutes=45, performed_on=town_today(), category="visits",
        )  # fmt: skip
        await exchanges.reject_exchange(
            s, world.senior, disputed.exchange.id, reason="kenne ich nicht"
        )
        pool = await ledger.pool_account(s)
        await ledger.post_transfer(
            s, from_account_id=(await ledger.account_of_member(s, world.volunteer2.id)).id,
            to_account_id=pool.id, minutes=120, kind="donation", actor=world.volunteer2,
            reason="gift",
        )  # fmt: skip
    await manager(client)
    page = main_of((await client.get("/manage/exchanges")).text)
    assert "Karl Klient" in page and "kenne ich nicht" in page
    paid = await post(client, f"/manage/exchanges/{pending.exchange.id}/pay-from-pool")
    assert paid.status_code == 303
    async with transaction(sessions) as s:
        assert (await s.get(Exchange, pending.exchange.id)).paid_by_pool  # type: ignore[union-attr]
        assert (await ledger.pool_account(s)).balance_minutes == 60
    pool_page = main_of((await client.get("/manage/pool")).text)
    assert "paid by the pool" in pool_page and "gift to the pool" in pool_page


async def test_help_a_professional_gave_her_client_waits_and_the_manager_confirms_it_for_him(
    client, world, sessions
):
    # Issue 8: Paula logs help she gave Karl (who has no login): she cannot confirm it herself;
    # the manager's list offers to confirm it for Karl, but never the manager's own help.
    async with transaction(sessions) as s:
        own = await exchanges.record_exchange(
            s, world.professional, giver_id=world.professional.id, receiver_id=world.client.id,
            minutes=60, performed_on=town_today(), category="forms",
        )  # fmt: skip
        managers = await exchanges.record_exchange(
            s, world.manager, giver_id=world.manager.id, receiver_id=world.senior.id,
            minutes=30, performed_on=town_today(), category="visits",
        )  # fmt: skip
    await sign_in(client, "paula@example.org")
    refused = await post(client, f"/exchanges/{own.exchange.id}/confirm")
    assert refused.status_code == 403
    await post(client, "/logout")
    await manager(client)
    page = (await client.get("/manage/exchanges")).text
    assert f"/exchanges/{own.exchange.id}/confirm" in page
    assert f"/exchanges/{managers.exchange.id}/confirm" not in page
    assert "Confirm for Karl Klient" in main_of(page)
    done = await post(client, f"/exchanges/{own.exchange.id}/confirm", {"back": "exchange_lists"})
    assert done.headers["location"] == "/manage/exchanges?done=confirmed"
    assert (await post(client, f"/exchanges/{managers.exchange.id}/confirm")).status_code == 403
    async with transaction(sessions) as s:
        confirmed = await s.get(Exchange, own.exchange.id)
        assert confirmed is not None and confirmed.status == "confirmed"
        assert confirmed.decided_by_id == world.manager.id
        assert (await ledger.account_of_member(s, world.client.id)).balance_minutes == -60  # type: ignore[arg-type]


async def test_a_reversal_needs_a_reason_and_is_shown_on_the_bookings(client, world, sessions):
    async with transaction(sessions) as s:
        booked = await exchanges.record_exchange(
            s, world.manager, giver_id=world.volunteer.id, receiver_id=world.senior.id,
            minutes=120, performed_on=town_today(), category="shopping",
        )  # fmt: skip
    transfer_id = booked.transfer.id  # type: ignore[union-attr]
    await manager(client)
    form_page = main_of((await client.get(f"/manage/transfers/{transfer_id}/reverse")).text)
    assert "Volker Vogel" in form_page
    refused = await post(client, f"/manage/transfers/{transfer_id}/reverse", {"reason": "  "})
    assert refused.status_code == 400 and error_of(main_of(refused.text), "reason")
    done = await post(client, f"/manage/transfers/{transfer_id}/reverse", {"reason": "doppelt"})
    assert done.status_code == 303
    async with transaction(sessions) as s:
        assert (await ledger.account_of_member(s, world.volunteer.id)).balance_minutes == 0
        assert (await s.get(Exchange, booked.exchange.id)).status == "reversed"  # type: ignore[union-attr]
    listing = main_of((await client.get(f"/manage/transfers?member={world.volunteer.id}")).text)
    assert "doppelt" in listing
    assert f"/manage/transfers/{transfer_id}/reverse" not in listing
    again = await post(client, f"/manage/transfers/{transfer_id}/reverse", {"reason": "nochmal"})
    assert again.status_code == 400
    assert "cannot be reversed" in main_of(again.text)


async def test_taking_the_pool_below_zero_needs_a_reason_and_the_crossing_is_shown(
    client, world, sessions
):
    """A gift to the pool that was already paid out: its reversal is refused until the
    manager gives a reason, and the bookings then say which limit the pool went below."""
    async with transaction(sessions) as s:
        pool = await ledger.pool_account(s)
        own = await ledger.account_of_member(s, world.volunteer2.id)
        gift = await ledger.post_transfer(
            s, from_account_id=own.id, to_account_id=pool.id, minutes=120, kind="donation",
            actor=world.volunteer2, reason="gift",
        )  # fmt: skip
        senior = await ledger.account_of_member(s, world.senior.id)
        await ledger.post_transfer(
            s, from_account_id=pool.id, to_account_id=senior.id, minutes=90,
            kind="pool_payment", actor=world.manager,
        )  # fmt: skip
    await manager(client)
    url = f"/manage/transfers/{gift.id}/reverse"
    assert 'name="override_reason"' in (await client.get(url)).text
    refused = await post(client, url, {"reason": "never given"})
    assert refused.status_code == 400
    assert "below zero" in error_of(main_of(refused.text), "override_reason")
    done = await post(client, url, {"reason": "never given", "override_reason": "board agreed"})
    assert done.status_code == 303
    listing = main_of((await client.get("/manage/pool")).text)
    assert "community pool crossed the minimum of 0:00 h: balance after −1:30 h" in listing
    assert "Limit overridden: board agreed" in listing


# --- Categories and districts ------------------------------------------------------------------


async def test_districts_and_categories_are_kept_by_the_manager(client, world, sessions):
    await manager(client)
    twice = await post(client, "/manage/districts", {"district_name": "nord"})
    assert twice.status_code == 400
    page = main_of(twice.text)
    assert "exists already" in error_of(page, "district_name") and 'value="nord"' in page
    assert (await post(client, "/manage/districts", {"district_name": "Mitte"})).status_code == 303
    assert (
        await post(client, f"/manage/districts/{world.south.id}", {"active": "0"})
    ).status_code == 303
    empty = await post(client, "/manage/categories/1", {"name_de": "", "name_en": "Shopping"})
    assert empty.status_code == 400 and error_of(main_of(empty.text), "category-1")
    added = await post(
        client, "/manage/categories", {"slug": "pets", "name_de": "Haustiere", "name_en": "Pets"}
    )
    assert added.status_code == 303
    async with transaction(sessions) as s:
        districts = {d.name: d.active for d in (await s.exec(select(District))).all()}
        pets = (await s.exec(select(Category).where(Category.slug == "pets"))).one()
    assert districts == {"Nord": True, "Süd": False, "Mitte": True}
    assert pets.name_de == "Haustiere"


# --- Matching ---------------------------------------------------------------------------------


async def test_matching_shows_the_suggested_helper_and_assigns_them(client, world, sessions):
    async with transaction(sessions) as s:
        shopping = (await s.exec(select(Category).where(Category.slug == "shopping"))).one()
        request = await board.create_request(
            s, world.client, member_id=world.client.id, category_id=shopping.id, title="Einkauf"
        )
    await manager(client)
    page = main_of((await client.get("/manage/matching")).text)
    assert "Einkauf" in page and "Volker Vogel" in page  # same district as the client
    done = await post(
        client, f"/manage/requests/{request.id}/assign", {"helper_id": str(world.volunteer.id)}
    )
    assert done.status_code == 303
    async with transaction(sessions) as s:
        matched = await s.get(HelpRequest, request.id)
    assert (matched.status, matched.helper_id) == ("matched", world.volunteer.id)  # type: ignore[union-attr]
    assert "Einkauf" not in main_of((await client.get("/manage/matching")).text)


# --- The board --------------------------------------------------------------------------------


async def test_the_board_searches_filters_and_leaves_matched_requests_out(client, world, sessions):
    async with transaction(sessions) as s:
        cats = {c.slug: c.id for c in (await s.exec(select(Category))).all()}
        garden = await board.create_request(
            s, world.senior, member_id=world.senior.id, category_id=cats["garden"],
            title="Hecke schneiden", district_id=world.south.id,
        )  # fmt: skip
        await board.create_request(
            s, world.client, member_id=world.client.id, category_id=cats["shopping"],
            title="Wocheneinkauf",
        )  # fmt: skip
        old = await board.create_request(
            s, world.senior, member_id=world.senior.id, category_id=cats["visits"],
            title="Besuch letzte Woche", today=town_today() - timedelta(days=10),
            expires_on=town_today() - timedelta(days=2),
        )  # fmt: skip
    await sign_in(client, "vera@example.org")
    page = main_of((await client.get("/board")).text)
    assert "Hecke schneiden" in page and "Wocheneinkauf" in page and old.title not in page
    south = main_of((await client.get(f"/board?district_id={world.south.id}")).text)
    assert "Hecke schneiden" in south and "Wocheneinkauf" not in south
    words = main_of((await client.get("/board?q=einkauf")).text)
    assert "Wocheneinkauf" in words and "Hecke" not in words and 'value="einkauf"' in words
    expired = main_of((await client.get("/board?expired=1")).text)
    assert old.title in expired
    async with transaction(sessions) as s:
        await board.accept_helper(s, world.manager, garden.id, world.volunteer2.id)  # type: ignore[arg-type]
    assert "Hecke schneiden" not in main_of((await client.get("/board")).text)


async def test_offers_are_made_shown_and_closed_on_the_board(client, world, sessions):
    await sign_in(client, "volker@example.org")
    missing = await post(client, "/board/offers/new", {"title": "Rasen mähen", "category_id": ""})
    assert missing.status_code == 400
    page = main_of(missing.text)
    assert error_of(page, "category_id") and 'value="Rasen mähen"' in page
    async with transaction(sessions) as s:
        garden = (await s.exec(select(Category).where(Category.slug == "garden"))).one()
    made = await post(
        client, "/board/offers/new", {"title": "Rasen mähen", "category_id": str(garden.id)}
    )
    assert made.status_code == 303
    offers = main_of((await client.get("/board/offers")).text)
    assert "Rasen mähen" in offers and "Volker Vogel" in offers
    async with transaction(sessions) as s:
        offer = (await s.exec(select(Offer))).one()
    assert (await post(client, f"/board/offers/{offer.id}/close")).status_code == 303
    async with transaction(sessions) as s:
        assert (await s.get(Offer, offer.id)).status == "closed"  # type: ignore[union-attr]
    assert "1 found" not in main_of((await client.get("/board/offers")).text)


async def test_nobody_closes_another_members_offer(client, world, sessions):
    async with transaction(sessions) as s:
        garden = (await s.exec(select(Category).where(Category.slug == "garden"))).one()
        offer = await board.create_offer(
            s, world.volunteer, member_id=world.volunteer.id, category_id=garden.id, title="Hecke"
        )
    await sign_in(client, "vera@example.org")
    assert (await post(client, f"/board/offers/{offer.id}/close")).status_code == 403
    async with transaction(sessions) as s:
        assert (await s.get(Offer, offer.id)).status == "open"  # type: ignore[union-attr]
