"""The network manager's pages and the help board in headless Chromium against a real server
on PostgreSQL: the hours of a journey in the manager's list, a reversal with its reason,
form errors, refusals; axe on every page and a screenshot of each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from tests.web.browser.support import Server, new_page, sign_in, visit
from timebank import board, exchanges, ledger, organizations
from timebank.members import NewMember, create_member
from timebank.models import Category, District, Transfer, id_of

pytestmark = pytest.mark.browser

PASSWORD = "browser password 2"


@dataclass(frozen=True)
class Network:
    manager: int
    volunteer: int
    senior: int
    transfer: int
    request: int


@pytest.fixture(scope="module")
def network(server: Server) -> Network:
    """A manager, a volunteer and a senior in one district; the volunteer helped the senior
    for 2 hours (logged by him, confirmed by her), and she asks for help again."""

    async def seed(s: AsyncSession) -> Network:
        altstadt = District(name="Altstadt")
        s.add(altstadt)
        await s.flush()
        shopping = await s.scalar(select(Category.id).where(Category.slug == "shopping"))

        async def add(name: str, role: str, email: str, **kw: Any) -> Any:
            new = NewMember(
                name=name, role=role, email=email, password=PASSWORD, district_id=altstadt.id, **kw
            )
            return await create_member(s, new, actor=None)

        manager = await add("Marta Leitung", "manager", "marta@example.org")
        volunteer = await add(
            "Timo Tatkraft", "volunteer", "timo@example.org", category_ids=(shopping,)
        )
        senior = await add("Erna Ehrlich", "senior", "erna@example.org")
        logged = await exchanges.record_exchange(
            s,
            volunteer,
            giver_id=volunteer.id,
            receiver_id=senior.id,
            minutes=120,
            performed_on=town_today(),
            category="shopping",
        )
        confirmed = await exchanges.confirm_exchange(s, senior, logged.exchange.id)  # type: ignore[arg-type]
        request = await board.create_request(
            s, senior, member_id=senior.id, category_id=shopping, title="Einkauf am Freitag"
        )
        return Network(
            manager=manager.id,
            volunteer=volunteer.id,
            senior=senior.id,
            transfer=confirmed.transfer.id,  # type: ignore[union-attr]
            request=request.id,  # type: ignore[arg-type]
        )

    return server.run(seed)


@pytest.fixture(scope="module")
def manager_page(browser: Any, server: Server, network: Network) -> Any:
    page = new_page(browser, server)
    sign_in(page, "marta@example.org", PASSWORD)
    return page


def row_of(page: Any, name: str) -> str:
    return page.locator("tr", has_text=name).first.inner_text()


def test_the_managers_list_shows_the_hours_of_the_journey(manager_page, network):
    page = manager_page
    page.goto("/manage/members?sort=-balance")
    visit(page, "manage-members")
    assert "2:00" in row_of(page, "Timo Tatkraft")
    assert "2:00" in row_of(page, "Erna Ehrlich")
    names = page.locator("table.directory tbody tr td:first-child a").all_inner_texts()
    assert names[0] == "Timo Tatkraft" and names[-1] == "Erna Ehrlich"


def test_a_manager_reverses_a_booking_with_a_reason(manager_page, server, network):
    page = manager_page
    page.goto(f"/manage/transfers?member={network.volunteer}")
    visit(page, "manage-transfers")
    page.locator("main").get_by_role("link", name=re.compile(rf"\b{network.transfer}\b")).click()
    page.wait_for_load_state()
    visit(page, "manage-reverse")
    # Without a reason: refused, the error next to the field, nothing booked.
    page.get_by_role("button").filter(has_text=re.compile(".")).last.click()
    page.wait_for_load_state()
    error = page.locator("#reason-error")
    assert error.is_visible()
    visit(page, "manage-reverse-error")
    page.locator("#f-reason").fill("Doppelt eingetragen")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith("/manage/transfers?done=reversed")

    async def reversal(s: AsyncSession) -> tuple[Any, int]:
        row = await s.scalar(select(Transfer).where(Transfer.reverses_id == network.transfer))
        account = await ledger.account_of_member(s, network.volunteer)
        return row, account.balance_minutes

    row, balance = server.run(reversal)
    assert row is not None and row.reason == "Doppelt eingetragen" and balance == 0
    page.goto(f"/manage/transfers?member={network.volunteer}")
    assert "Doppelt eingetragen" in page.locator("main").inner_text()
    assert (
        page.locator("main")
        .get_by_role("link", name=re.compile(rf"\b{network.transfer}\b"))
        .count()
        == 0
    )


MAIN_PAGES = [
    ("/manage", "manage-hub"),
    ("/manage/members/new", "manage-member-new"),
    ("/manage/members/{volunteer}", "manage-member-edit"),
    ("/manage/members/{senior}/login-sheet", "manage-login-sheet"),
    ("/manage/assisted", "manage-assisted"),
    ("/manage/exchanges", "manage-exchanges"),
    ("/manage/pool", "manage-pool"),
    ("/manage/lists", "manage-lists"),
    ("/manage/matching", "manage-matching"),
    ("/manage/intake", "manage-intake"),
    ("/manage/privacy", "manage-privacy"),
    ("/manage/members/{senior}/data", "manage-member-data"),
    ("/manage/members/{senior}/erase", "manage-member-erase"),
    ("/board", "board-requests"),
    ("/board/offers", "board-offers"),
    ("/board/offers/new", "board-offer-new"),
]


@pytest.mark.parametrize(("path", "name"), MAIN_PAGES)
def test_each_manager_page_passes_axe(manager_page, network, path, name):
    manager_page.goto(path.format(volunteer=network.volunteer, senior=network.senior))
    assert manager_page.locator("h1").count() == 1
    visit(manager_page, name)


def test_the_office_pages_of_issue_11_pass_axe(manager_page, server, network):
    """Organisations, exports and the audit log: each page, and a form drawn with an error."""

    async def organisation(s: AsyncSession) -> int:
        fields = organizations.OrganizationFields(
            name="Caritas Altstadt e.V.", contact_person="Frau Berg", address="Markt 1"
        )
        return id_of(await organizations.create(s, None, fields))

    number = server.run(organisation)
    page = manager_page
    page.goto(f"/manage/members/{network.senior}/login-sheet")  # an entry for the audit log
    for path, name in (
        ("/manage/organizations", "manage-organizations"),
        (f"/manage/organizations/{number}", "manage-organization"),
        ("/manage/organizations/new", "manage-organization-new"),
        ("/manage/exports", "manage-exports"),
        ("/manage/exports?from=2026-02-01&to=2026-01-01", "manage-exports-error"),
        ("/manage/audit", "manage-audit"),
    ):
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        visit(page, name)
    page.goto("/manage/organizations/new")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#name-error").is_visible()
    visit(page, "manage-organization-new-error")


def test_matching_suggests_the_volunteer_for_the_request(manager_page, network):
    page = manager_page
    page.goto("/manage/matching")
    section = page.locator("section", has_text="Einkauf am Freitag")
    assert "Timo Tatkraft" in section.inner_text()


def test_a_form_error_on_the_lists_page_keeps_the_value(manager_page):
    page = manager_page
    page.goto("/manage/lists")
    page.locator("#f-district_name").fill("altstadt")
    page.locator("#f-district_name").press("Enter")
    page.wait_for_load_state()
    assert page.locator("#district_name-error").is_visible()
    assert page.locator("#f-district_name").input_value() == "altstadt"
    visit(page, "manage-lists-error")


def test_the_members_list_fits_a_phone(browser, server, network):
    page = new_page(browser, server, viewport={"width": 390, "height": 844})
    sign_in(page, "marta@example.org", PASSWORD)
    page.goto("/manage/members")
    visit(page, "manage-members-phone")


def test_a_volunteer_gets_the_forbidden_page_on_manager_pages(browser, server, network):
    page = new_page(browser, server)
    sign_in(page, "timo@example.org", PASSWORD)
    answer = page.goto("/manage/members")
    assert answer.status == 403
    visit(page, "manage-forbidden")
    assert page.goto("/board").status == 200


def test_the_settings_page_passes_axe_and_shows_an_error_next_to_its_field(manager_page):
    page = manager_page
    page.goto("/manage/flags/settings")
    assert page.locator("h1").count() == 1
    visit(page, "manage-flag-settings")
    page.locator("#f-review_cron_every-cron").check()  # the experts' way
    page.locator("#f-review_cron").fill("30 25 * * *")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#review_cron-error").is_visible()
    assert page.locator("#f-review_cron").input_value() == "30 25 * * *"
    visit(page, "manage-flag-settings-error")


def test_the_front_door_passes_axe(browser, server, network):
    """A visitor's start page and a form, also drawn again with its errors."""
    page = new_page(browser, server)
    page.goto("/")
    assert page.locator("h1").count() == 1
    visit(page, "public-start")
    page.goto("/join/help")
    visit(page, "join-help")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#name-error").is_visible()
    visit(page, "join-help-errors")
