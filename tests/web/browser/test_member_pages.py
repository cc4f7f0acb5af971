"""The members' pages in headless Chromium against a real server on PostgreSQL: the whole
help journey, assisted entry, refusals, languages, print and zoom; axe on every page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.web.browser.support import (
    ARTIFACTS,
    Server,
    axe_violations,
    new_page,
    scrolls_sideways,
    sign_in,
    visit,
)
from timebank.members import NewMember, create_member, create_organization
from timebank.models import Category, District, Exchange

pytestmark = pytest.mark.browser

PASSWORD = "browser password 1"


@dataclass(frozen=True)
class People:
    senior: int
    volunteer: int
    other_volunteer: int
    professional: int
    client: int


@pytest.fixture(scope="module")
def people(server: Server) -> People:
    async def seed(s: AsyncSession) -> People:
        org = await create_organization(s, "Nachbarschaftshilfe Mitte")
        mitte = District(name="Mitte")
        s.add(mitte)
        await s.flush()
        shopping = await s.scalar(select(Category.id).where(Category.slug == "shopping"))

        async def add(name: str, role: str, email: str | None, **kw: Any) -> int:
            new = NewMember(
                name=name,
                role=role,
                email=email,
                password=PASSWORD if email else None,
                district_id=mitte.id,
                **kw,
            )
            return (await create_member(s, new, actor=None)).id  # type: ignore[return-value]

        return People(
            senior=await add("Hildegard Haas", "senior", "hildegard@example.org"),
            volunteer=await add(
                "Jonas Jung", "volunteer", "jonas@example.org", category_ids=(shopping,)
            ),
            other_volunteer=await add("Mira Maus", "volunteer", "mira@example.org"),
            professional=await add(
                "Petra Pflege", "professional", "petra@example.org", organization_id=org.id
            ),
            client=await add("Kurt Kunde", "senior", None, organization_id=org.id),
        )

    return server.run(seed)


def exchanges_of(server: Server, giver: int, receiver: int) -> list[Exchange]:
    async def read(s: AsyncSession) -> list[Exchange]:
        rows = await s.exec(
            select(Exchange).where(Exchange.giver_id == giver, Exchange.receiver_id == receiver)
        )
        return list(rows.all())

    return server.run(read)


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_senior_asks_volunteer_helps_logs_two_hours_senior_confirms(
    browser: Any, server: Server, people: People
) -> None:
    senior = new_page(browser, server)
    sign_in(senior, "hildegard@example.org", PASSWORD)
    visit(senior, "senior-home")
    senior.get_by_role("link", name="Ich brauche Hilfe").first.click()
    visit(senior, "request-new")
    senior.get_by_label("Wobei brauchen Sie Hilfe?").fill("Einkauf für die Woche")
    senior.get_by_label("Art der Hilfe").select_option(label="Einkaufen")
    senior.get_by_label("Welche Zeit passt Ihnen?").fill("Dienstag vormittags")
    senior.get_by_label("dringend", exact=True).check()
    senior.get_by_label("Wie erreicht die helfende Person Sie?").fill("0421 555 01")
    senior.get_by_role("button", name="Um Hilfe bitten").click()
    senior.wait_for_load_state()
    assert "Ihre Anfrage hängt an der Pinnwand" in senior.content()
    visit(senior, "request-show-own")

    volunteer = new_page(browser, server)
    sign_in(volunteer, "jonas@example.org", PASSWORD)
    visit(volunteer, "volunteer-home")
    volunteer.get_by_role("link", name="Einkauf für die Woche").click()
    visit(volunteer, "request-show")
    volunteer.get_by_label("Eine Nachricht an Hildegard Haas").fill("Ich komme gern.")
    volunteer.get_by_role("button", name="Ich kann helfen").click()
    volunteer.wait_for_load_state()
    assert "Die fragende Person erfährt, dass Sie helfen können" in volunteer.content()

    senior.goto("/home")
    senior.get_by_role("link", name="Einkauf für die Woche").click()
    senior.get_by_role("button", name="Ja, Jonas Jung soll kommen").click()
    senior.goto("/home")
    assert "Jonas Jung kommt" in senior.content()

    volunteer.get_by_role("link", name="Stunden für diese Anfrage eintragen").click()
    visit(volunteer, "log-hours")
    assert volunteer.get_by_label("Wem haben Sie geholfen?").input_value() == str(people.senior)
    volunteer.get_by_label("Stunden", exact=True).fill("2")
    volunteer.get_by_role("button", name="Stunden eintragen").click()
    volunteer.wait_for_load_state()
    assert "Ihre Stunden sind eingetragen" in volunteer.content()
    [logged] = exchanges_of(server, people.volunteer, people.senior)
    assert (logged.minutes, logged.status) == (120, "pending")

    senior.goto("/home")
    assert "Jonas Jung hat Hildegard Haas 2:00 Std. geholfen" in senior.content()
    visit(senior, "senior-home-to-confirm")
    senior.get_by_role("button", name="Ja, das stimmt").click()
    senior.wait_for_load_state()
    assert "Bestätigt. Die Stunden sind gebucht." in senior.content()
    [confirmed] = exchanges_of(server, people.volunteer, people.senior)
    assert confirmed.status == "confirmed"

    senior.get_by_role("link", name="Mein Kontoauszug").first.click()
    visit(senior, "statement-senior")
    assert "Jonas Jung hat Ihnen geholfen" in senior.content()
    received = senior.locator('td[data-label="Stunden bekommen"]').first.inner_text()
    assert received.strip() == "2:00 Std."

    volunteer.goto("/statement")
    visit(volunteer, "statement-volunteer")
    assert "Sie haben Hildegard Haas geholfen" in volunteer.content()
    given = volunteer.locator('td[data-label="Stunden gegeben"]').first.inner_text()
    assert given.strip() == "2:00 Std."
    volunteer.goto("/home")
    assert "Sie haben 2:00 Std. gegeben und 0:00 Std. bekommen" in volunteer.content()

    # The statement prints on A4 without the menu: one month, one page.
    volunteer.goto("/statement")
    volunteer.emulate_media(media="print")
    pdf = volunteer.pdf(format="A4", print_background=False)
    (ARTIFACTS / "statement-volunteer.pdf").write_bytes(pdf)
    assert pdf_pages(pdf) == 1
    assert not volunteer.get_by_role("navigation").is_visible()


def test_a_professional_enters_help_for_a_client_on_their_behalf(
    browser: Any, server: Server, people: People
) -> None:
    page = new_page(browser, server)
    sign_in(page, "petra@example.org", PASSWORD)
    visit(page, "professional-home")
    page.get_by_role("link", name="Hilfe für eine Klientin oder einen Klienten eintragen").click()
    visit(page, "assisted-entry")
    page.get_by_label("Wer hat die Hilfe bekommen?").select_option(label="Kurt Kunde")
    page.get_by_label("Wer hat geholfen?").select_option(label="Mira Maus")
    page.get_by_label("Stunden", exact=True).fill("1")
    page.get_by_label("Minuten").select_option("30")
    page.get_by_label("Art der Hilfe").select_option(label="Formulare und Briefe")
    page.get_by_role("button", name="In ihrem Auftrag eintragen").click()
    page.wait_for_load_state()
    assert "Die Hilfe ist für Ihre Klientin oder Ihren Klienten eingetragen" in page.content()
    [entry] = exchanges_of(server, people.other_volunteer, people.client)
    assert (entry.status, entry.assisted, entry.minutes) == ("confirmed", True, 90)
    page.goto(f"/members/{people.client}/statement")
    visit(page, "statement-client-assisted")
    assert "eingetragen im Auftrag von Petra Pflege" in page.content()


def test_form_errors_are_shown_at_the_field_and_keep_the_input(
    browser: Any, server: Server, people: People
) -> None:
    page = new_page(browser, server)
    sign_in(page, "mira@example.org", PASSWORD)
    page.goto("/exchanges/new")
    page.get_by_label("Oder die Mitgliedsnummer").fill(str(people.senior))
    page.get_by_label("Stunden", exact=True).fill("0")
    page.get_by_label("Notiz").fill("Fenster geputzt")
    page.get_by_role("button", name="Stunden eintragen").click()
    page.wait_for_load_state()
    visit(page, "log-hours-errors")
    assert page.get_by_label("Notiz").input_value() == "Fenster geputzt"
    assert "Wie lange hat es gedauert?" in page.locator("fieldset.duration").inner_text()


def test_a_volunteer_gets_403_for_another_members_statement(
    browser: Any, server: Server, people: People
) -> None:
    page = new_page(browser, server)
    sign_in(page, "mira@example.org", PASSWORD)
    answer = page.goto(f"/members/{people.senior}/statement")
    assert answer is not None and answer.status == 403
    assert "Diese Seite dürfen Sie nicht sehen" in page.content()
    assert "Hildegard" not in page.locator("main").inner_text()
    visit(page, "error-403")


def test_a_form_posted_without_its_csrf_token_is_refused(
    browser: Any, server: Server, people: People
) -> None:
    page = new_page(browser, server)
    sign_in(page, "mira@example.org", PASSWORD)
    page.goto("/donate")
    page.locator("main form input[name=_csrf_token]").evaluate("e => e.remove()")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Spenden").click()
    assert navigation.value is not None and navigation.value.status == 403
    visit(page, "error-csrf")


def test_the_accessibility_check_can_fail(browser: Any, server: Server) -> None:
    """axe really runs: a picture without a text alternative is reported."""
    page = new_page(browser, server)
    page.goto("/login")
    page.evaluate("() => document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in [v["id"] for v in axe_violations(page)]


def test_german_by_default_english_on_request_and_larger_text(browser: Any, server: Server) -> None:
    page = new_page(browser, server)
    page.goto("/login")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("heading", name="Anmelden").is_visible()
    visit(page, "login-de")
    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Wechseln").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Sign in").is_visible()
    visit(page, "login-en")
    page.get_by_role("button", name="Larger text: off").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("class") == "large-text"
    visit(page, "login-en-larger-text")

    arabic = new_page(browser, server, locale="ar")
    arabic.goto("/login")
    assert arabic.locator("html").get_attribute("dir") == "rtl"
    visit(arabic, "login-ar")


def test_pages_fit_at_200_percent_zoom(browser: Any, server: Server, people: People) -> None:
    """A 1280 px window at 200 % zoom is a 640 px wide page: nothing may scroll sideways."""
    page = new_page(browser, server, viewport={"width": 640, "height": 900})
    sign_in(page, "hildegard@example.org", PASSWORD)
    for path in ("/home", "/requests/new", "/statement", "/donate", "/exchanges/new"):
        page.goto(path)
        assert not scrolls_sideways(page), path
    page.goto("/statement")
    visit(page, "statement-senior-zoom-200")


def test_one_and_a_half_hours_typed_with_a_comma_book_1_30(
    browser: Any, server: Server, people: People
) -> None:
    """Typed key by key as a person does: Chromium's <input type=number> dropped the comma of
    "1,5", and 15:00 h were booked."""
    page = new_page(browser, server)
    sign_in(page, "mira@example.org", PASSWORD)
    page.goto("/exchanges/new")
    page.get_by_label("Oder die Mitgliedsnummer").fill(str(people.senior))
    hours = page.get_by_label("Stunden", exact=True)
    hours.fill("")
    hours.press_sequentially("1,5")
    assert hours.input_value() == "1,5"
    page.get_by_label("Art der Hilfe").select_option(label="Einkaufen")
    visit(page, "log-hours-decimal-comma")
    page.get_by_role("button", name="Stunden eintragen").click()
    page.wait_for_load_state()
    assert "Ihre Stunden sind eingetragen" in page.content()
    [logged] = exchanges_of(server, people.other_volunteer, people.senior)
    assert logged.minutes == 90
