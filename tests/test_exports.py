"""Exports (issue 11, point 3): each export has as many rows as the database holds for the
period (the town's days, both ends included), reversals among the transfers; CSV is what
German Excel opens right; XLSX opens; a bad period is refused at its field. Both databases."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from tests.support import World, account_id_of, town_today
from timebank import board, exchanges, exports, ledger
from timebank.db import transaction
from timebank.errors import Forbidden
from timebank.models import AuditEntry, Exchange, HelpRequest, Member, Transfer

TOWN = ZoneInfo("Europe/Berlin")  # the test network keeps the default time zone
DAY = date(2026, 3, 10)  # a winter day: the town is UTC+1


def town(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOWN)


async def export_bytes(sessions, world: World, name: str, start=None, end=None, lang="de") -> bytes:
    async with transaction(sessions) as s:
        made = await exports.start_export(s, world.manager, name, start, end, language=lang)
    return b"".join([chunk async for chunk in made.chunks(sessions)])


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def xlsx_rows(data: bytes) -> int:
    """How many rows the workbook's sheet holds (header included)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert "xl/workbook.xml" in book.namelist()
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    return len(re.findall(r"<row ", sheet))


@pytest.fixture
async def booked(sessions, world: World) -> dict[str, int]:
    """Transfers around the town's midnights of DAY, one reversed; exchanges on DAY and the day
    after; requests made on DAY."""
    async with transaction(sessions) as s:
        vol, sen = await account_id_of(s, world.volunteer), await account_id_of(s, world.senior)
        moments = [
            town(DAY - timedelta(days=1), 23, 59),  # the day before
            town(DAY, 0, 0),  # the town's midnight: the first moment of DAY (23:00 UTC before)
            town(DAY, 12),
            town(DAY, 23, 59),
            town(DAY + timedelta(days=1), 0, 0),  # the day after
        ]
        ids = []
        for at in moments:
            moved = await ledger.post_transfer(
                s, from_account_id=sen, to_account_id=vol, minutes=90, kind="adjustment",
                actor=world.manager, override_reason="test", at=at,
            )  # fmt: skip
            ids.append(moved.id)
        await ledger.reverse_transfer(
            s, ids[2], actor=world.manager, reason="wrong", at=town(DAY, 13)
        )
        for day in (DAY, DAY + timedelta(days=1)):
            s.add(
                Exchange(
                    giver_id=world.volunteer.id, receiver_id=world.senior.id, performed_on=day,
                    minutes=45, category_id=1, entered_by_id=world.volunteer.id,
                    note="=HYPERLINK(\"http://evil\")",
                )
            )  # fmt: skip
        await s.flush()
        made = await board.create_request(
            s, world.manager, member_id=world.senior.id, category_id=1, title="-1 Einkauf"
        )
        made.created_at = town(DAY, 9)
        s.add(made)
    return {"transfers_on_day": 4}  # three on DAY and the reversal


async def count(sessions, model, column, low=None, high=None) -> int:
    async with transaction(sessions) as s:
        query = select(func.count()).select_from(model)
        if low is not None:
            query = query.where(column >= low)
        if high is not None:
            query = query.where(column < high)
        return int(await s.scalar(query) or 0)


async def test_each_export_has_the_databases_rows_for_the_period(sessions, world, booked):
    start, end = DAY.isoformat(), DAY.isoformat()
    low, high = town(DAY, 0), town(DAY + timedelta(days=1), 0)
    expected = {
        "members": await count(sessions, Member, None),
        "transfers": await count(sessions, Transfer, col(Transfer.created_at), low, high),
        "exchanges": await count(
            sessions, Exchange, col(Exchange.performed_on), DAY, DAY + timedelta(days=1)
        ),
        "requests": await count(sessions, HelpRequest, col(HelpRequest.created_at), low, high),
    }
    # The boundary: both of the town's midnights of DAY count, the next one does not; the
    # reversal is a transfer of its own.
    assert expected["transfers"] == booked["transfers_on_day"] == 4
    assert expected["exchanges"] == 1 and expected["requests"] == 1
    for kind, rows in expected.items():
        for fmt in ("csv", "xlsx"):
            data = await export_bytes(sessions, world, f"{kind}.{fmt}", start, end)
            got = len(csv_rows(data)) if fmt == "csv" else xlsx_rows(data)
            assert got - 1 == rows, (kind, fmt)  # one header row


