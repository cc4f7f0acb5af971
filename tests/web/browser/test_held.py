"""Help held at a limit, in headless Chromium against a real server on PostgreSQL (issue 9,
point 1): a senior over her limit confirms and reads a calm thank-you; the manager finds it
in the queue, sees what the pool holds after paying, and pays it from the pool. axe on every
page, a screenshot of each in test-artifacts/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from tests.web.browser.support import Server, new_page, sign_in, visit
from timebank import exchanges, ledger
from timebank.members import NewMember, create_member
from timebank.models import Exchange

pytestmark = pytest.mark.browser

PASSWORD = "browser password 9"


@dataclass(frozen=True)
class Held:
    exchange: int


@pytest.fixture(scope="module")
def held(server: Server) -> Held:
    """Erna may go no lower than −1:00 h; Timo helped her for 2 hours; Dora gave 5 hours to
    the community pool."""

    async def seed(s: AsyncSession) -> Held:
        async def add(name: str, role: str, email: str) -> Any:
            new = NewMember(name=name, role=role, email=email, password=PASSWORD)
            return await create_member(s, new, actor=None)

        await add("Marta Leitung", "manager", "marta.h@example.org")
        timo = await add("Timo Tatkraft", "volunteer", "timo.h@example.org")
        erna = await add("Erna Ehrlich", "senior", "erna.h@example.org")
        dora = await add("Dora Geberin", "volunteer", "dora.h@example.org")
        account = await ledger.account_of_member(s, erna.id)
        account.min_minutes = -60
        s.add(account)
        await exchanges.donate_to_pool(s, dora, 300)
        logged = await exchanges.record_exchange(
            s,
            timo,
            giver_id=timo.id,
            receiver_id=erna.id,
            minutes=120,
            performed_on=town_today(),
            category="shopping",
        )
        return Held(exchange=logged.exchange.id)  # type: ignore[arg-type]

    return server.run(seed)


def status_of(server: Server, exchange_id: int) -> tuple[str, bool]:
    async def read(s: AsyncSession) -> tuple[str, bool]:
        found = await s.get(Exchange, exchange_id)
        assert found is not None
        return found.status, found.paid_by_pool

    return server.run(read)


def test_a_senior_over_her_limit_confirms_and_the_manager_pays_it_from_the_pool(
    browser: Any, server: Server, held: Held
) -> None:
    senior = new_page(browser, server)
    sign_in(senior, "erna.h@example.org", PASSWORD)
    senior.locator(f"form[action$='/exchanges/{held.exchange}/confirm'] button").click()
    senior.wait_for_load_state()
    shown = senior.locator("main").inner_text()
    assert "Bestätigt — das Netzwerkbüro kümmert sich um den Ausgleich." in shown
    # No developer text: no code, no account number, no minutes as a number.
    assert not re.search(r"\b409\b|Fehlercode|Rückfragen|\bmin\b", shown)
    visit(senior, "held-senior-thanked")
    assert status_of(server, held.exchange) == ("held", False)

    office = new_page(browser, server)
    sign_in(office, "marta.h@example.org", PASSWORD)
    office.goto("/manage/held")
    visit(office, "held-queue")
    assert "Timo Tatkraft hat Erna Ehrlich 2:00 Std. geholfen" in office.content()
    office.get_by_role("link", name="Aus dem Topf bezahlen").click()
    office.wait_for_load_state()
    visit(office, "held-pay-from-pool")
    facts = office.locator("dl.facts").inner_text()
    assert "5:00 Std." in facts and "3:00 Std." in facts  # the pool now, and after paying
    assert status_of(server, held.exchange) == ("held", False)  # asked, not yet paid
    office.get_by_role("button", name="Aus dem Topf bezahlen").click()
    office.wait_for_load_state()
    assert office.url.endswith("/manage/held?done=paid_from_pool")
    assert "Der Gemeinschaftstopf hat diese Hilfe bezahlt." in office.content()
    visit(office, "held-paid")
    assert status_of(server, held.exchange) == ("confirmed", True)
