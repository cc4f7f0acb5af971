"""The statement page (issue 9, point 7): the network's letterhead, a print button (a script
file, no inline script), a choice of a month or the whole year, columns for the date of help,
what, hours given, hours received and the balance, lines in words (never "reversal" or
"transfer"), month sums that say what they add; and the home page's figures after a
donation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from tests.support import Sessions, World
from tests.web.support import Client, main_of, manager, sign_in
from timebank import exchanges
from timebank.db import transaction
from timebank.models import Member


def moment(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=UTC)


async def book_december(sessions: Sessions, world: World) -> None:
    """Sieglinde got 2 h on 28 December 2025 (booked 3 January) and 1 h on 29 December that
    was booked back as entered twice; she helped Vera for 3 h on 30 December and gave 30
    minutes to the pool."""
    async with transaction(sessions) as s:

        async def helped(giver: Member, receiver: Member, minutes: int, day: date, booked: date):
            result = await exchanges.record_exchange(
                s,
                world.manager,
                giver_id=giver.id,  # type: ignore[arg-type]
                receiver_id=receiver.id,  # type: ignore[arg-type]
                minutes=minutes,
                performed_on=day,
                category="shopping",
                at=moment(booked),
            )
            assert result.transfer is not None
            return result.transfer

        await helped(world.volunteer, world.senior, 120, date(2025, 12, 28), date(2026, 1, 3))
        twice = await helped(
            world.volunteer, world.senior, 60, date(2025, 12, 29), date(2025, 12, 29)
        )
        await exchanges.reverse_exchange_transfer(
            s,
            world.manager,
            twice.id,
            reason="Entered twice",
            at=moment(date(2026, 1, 5)),  # type: ignore[arg-type]
        )
        await helped(world.senior, world.volunteer2, 180, date(2025, 12, 30), date(2025, 12, 30))
        senior = await s.get(Member, world.senior.id)
        assert senior is not None
        await exchanges.donate_to_pool(s, senior, 30, at=moment(date(2025, 12, 31)))


def cells(html: str, label: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(rf'<td[^>]*data-label="{label}"[^>]*>(.*?)</td>', html, re.S)
    ]


async def test_the_yearly_statement_in_words_with_sums_that_add_up(
    client: Client, world: World, sessions: Sessions
) -> None:
    await book_december(sessions, world)
    await manager(client)
    answer = await client.get(f"/members/{world.senior.id}/statement?year=2025")
    assert answer.status_code == 200, answer.text
    page = main_of(answer.text)
    # Printing: a button wired by a script file, the network's letterhead on the paper.
    assert "data-print" in page and 'src="/static/print.js"' in page and "<script>" not in page
    paper = page.split('class="statement-body"', 1)[1]
    assert 'class="letterhead"' in paper.split("<h1>", 1)[0]
    # The choice: this year, the whole of it.
    assert '<option value="2025" selected>' in page
    assert '<option value="">The whole year</option>' in page
    for heading in ("Date of help", "What", "Hours given", "Hours received", "Balance"):
        assert '<th scope="col"' in page and f">{heading}</th>" in page
    assert page.count("<h2") == 2  # December 2025, and the year at a glance
    assert "December 2025" in page and "January 2026" not in page.split("<h2", 2)[1]
    # On the date of help, the booking date beside it where it differs.
    assert cells(page, "Date of help")[0].startswith("Dec 28, 2025")
    assert "booked on Jan 3, 2026" in cells(page, "Date of help")[0]
    whats = cells(page, "What")
    assert whats[0].startswith("Help received from Volker Vogel")
    assert whats[2].startswith("Cancelled: Volker Vogel helped you")
    assert "Reason: Entered twice" in whats[2]
    assert whats[3].startswith("Help given to Vera Wolf")
    assert whats[4].startswith("Donation to the community pool")
    assert not re.search(r"\b(reversal|transfer|pool_payment)\b", page, re.I)
    assert cells(page, "Hours received")[:3] == ["2:00 h", "1:00 h", "−1:00 h"]
    assert cells(page, "Hours given")[0] == "3:00 h"
    assert cells(page, "Balance") == [
        "0:00 h", "−2:00 h", "−3:00 h", "−2:00 h", "1:00 h", "0:30 h", "0:30 h"
    ]  # fmt: skip
    footer = page.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    assert "Sum for December 2025" in footer
    assert cells(footer, "Hours given") == ["3:00 h"]
    assert cells(footer, "Hours received") == ["2:00 h"]
    assert cells(footer, "Donations and corrections") == ["−0:30 h"]
    assert "Balance at the end of December 2025" in footer and "0:30 h" in footer
    assert "Received" not in footer and "paid" not in footer


async def test_a_months_statement_and_an_empty_month(
    client: Client, world: World, sessions: Sessions
) -> None:
    await book_december(sessions, world)
    await sign_in(client, "sieglinde@example.org")
    december = main_of(
        (await client.get("/statement?year=2025&month=12", follow_redirects=True)).text
    )
    assert '<option value="12" selected>December</option>' in december
    assert "December 2025" in december and "at a glance" not in december
    january = main_of(
        (await client.get(f"/members/{world.senior.id}/statement?year=2026&month=1")).text
    )
    assert "No hours were booked for this month." in january
    assert "Balance at the end: 0:30 h" in january
    home = main_of((await client.get("/home")).text)
    assert "You gave 3:00 h, received 2:00 h" in home
    assert "You gave 0:30 h to the community pool." in home