async def test_an_empty_period_and_an_open_one(sessions, world, booked):
    empty = await export_bytes(sessions, world, "transfers.csv", "2020-01-01", "2020-01-31")
    assert len(csv_rows(empty)) == 1  # the header only
    assert xlsx_rows(await export_bytes(sessions, world, "transfers.xlsx", "2020-01-01")) == (
        await count(sessions, Transfer, None) + 1
    )


async def test_the_csv_is_what_german_excel_opens_right(sessions, world, booked):
    data = await export_bytes(sessions, world, "transfers.csv", DAY.isoformat(), DAY.isoformat())
    text = data.decode("utf-8-sig")
    header, *rows = csv_rows(data)
    assert header[:3] == ["Buchungsnummer", "Gebucht am", "Art"]
    assert header.index("Stunden") == 5
    # The town's days and times, as German Excel reads them: both of the town's midnights of
    # DAY belong to it (in UTC the first is the day before), the next midnight does not.
    assert [row[1] for row in rows] == [
        "10.03.2026 00:00", "10.03.2026 12:00", "10.03.2026 23:59", "10.03.2026 13:00",
    ]  # fmt: skip
    first = rows[0]
    assert first[5] == "1,5" and first[6] == "1:30"  # 90 minutes
    assert ";" in text.splitlines()[0] and "," not in text.splitlines()[0]
    assert sorted({row[2] for row in rows}) == ["Korrektur", "Stornierung"]


async def test_text_that_looks_like_a_formula_stays_text(sessions, world, booked):
    data = await export_bytes(sessions, world, "exchanges.csv", DAY.isoformat(), DAY.isoformat())
    note = csv_rows(data)[1][-1]
    assert note.startswith("'=HYPERLINK")
    request = csv_rows(await export_bytes(sessions, world, "requests.csv"))[1]
    assert "'-1 Einkauf" in request


async def test_headers_are_in_the_readers_language(sessions, world, booked):
    english = csv_rows(await export_bytes(sessions, world, "members.csv", lang="en"))[0]
    turkish = csv_rows(await export_bytes(sessions, world, "members.csv", lang="tr"))[0]
    assert english[0] == "Member number" and turkish[0] == "Üye numarası"


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [("2026-13-01", None, "from"), ("1.3.2026", None, "from"), (None, "2026-02-30", "to"),
     ("2026-03-02", "2026-03-01", "to")],
)  # fmt: skip
async def test_a_bad_period_is_refused_at_its_field(sessions, world, start, end, field):
    with pytest.raises(exports.PeriodRefused) as refused:
        async with transaction(sessions) as s:
            await exports.start_export(s, world.manager, "transfers.csv", start, end, language="de")
    assert refused.value.field == field


async def test_only_the_manager_exports_and_each_export_is_in_the_audit_log(sessions, world):
    with pytest.raises(Forbidden):
        async with transaction(sessions) as s:
            await exports.start_export(
                s, world.professional, "members.csv", None, None, language="de"
            )
    await export_bytes(sessions, world, "members.xlsx")
    async with transaction(sessions) as s:
        entries = (await s.exec(select(AuditEntry))).all()
    assert [(e.action, e.actor_id, e.details) for e in entries] == [
        ("export", world.manager.id, {"export": "members.xlsx"})
    ]


def test_hours_are_written_with_a_decimal_comma():
    assert [exports.decimal_hours(m) for m in (0, 30, 90, 100, 45, -75, 600)] == [
        "0", "0,5", "1,5", "1,67", "0,75", "-1,25", "10",
    ]  # fmt: skip
    assert [exports.clock_hours(m) for m in (0, 90, -75)] == ["0:00", "1:30", "-1:15"]


async def test_an_exchange_booked_today_is_in_todays_export(sessions, world):
    async with transaction(sessions) as s:
        await exchanges.record_exchange(
            s, world.manager, giver_id=world.volunteer.id, receiver_id=world.client.id,
            minutes=60, performed_on=town_today(), category="visits",
        )  # fmt: skip
    today = town_today().isoformat()
    rows = csv_rows(await export_bytes(sessions, world, "transfers.csv", today, today))
    assert len(rows) == 2 and rows[1][3] == world.client.name and rows[1][4] == world.volunteer.name
