"""The dashboard on the hub, the funders' report (page and XLSX) and the Engagementnachweis,
over HTTP (both databases)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from tests.web.support import main_of, manager, sign_in
from timebank import exchanges
from timebank.db import transaction
from timebank.models import Member

Sessions = async_sessionmaker[AsyncSession]


async def some_help(sessions: Sessions, world: World) -> None:
    """The volunteer helps twice this month (shopping 1:30, garden 0:45), the second
    volunteer once (0:20)."""
    today = town_today()
    async with transaction(sessions) as s:
        for giver, minutes, category in (
            (world.volunteer, 90, "shopping"),
            (world.volunteer, 45, "garden"),
            (world.volunteer2, 20, "shopping"),
        ):
            await exchanges.record_exchange(
                s,
                world.manager,
                giver_id=giver.id,  # type: ignore[arg-type]
                receiver_id=world.senior.id,  # type: ignore[arg-type]
                minutes=minutes,
                performed_on=today,
                category=category,
                override_reason="test set-up",
            )


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main_of(html)))


async def test_the_hub_shows_the_network_in_charts_and_tables(client, world, sessions):
    await some_help(sessions, world)
    await manager(client)
    answer = await client.get("/manage", params={"months": "12"})
    assert answer.status_code == 200
    html = answer.text
    charts = re.findall(r"<svg [^>]*>", html)
    assert len(charts) == 8
    for svg in charts:
        assert 'role="img"' in svg and "aria-labelledby=" in svg
    assert html.count("<title id=") == 8 and html.count("<desc id=") == 8
    # Drawn with presentation attributes only: nothing the CSP would refuse.
    assert " style=" not in html and "<style" not in html
    page = text_of(html)
    assert "Hours given per month, by kind of help" in page
    # The month's figures in the table: 2:15 h given in all, 1:50 h of it shopping.
    assert "2:15 h" in page and "1:50 h" in page
    # The period choice: 12 months chosen, 12 rows in the table of months.
    assert 'value="12" selected' in html
    table = html.split("<caption>Hours given per month, by kind of help</caption>")[1]
    assert table.split("</table>")[0].count('<th scope="row">') == 12


async def test_the_report_page_and_its_workbook(client, world, sessions):
    await some_help(sessions, world)
    await manager(client)
    this_month = town_today().strftime("%Y-%m")
    answer = await client.get("/manage/reports", params={"from": this_month, "to": this_month})
    assert answer.status_code == 200
    page = text_of(answer.text)
    assert "Report on the network" in page
    # Hours given in short, and per district: Nord (the volunteer) 2:15 h, Süd 0:20 h.
    assert "Hours given 2:35 h" in page
    assert "Nord 2:15 h" in page and "Süd 0:20 h" in page
    assert "Caritas" not in page or "Caritas Nord" in page

    workbook = await client.get(
        "/manage/reports/workbook", params={"from": this_month, "to": this_month}
    )
    assert workbook.status_code == 200
    assert workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in workbook.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(workbook.content)) as book:
        listing = book.read("xl/workbook.xml").decode()
        sheets = re.findall(r'<sheet name="([^"]+)"', listing)
        strings = book.read("xl/sharedStrings.xml").decode()
        districts = book.read("xl/worksheets/sheet3.xml").decode()
    assert sheets == [
        "Months",
        "Kinds of help",
        "Districts",
        "Roles",
        "Organisations",
        "Members",
        "Requests",
        "Community pool",
    ]
    assert "Nord" in strings and "Hours given" in strings
    # Hours as numbers: 2:15 h is 2.25.
    assert "<v>2.25</v>" in districts


async def test_a_period_that_does_not_read_right_is_refused_at_its_field(client, world):
    await manager(client)
    answer = await client.get("/manage/reports", params={"from": "March", "to": "2026-01"})
    assert answer.status_code == 400
    assert "please enter a month like 2026-03" in text_of(answer.text)
    backwards = await client.get("/manage/reports", params={"from": "2026-05", "to": "2026-01"})
    assert backwards.status_code == 400


async def set_language(sessions: Sessions, member: Member, language: str) -> None:
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        row.language = language  # type: ignore[union-attr]
        s.add(row)


async def test_the_certificate_in_german_for_the_volunteer(client, world, sessions):
    await some_help(sessions, world)
    await set_language(sessions, world.volunteer, "de")
    await sign_in(client, "volker@example.org")
    answer = await client.get("/certificate")
    assert answer.status_code == 200
    page = text_of(answer.text)
    assert "Engagementnachweis" in page
    assert "Hiermit bestätigen wir: Volker Vogel hat vom" in page
    assert "In dieser Zeit hat Volker Vogel insgesamt 2:15 Std. geholfen." in page
    assert "Einkaufen 1:30 Std." in page or "1:30 Std." in page
    assert "für das Netzwerkbüro" in page


async def test_the_manager_prints_a_certificate_in_the_volunteers_language(client, world, sessions):
    await some_help(sessions, world)
    await set_language(sessions, world.volunteer, "tr")
    await manager(client)
    last_year = (town_today() - timedelta(days=400)).strftime("%Y-%m")
    answer = await client.get(
        f"/manage/members/{world.volunteer.id}/certificate",
        params={"from": last_year, "to": town_today().strftime("%Y-%m")},
    )
    assert answer.status_code == 200
    page = text_of(answer.text)
    # The frame in the manager's English, the paper in the volunteer's Turkish.
    assert "Certificate of volunteering for Volker Vogel" in page
    assert "Gönüllülük belgesi" in page
    assert "toplam 2 sa. 15 dk. yardım verdi" in page
    assert "ağ bürosu adına" in page


async def test_another_volunteer_cannot_print_someones_certificate(client, world):
    await sign_in(client, "vera@example.org")
    answer = await client.get(f"/manage/members/{world.volunteer.id}/certificate")
    assert answer.status_code == 403
