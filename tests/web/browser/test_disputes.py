"""Disputes in headless Chromium against a real server on PostgreSQL (issue 9, point 4): a
senior says a help entry took less time, the helper accepts the corrected length on his
home page; another entry she disputes is settled by the manager in the dispute queue with a
corrected length and a note. axe on every page, a screenshot of each in test-artifacts/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from tests.web.browser.support import Server, new_page, sign_in, visit
from timebank import exchanges
from timebank.members import NewMember, create_member
from timebank.models import Exchange, Transfer

pytestmark = pytest.mark.browser

PASSWORD = "browser password 4"


@dataclass(frozen=True)
class Entries:
    for_the_helper: int  # settled by the helper accepting the length
    for_the_office: int  # settled by the manager


@pytest.fixture(scope="module")
def entries(server: Server) -> Entries:
    """Bernd helped Greta twice for 2 hours; Carla helped her for 1 hour."""

    async def seed(s: AsyncSession) -> Entries:
        async def add(name: str, role: str, email: str) -> Any:
            new = NewMember(name=name, role=role, email=email, password=PASSWORD)
            return await create_member(s, new, actor=None)

        await add("Marta Leitung", "manager", "marta.d@example.org")
        bernd = await add("Bernd Beistand", "volunteer", "bernd.d@example.org")
        carla = await add("Carla Credo", "volunteer", "carla.d@example.org")
        greta = await add("Greta Gründlich", "senior", "greta.d@example.org")

        async def logged(giver: Any, minutes: int, category: str) -> int:
            result = await exchanges.record_exchange(
                s,
                giver,
                giver_id=giver.id,
                receiver_id=greta.id,
                minutes=minutes,
                performed_on=town_today(),
                category=category,
            )
            return result.exchange.id  # type: ignore[return-value]

        return Entries(
            for_the_helper=await logged(bernd, 120, "shopping"),
            for_the_office=await logged(carla, 60, "visits"),
        )

    return server.run(seed)


def booked(server: Server, exchange_id: int) -> tuple[str, int, list[int]]:
    async def read(s: AsyncSession) -> tuple[str, int, list[int]]:
        found = await s.get(Exchange, exchange_id)
        assert found is not None
        rows = await s.exec(select(Transfer.minutes).where(Transfer.exchange_id == exchange_id))
        return found.status, found.minutes, list(rows.all())

    return server.run(read)


def dispute(page: Any, exchange_id: int, name: str, hours: str, words: str) -> None:
    """The senior presses "Nein, das stimmt nicht" and says it took ``hours``."""
    page.goto("/home")
    page.locator(f"a[href$='/exchanges/{exchange_id}/dispute']").click()
    page.wait_for_load_state()
    visit(page, name)
    page.get_by_label("Es hat anders lange gedauert").check()
    page.get_by_label("Stunden", exact=True).fill(hours)
    page.get_by_label("Ein paar Worte dazu").fill(words)
    page.get_by_role("button", name="Senden").click()
    page.wait_for_load_state()
    assert page.url.endswith("/home?done=disputed"), page.url


def test_a_dispute_settled_by_the_helper_and_another_by_the_manager(
    browser: Any, server: Server, entries: Entries
) -> None:
    senior = new_page(browser, server)
    sign_in(senior, "greta.d@example.org", PASSWORD)
    visit(senior, "dispute-senior-home")
    # A refusal first: no reason chosen, nothing written.
    senior.locator(f"a[href$='/exchanges/{entries.for_the_helper}/dispute']").click()
    senior.wait_for_load_state()
    senior.get_by_role("button", name="Senden").click()
    senior.wait_for_load_state()
    assert "Bitte wählen Sie, was nicht stimmt." in senior.locator("main").inner_text()
    visit(senior, "dispute-form-refused")
    dispute(senior, entries.for_the_helper, "dispute-form", "1,5", "Wir waren früher fertig.")
    shown = senior.locator("main").inner_text()
    assert "Es hat 1:30 Std. gedauert." in shown
    visit(senior, "dispute-senior-disputed")
    assert booked(server, entries.for_the_helper) == ("disputed", 120, [])

    # The helper reads why and accepts the corrected length: booked once, with it.
    helper = new_page(browser, server)
    sign_in(helper, "bernd.d@example.org", PASSWORD)
    shown = helper.locator("main").inner_text()
    assert "Greta Gründlich sagt:" in shown and "Es hat 1:30 Std. gedauert." in shown
    visit(helper, "dispute-helper-home")
    helper.get_by_role("button", name="Ja, es waren 1:30 Std.").click()
    helper.wait_for_load_state()
    assert "Die Hilfe ist mit der berichtigten Dauer bestätigt." in helper.content()
    visit(helper, "dispute-helper-accepted")
    assert booked(server, entries.for_the_helper) == ("confirmed", 90, [90])

    # The other one goes to the manager, who confirms 45 minutes with a note.
    dispute(
        senior, entries.for_the_office, "dispute-form-second", "0:45", "Nur eine Dreiviertelstunde."
    )
    office = new_page(browser, server)
    sign_in(office, "marta.d@example.org", PASSWORD)
    office.goto("/manage/disputes")
    visit(office, "dispute-queue")
    card = office.locator("section.card", has_text="Carla Credo")
    card.get_by_label("Notiz für beide Seiten").fill("Mit beiden telefoniert.")
    card.get_by_role("button", name="Mit der berichtigten Dauer bestätigen").click()
    office.wait_for_load_state()
    assert office.url.endswith("/manage/disputes?done=dispute_settled"), office.url
    text = office.locator("main").inner_text()
    assert "Der Einwand ist geklärt." in text and "Mit beiden telefoniert." in text
    visit(office, "dispute-queue-settled")
    assert booked(server, entries.for_the_office) == ("confirmed", 45, [45])
