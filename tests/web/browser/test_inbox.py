"""The inbox on a phone in headless Chromium against a real server on PostgreSQL: the unread
count in the menu, reading a notice, axe finding nothing; screenshots in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.web.browser.support import Server, new_page, sign_in, visit
from timebank import notifications
from timebank.members import NewMember, create_member

pytestmark = pytest.mark.browser

PASSWORD = "browser password 1"
PHONE = {"width": 390, "height": 844}


def test_the_inbox_on_a_phone(server: Server, browser):  # type: ignore[no-untyped-def]
    async def seed(s: AsyncSession) -> None:
        # Joining writes the welcome; one more notice with a link.
        member = await create_member(
            s,
            NewMember(
                name="Ilse Inbox", role="senior", email="ilse@example.org", password=PASSWORD
            ),
            actor=None,
        )
        await notifications.notify(
            s,
            member,
            kind="x",
            subject=notifications.HOURS_LOGGED[0],
            body="Volker Vogel hat am 20. November 2026 für Ilse Inbox Hilfe eingetragen.",
            link=notifications.HOME_PATH,
        )

    server.run(seed)
    page = new_page(browser, server, viewport=PHONE)
    sign_in(page, "ilse@example.org", PASSWORD)
    menu = page.get_by_role("navigation", name="Hauptmenü")
    menu.get_by_role("link", name=re.compile(r"^Nachrichten\W+2 ungelesene Nachrichten$")).click()
    page.wait_for_url("**/notifications")
    visit(page, "inbox-phone")
    page.get_by_role("button", name="Als gelesen markieren", exact=True).first.click()
    page.wait_for_url(re.compile(r"/notifications\?done=notice_read$"))
    assert (
        menu.get_by_role("link", name=re.compile(r"^Nachrichten\W+1 ungelesene Nachricht$")).count()
        == 1
    )
    page.get_by_role("link", name="Wählen Sie, welche E-Mails Sie bekommen").click()
    page.get_by_label("Eine E-Mail am Tag mit den Nachrichten des Tages").check()
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(re.compile(r"/notifications/email\?done=email_saved$"))
    visit(page, "inbox-email-choice-phone")
