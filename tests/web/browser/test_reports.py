"""The network in figures, in headless Chromium against a real server on PostgreSQL (issue
11, points 1 and 2): the manager sees the dashboard on the hub, opens the funders' report and
prints it, then prints a volunteer's Engagementnachweis from the member's page (screenshots
and PDFs in test-artifacts/). axe finds nothing on the dashboard, the report or the
certificate."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from tests.web.browser.support import ARTIFACTS, Server, new_page, sign_in, visit
from timebank import exchanges
from timebank.members import NewMember, create_member
from timebank.models import District, NetworkSettings

pytestmark = pytest.mark.browser

PASSWORD = "browser password 11"


@pytest.fixture(scope="module")
def network_with_help(server: Server) -> dict[str, int]:
    """Zeitbank Lindenfeld's office; Ole helps Hilde twice this month."""

    async def seed(s: AsyncSession) -> dict[str, int]:
        settings = await s.get(NetworkSettings, 1) or NetworkSettings()
        settings.network_name = "Zeitbank Lindenfeld"
        settings.office_address = "Nachbarschaftshaus\nMarktstraße 12\n34567 Lindenfeld"
        settings.office_contact = "Rita Leitung"
        s.add(settings)
        north = District(name="Lindenfeld-Nord")
        s.add(north)
        await s.flush()
        manager = await create_member(
            s,
            NewMember(
                name="Rita Leitung", role="manager", email="rita.r@example.org", password=PASSWORD
            ),
            actor=None,
        )
        ole = await create_member(
            s,
            NewMember(name="Ole Olsen", role="volunteer", district_id=north.id),
            actor=None,
        )
        hilde = await create_member(
            s, NewMember(name="Hilde Hahn", role="senior", district_id=north.id), actor=None
        )
        for minutes, category in ((90, "shopping"), (60, "garden")):
            await exchanges.record_exchange(
                s,
                manager,
                giver_id=ole.id,  # type: ignore[arg-type]
                receiver_id=hilde.id,  # type: ignore[arg-type]
                minutes=minutes,
                performed_on=town_today(),
                category=category,
                override_reason="Startguthaben",
            )
        return {"ole": ole.id}  # type: ignore[dict-item]

    return server.run(seed)


def test_the_manager_prints_a_report_and_a_certificate(
    browser: Any, server: Server, network_with_help: dict[str, int]
) -> None:
    page = new_page(browser, server)
    sign_in(page, "rita.r@example.org", PASSWORD)
    page.goto("/manage?months=12")
    dashboard = page.locator("section.dashboard")
    assert dashboard.locator("svg[role=img]").count() == 8
    assert "2:30 Std." in dashboard.inner_text()
    visit(page, "dashboard")

    page.get_by_role("link", name="Berichte für Geldgeber").click()
    visit(page, "report")
    text = page.locator("main").inner_text()
    assert "Bericht über das Netzwerk" in text and "Zeitbank Lindenfeld" in text
    assert "Lindenfeld-Nord" in text
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "report-print.png"), full_page=True)
    page.pdf(path=str(ARTIFACTS / "report.pdf"))
    assert page.locator("button[data-print]").is_hidden()
    page.emulate_media(media="screen")

    page.goto(f"/manage/members/{network_with_help['ole']}")
    page.get_by_role("link", name="Engagementnachweis").click()
    visit(page, "certificate")
    paper = page.locator("article.certificate")
    words = paper.inner_text()
    assert "Engagementnachweis" in words and "Ole Olsen" in words
    assert "insgesamt 2:30 Std. geholfen" in words
    assert "Rita Leitung" in words and "für das Netzwerkbüro" in words
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "certificate-print.png"), full_page=True)
    page.pdf(path=str(ARTIFACTS / "certificate.pdf"))
    assert page.locator("form.filters").is_hidden()
