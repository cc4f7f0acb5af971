"""A letter printed for an offline senior, in headless Chromium against a real server on
PostgreSQL (issue 9, point 2): the manager opens the post from the hub, finds a Turkish
letter for Ayşe, who has no email, prints it (a PDF and a print-media screenshot in
test-artifacts/) with the address where the window of a DIN envelope shows it, and marks
it sent. axe on the post page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from tests.web.browser.support import ARTIFACTS, Server, new_page, sign_in, visit
from timebank import notifications
from timebank.i18n import Minutes
from timebank.members import NewMember, create_member
from timebank.models import NetworkSettings

pytestmark = pytest.mark.browser

PASSWORD = "browser password 9"
# CSS pixels per millimetre (96 per inch).
MM = 96 / 25.4


@pytest.fixture(scope="module")
def offline_senior(server: Server) -> None:
    """The office of Zeitbank Lindenfeld; Ayşe, who reads Turkish and has no email, with a
    postal address and a notice waiting for her."""

    async def seed(s: AsyncSession) -> None:
        settings = await s.get(NetworkSettings, 1) or NetworkSettings()
        settings.network_name = "Zeitbank Lindenfeld"
        settings.office_address = "Nachbarschaftshaus\nMarktstraße 12\n34567 Lindenfeld"
        settings.office_phone = "04321 98765-0"
        settings.office_contact = "Marta Leitung"
        s.add(settings)
        await create_member(
            s,
            NewMember(
                name="Marta Leitung", role="manager", email="marta.p@example.org", password=PASSWORD
            ),
            actor=None,
        )
        ayse = await create_member(
            s,
            NewMember(
                name="Ayşe Yılmaz",
                role="senior",
                language="tr",
                street="Lindenallee 3",
                postcode="34567",
                town="Lindenfeld",
            ),
            actor=None,
        )
        await create_member(
            s,
            NewMember(
                name="Fatima Haddad",
                role="senior",
                language="ar",
                street="Rosenweg 5",
                postcode="34567",
                town="Lindenfeld",
            ),
            actor=None,
        )
        await notifications.notify(
            s,
            ayse,
            kind="help_confirmed",
            subject=notifications.HELP_CONFIRMED[0],
            body=notifications.HELP_CONFIRMED[1],
            params={
                "receiver": "Ayşe Yılmaz",
                "giver": "Timo",
                "day": town_today(),
                "minutes": Minutes(90),
            },
        )

    server.run(seed)


def test_a_letter_is_printed_for_an_offline_senior_in_her_language(
    browser: Any, server: Server, offline_senior: None
) -> None:
    page = new_page(browser, server)
    sign_in(page, "marta.p@example.org", PASSWORD)
    page.goto("/manage")
    page.get_by_role("link", name="Post und Anrufe").click()
    visit(page, "post-letters")

    letter = page.locator("article.letter").filter(has_text="Ayşe Yılmaz")
    assert letter.get_attribute("lang") == "tr"
    text = letter.inner_text()
    assert "Merhaba" in text and "Saygılarımızla" in text
    assert "Lindenallee 3" in text and "34567 Lindenfeld" in text
    assert "Zeitbank Lindenfeld" in text

    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "post-letter-print.png"), full_page=True)
    page.pdf(path=str(ARTIFACTS / "post-letter.pdf"), prefer_css_page_size=True)
    # The DIN 5008 address field, 45 mm from the top and 20 mm from the left edge of the
    # paper, 85 × 45 mm: the page's margins (10 mm, 20 mm) and the window's place on the
    # sheet; on the left in Arabic too.
    arabic = page.locator("article.letter").filter(has_text="Fatima Haddad")
    assert arabic.locator(".letter-text").get_attribute("dir") == "rtl"
    for sheet_of in (letter, arabic):
        sheet, window = sheet_of.bounding_box(), sheet_of.locator(".letter-window").bounding_box()
        assert sheet and window
        assert abs(10 * MM + (window["y"] - sheet["y"]) - 45 * MM) < 2
        assert abs(20 * MM + (window["x"] - sheet["x"]) - 20 * MM) < 2
        assert abs(window["width"] - 85 * MM) < 2 and abs(window["height"] - 45 * MM) < 2
    assert page.locator("button[data-print]").is_hidden()  # nothing but letters on paper
    page.emulate_media(media="screen")

    page.get_by_role("button", name="Brief an Ayşe Yılmaz verschickt").click()
    page.wait_for_load_state()
    assert "Die Briefe sind als verschickt vermerkt." in page.locator("main").inner_text()
    assert page.locator("article.letter").filter(has_text="Ayşe Yılmaz").count() == 0
    assert page.locator("article.letter").count() == 1  # Fatima's is still to be sent
