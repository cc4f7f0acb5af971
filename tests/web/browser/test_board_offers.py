"""An offer taken up on the board, in headless Chromium against a real server on PostgreSQL
(issue 9, point 5): a senior presses "Das möchte ich", is told what happens next, and the
helper finds where they are expected; axe on every page, screenshots in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.web.browser.support import Server, new_page, sign_in, visit
from timebank import board
from timebank.members import NewMember, create_member, create_organization
from timebank.models import Category, District, HelpRequest, Member

pytestmark = pytest.mark.browser

PASSWORD = "browser password 1"


def test_a_senior_takes_up_an_offer_and_the_helper_sees_it(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    async def seed(s: AsyncSession) -> int:
        linden = District(name="Linden")
        s.add(linden)
        await s.flush()
        visits = await s.scalar(select(Category.id).where(Category.slug == "visits"))

        async def add(name: str, role: str, email: str) -> Member:
            new = NewMember(
                name=name, role=role, email=email, password=PASSWORD, district_id=linden.id
            )
            return await create_member(s, new, actor=None)

        await add("Hanna Alt", "senior", "hanna@example.org")
        org = await create_organization(s, "Pflegedienst Linden")
        pro = NewMember(
            name="Paul Pflege",
            role="professional",
            email="paul@example.org",
            password=PASSWORD,
            organization_id=org.id,
        )
        await create_member(s, pro, actor=None)
        client = NewMember(name="Karla Klein", role="senior", organization_id=org.id)
        await create_member(s, client, actor=None)
        helper = await add("Timo Lese", "volunteer", "timo@example.org")
        offer = await board.create_offer(
            s, helper, member_id=helper.id, category_id=visits, title="Vorlesen am Nachmittag"
        )
        return offer.id  # type: ignore[return-value]

    offer_id = server.run(seed)

    senior = new_page(browser, server)
    sign_in(senior, "hanna@example.org", PASSWORD)
    senior.goto("/board/offers")
    visit(senior, "offer-board-senior")
    offer = senior.get_by_role("article", name="Vorlesen am Nachmittag")
    offer.get_by_role("button", name="Das möchte ich").click()
    senior.wait_for_load_state()
    assert re.search(r"/requests/\d+\?done=taken_up$", senior.url), senior.url
    notice = senior.get_by_role("status").first.inner_text()
    assert "meldet sich" in notice
    assert "Timo Lese kommt" in senior.locator("main").inner_text()
    visit(senior, "offer-taken-up-senior")

    async def made(s: AsyncSession) -> list[tuple[str, int | None]]:
        rows = await s.exec(select(HelpRequest).where(HelpRequest.offer_id == offer_id))
        return [(r.status, r.helper_id) for r in rows.all()]

    [(status, _)] = server.run(made)
    assert status == "matched"

    helper = new_page(browser, server)
    sign_in(helper, "timo@example.org", PASSWORD)
    helper.goto("/home")
    expected = helper.get_by_role("region", name="Wo Sie erwartet werden")
    assert "Hanna Alt möchte Ihre Hilfe" in expected.inner_text()
    visit(helper, "offer-taken-up-helper-home")
    expected.get_by_role("link", name="Vorlesen am Nachmittag").click()
    helper.wait_for_load_state()
    visit(helper, "offer-taken-up-helper-request")

    # Staff: the same offer for a client, the client list, and adding a client on paper.
    staff = new_page(browser, server)
    sign_in(staff, "paul@example.org", PASSWORD)
    staff.goto("/board/offers")
    staff.get_by_role("link", name="Das möchte ich für eine Klientin oder einen Klienten").click()
    staff.wait_for_load_state()
    staff.get_by_label("Für wen?").select_option(label="Karla Klein")
    visit(staff, "offer-take-up-for-a-client")
    staff.get_by_role("button", name="Das möchte ich").click()
    staff.wait_for_load_state()
    assert "done=taken_up" in staff.url, staff.url
    staff.get_by_role("link", name="Meine Klientinnen und Klienten").click()
    staff.wait_for_load_state()
    assert "Karla Klein" in staff.locator("main").inner_text()
    visit(staff, "clients-list")
    staff.get_by_role("link", name="Klientin oder Klienten ohne E-Mail aufnehmen").click()
    staff.get_by_label("Name").fill("Gerda Groß")
    staff.get_by_label("Stadtteil").select_option(label="Linden")
    staff.get_by_role("button", name="Aufnehmen").click()
    staff.wait_for_load_state()
    assert "auf Papier zugestimmt" in staff.locator("#consent-error").inner_text()
    visit(staff, "clients-add-without-consent")
