"""Exports of the network's lists as CSV and XLSX (issue 11, point 3): members with their
balances, transfers in a period, exchanges in a period, requests made in a period.

**Made for German Excel.** CSV is UTF-8 with a byte order mark (without it Excel reads
UTF-8 as Windows-1252 and breaks every umlaut), ``;``-separated (Excel's separator where
the comma is the decimal mark), hours with a decimal comma (``1,5``, read as a number) and
again as ``1:30`` (how the pages write them), dates as ``31.03.2026`` and moments as
``31.03.2026 14:05`` in the town's time: German Excel reads both as dates. Text that starts
like a formula (``=``, ``+``, ``-``, ``@``) gets a leading apostrophe, so a name typed into
the time bank can never run in the office's spreadsheet. XLSX holds real numbers and dates
(with a German-readable number format) and writes every text as text. Column headers are
in the reader's language; the values the system chose (roles, kinds, statuses) too.

**Constant memory.** Rows are read with a server-side cursor (``session.stream`` with
``yield_per``) in batches of ``BATCH`` rows, in a session of the export's own, and handed
on batch by batch: a CSV is written and sent a batch at a time; an XLSX is written row by
row into a temporary file in xlsxwriter's ``constant_memory`` mode (each row is flushed to
disk as it is written), then sent in chunks and removed. So a million transfers export
with the memory of one batch (``tests/benchmarks/bench_exports.py`` measures it).

**Periods** are the town's days (``network.town_clock``): ``from`` and ``to`` both count;
a transfer or request belongs to the town day on which it was made, an exchange to the day
the help was given. Either end may be left open. The members export shows balances now
and takes no period.

Only the network manager exports; each export is written to the audit log (``audit``)
in the transaction of the request that asked for it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from sqlalchemy import Select, and_, func, literal, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, audit, i18n, network
from timebank.errors import DomainError, NotFound
from timebank.i18n import N_
from timebank.models import (
    Account,
    Category,
    District,
    Exchange,
    HelpRequest,
    Member,
    Organization,
    Transfer,
)
from timebank.network import TownClock

KINDS = ("members", "transfers", "exchanges", "requests")
FORMATS = ("csv", "xlsx")


class ExportName(StrEnum):
    """Every export by its file name (the API's path names them)."""

    MEMBERS_CSV = "members.csv"
    MEMBERS_XLSX = "members.xlsx"
    TRANSFERS_CSV = "transfers.csv"
    TRANSFERS_XLSX = "transfers.xlsx"
    EXCHANGES_CSV = "exchanges.csv"
    EXCHANGES_XLSX = "exchanges.xlsx"
    REQUESTS_CSV = "requests.csv"
    REQUESTS_XLSX = "requests.xlsx"


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Rows fetched and written at a time: small enough for constant memory, large enough that a
# million rows are a few hundred round trips.
BATCH = 5000
# Bytes of a finished XLSX file sent at a time.
CHUNK = 256 * 1024

# Refusals of the period; the field is the query parameter at fault. The same sentence as
# the API's own reading of a bad date (web/errors.py FIELD_DATE).
NOT_A_DATE = N_("the field '{field}' must be a date like 2026-03-31")
ENDS_BEFORE_START = N_("the period ends before it starts")


class PeriodRefused(DomainError):
    """A period that cannot be read: a bad request (400), told at its field."""

    code = "validation"


# --- The period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None

    def bounds(self, clock: TownClock) -> tuple[datetime | None, datetime | None]:
        """The period as moments: from the town's midnight starting ``start`` up to (not
        including) the town's midnight after ``end``."""

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=clock.zone)

        low = midnight(self.start) if self.start else None
        high = midnight(self.end + timedelta(days=1)) if self.end else None
        return low, high

    def query(self) -> dict[str, str]:
        shown = {"from": self.start, "to": self.end}
        return {k: v.isoformat() for k, v in shown.items() if v is not None}


def _day(text: str | None, field: str) -> date | None:
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        # Only YYYY-MM-DD: fromisoformat also reads "20260331" and week dates.
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodRefused(NOT_A_DATE, field=field, params={"field": field}) from None


def period(start: str | None, end: str | None) -> Period:
    """The period from the query's ``from`` and ``to`` (``YYYY-MM-DD``, either may be empty)."""
    found = Period(_day(start, "from"), _day(end, "to"))
    if found.start and found.end and found.start > found.end:
        raise PeriodRefused(ENDS_BEFORE_START, field="to")
    return found


# --- Columns and values ------------------------------------------------------------------------

# How a column is written: text, a whole number, hours (decimal), hours as H:MM, a day, a
# moment in the town's time, a word the system chose (translated), yes/no, an account's
# holder (a member's or organisation's name; none: the community pool).
TEXT, NUMBER, HOURS, CLOCK, DAY, MOMENT, WORD, YESNO, HOLDER = (
    "text",
    "number",
    "hours",
    "clock",
    "day",
    "moment",
    "word",
    "yesno",
    "holder",
)


@dataclass(frozen=True)
class Column:
    header: str  # a message id
    kind: str = TEXT


# Values the system chose, as the reader's words (message ids).
WORDS = {
    "volunteer": N_("Volunteer"),
    "senior": N_("Senior"),
    "professional": N_("Professional"),
    "manager": N_("Manager"),
    # transfers
    "exchange": N_("help"),
    "donation": N_("gift to the pool"),
    "pool_payment": N_("paid by the pool"),
    "reversal": N_("reversal"),
    "adjustment": N_("correction"),
    # exchanges
    "pending": N_("waiting for confirmation"),
    "confirmed": N_("confirmed"),
    "rejected": N_("rejected"),
    "reversed": N_("reversed"),
    "disputed": N_("disputed"),
    # requests
    "open": N_("open"),
    "matched": N_("helper found"),
    "closed": N_("closed"),
    "expired": N_("expired"),
    "low": N_("not urgent"),
    "normal": N_("normal"),
    "high": N_("urgent"),
    # the community pool as an account holder
    "pool": N_("Community pool"),
}
YES, NO = N_("yes"), N_("no")


@dataclass(frozen=True)
class Table:
    """One export: its columns and the query that reads its rows in that order."""

    title: str  # a message id: the sheet's name
    columns: tuple[Column, ...]
    query: Callable[[Period, TownClock], Select[Any]]


def _members(_period: Period, _clock: TownClock) -> Select[Any]:
    return (
        select(
            *_columns(
                Member.id,
                Member.name,
                Member.role,
                Organization.name,
                District.name,
                Member.language,
                Member.active,
                Member.joined_on,
                Member.email,
                Member.phone,
                Account.balance_minutes,
                Account.balance_minutes,
            )
        )
        .join(Account, col(Account.member_id) == Member.id)
        .join(Organization, col(Member.organization_id) == Organization.id, isouter=True)
        .join(District, col(Member.district_id) == District.id, isouter=True)
        .order_by(col(Member.id))
    )


def _columns(*columns: Any) -> list[Any]:
    # A list, not the arguments themselves: select() is typed for at most ten columns.
    return list(columns)


def _between(column: Any, low: Any, high: Any) -> Any:
    conditions = []
    if low is not None:
        conditions.append(column >= low)
    if high is not None:
        conditions.append(column < high)
    return and_(literal(True), *conditions)


def _holder(member: Any, organization: Any) -> Any:
    # Who holds an account: a member, an organisation, or (neither: None) the pool.
    return func.coalesce(member.name, organization.name)


def _transfers(period: Period, clock: TownClock) -> Select[Any]:
    low, high = period.bounds(clock)
    src, dst = aliased(Account), aliased(Account)
    src_m, dst_m = aliased(Member), aliased(Member)
    src_o, dst_o = aliased(Organization), aliased(Organization)
    return (
        select(
            *_columns(
                Transfer.id,
                Transfer.created_at,
                Transfer.kind,
                _holder(src_m, src_o),
                _holder(dst_m, dst_o),
                Transfer.minutes,
                Transfer.minutes,
                Transfer.exchange_id,
                Transfer.reverses_id,
                Transfer.reason,
            )
        )
        .join(src, col(Transfer.from_account_id) == src.id)
        .join(dst, col(Transfer.to_account_id) == dst.id)
        .join(src_m, col(src.member_id) == src_m.id, isouter=True)
        .join(dst_m, col(dst.member_id) == dst_m.id, isouter=True)
        .join(src_o, col(src.organization_id) == src_o.id, isouter=True)
        .join(dst_o, col(dst.organization_id) == dst_o.id, isouter=True)
        .where(_between(col(Transfer.created_at), low, high))
        .order_by(col(Transfer.id))
    )


def _exchanges(period: Period, _clock: TownClock) -> Select[Any]:
    giver, receiver = aliased(Member), aliased(Member)
    return (
        select(
            *_columns(
                Exchange.id,
                Exchange.performed_on,
                giver.name,
                receiver.name,
                Category.name_de,
                Category.name_en,
                Exchange.minutes,
                Exchange.minutes,
                Exchange.status,
                Exchange.assisted,
                Exchange.paid_by_pool,
                Exchange.note,
            )
        )
        .join(giver, col(Exchange.giver_id) == giver.id)
        .join(receiver, col(Exchange.receiver_id) == receiver.id)
        .join(Category, col(Exchange.category_id) == Category.id)
        .where(
            _between(
                col(Exchange.performed_on),
                period.start,
                period.end + timedelta(days=1) if period.end else None,
            )
        )
        .order_by(col(Exchange.id))
    )


def _requests(period: Period, clock: TownClock) -> Select[Any]:
    low, high = period.bounds(clock)
    owner, helper = aliased(Member), aliased(Member)
    return (
        select(
            *_columns(
                HelpRequest.id,
                HelpRequest.created_at,
                owner.name,
                Category.name_de,
                Category.name_en,
                District.name,
                HelpRequest.title,
                HelpRequest.urgency,
                HelpRequest.needed_on,
                HelpRequest.status,
                helper.name,
                HelpRequest.closed_at,
            )
        )
        .join(owner, col(HelpRequest.member_id) == owner.id)
        .join(helper, col(HelpRequest.helper_id) == helper.id, isouter=True)
        .join(Category, col(HelpRequest.category_id) == Category.id)
        .join(District, col(HelpRequest.district_id) == District.id, isouter=True)
        .where(_between(col(HelpRequest.created_at), low, high))
        .order_by(col(HelpRequest.id))
    )


# A kind of help is stored with its German and English name: both columns are read, and
# one is shown (``_category``); CATEGORY marks the pair.
CATEGORY = "category"

TABLES = {
    "members": Table(
        N_("Members"),
        (
            Column(N_("Member number"), NUMBER),
            Column(N_("Name")),
            Column(N_("Role"), WORD),
            Column(N_("Organisation")),
            Column(N_("District")),
            Column(N_("Language")),
            Column(N_("Active"), YESNO),
            Column(N_("Joined"), DAY),
            Column(N_("Email")),
            Column(N_("Phone")),
            Column(N_("Balance in hours"), HOURS),
            Column(N_("Balance (hours:minutes)"), CLOCK),
        ),
        _members,
    ),
    "transfers": Table(
        N_("Bookings"),
        (
            Column(N_("Booking number"), NUMBER),
            Column(N_("Booked on"), MOMENT),
            Column(N_("Kind"), WORD),
            Column(N_("From"), HOLDER),
            Column(N_("To"), HOLDER),
            Column(N_("Hours"), HOURS),
            Column(N_("Hours (hours:minutes)"), CLOCK),
            Column(N_("Help number"), NUMBER),
            Column(N_("Reverses booking"), NUMBER),
            Column(N_("Reason")),
        ),
        _transfers,
    ),
    "exchanges": Table(
        N_("Help given"),
        (
            Column(N_("Help number"), NUMBER),
            Column(N_("Date"), DAY),
            Column(N_("Helped")),
            Column(N_("Was helped")),
            Column(N_("Kind of help"), CATEGORY),
            Column(N_("Hours"), HOURS),
            Column(N_("Hours (hours:minutes)"), CLOCK),
            Column(N_("Status"), WORD),
            Column(N_("Entered by staff"), YESNO),
            Column(N_("Paid by the pool"), YESNO),
            Column(N_("Note")),
        ),
        _exchanges,
    ),
    "requests": Table(
        N_("Requests"),
        (
            Column(N_("Request number"), NUMBER),
            Column(N_("Made on"), MOMENT),
            Column(N_("For")),
            Column(N_("Kind of help"), CATEGORY),
            Column(N_("District")),
            Column(N_("Title")),
            Column(N_("Urgency"), WORD),
            Column(N_("Needed on"), DAY),
            Column(N_("Status"), WORD),
            Column(N_("Helper")),
            Column(N_("Closed on"), MOMENT),
        ),
        _requests,
    ),
}


@dataclass(frozen=True)
class Shown:
    """A row's values as typed cells: a text, a number, a day or a moment (naive, the
    town's time); hours come as (decimal, H:MM) pairs per column kind."""

    language: str
    clock: TownClock

    def word(self, value: object) -> str:
        if value is None:
            return ""
        return i18n.gettext_for(self.language, WORDS.get(str(value), str(value)))

    def category(self, name_de: str, name_en: str) -> str:
        # As the pages show it (web/filters.category_name): a seeded kind's English name is
        # a catalogue id; a kind the office added shows its German name outside de/en.
        if self.language in ("de", "en"):
            return name_de if self.language == "de" else name_en
        translated = i18n.gettext_for(self.language, name_en)
        return translated if translated != name_en else name_de

    def cells(self, columns: Sequence[Column], row: Sequence[Any]) -> list[tuple[str, Any]]:
        """(kind, value) per column; ``value`` None is an empty cell."""
        out: list[tuple[str, Any]] = []
        values = iter(row)
        for column in columns:
            value = next(values)
            if column.kind == CATEGORY:
                out.append((TEXT, self.category(value, next(values))))
            elif column.kind == WORD:
                out.append((TEXT, self.word(value) if value is not None else None))
            elif column.kind == YESNO:
                out.append((TEXT, i18n.gettext_for(self.language, YES if value else NO)))
            elif column.kind == MOMENT and value is not None:
                out.append((MOMENT, self.clock.local(value).replace(tzinfo=None)))
            elif column.kind == HOLDER:
                out.append((TEXT, value if value is not None else self.word("pool")))
            else:
                out.append((column.kind, value))
        return out


# --- Reading rows in batches --------------------------------------------------------------------


async def batches(
    sessions: async_sessionmaker[AsyncSession], query: Select[Any], size: int = BATCH
) -> AsyncIterator[Sequence[Any]]:
    """The rows of ``query`` ``size`` at a time, through a server-side cursor (PostgreSQL;
    SQLite steps through its result the same way), in a session of their own that ends with
    the export."""
    async with sessions() as session:
        result = await session.stream(query.execution_options(yield_per=size))
        async for partition in result.partitions(size):
            yield partition


# --- Writing CSV ------------------------------------------------------------------------------

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    # Excel would run "=HYPERLINK(...)" typed as a name: make it text.
    return "'" + value if value.startswith(_FORMULA_START) else value


def decimal_hours(minutes: int) -> str:
    """1,5 — hours with a decimal comma, as German Excel reads a number; up to two places."""
    sign = "-" if minutes < 0 else ""
    whole, rest = divmod(abs(minutes), 60)
    if not rest:
        return f"{sign}{whole}"
    hundredths = round(rest * 100 / 60)
    return f"{sign}{whole},{hundredths:02d}".rstrip("0")


def clock_hours(minutes: int) -> str:
    """1:30 — hours and minutes, as the pages write them."""
    sign = "-" if minutes < 0 else ""
    whole, rest = divmod(abs(minutes), 60)
    return f"{sign}{whole}:{rest:02d}"


def csv_value(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == HOURS:
        return decimal_hours(int(value))
    if kind == CLOCK:
        return clock_hours(int(value))
    if kind == DAY:
        return f"{value:%d.%m.%Y}"
    if kind == MOMENT:
        return f"{value:%d.%m.%Y %H:%M}"
    if kind == NUMBER:
        return str(value)
    return _csv_text(str(value))


def _csv_lines(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def csv_chunks(
    table: Table, rows: AsyncIterator[Sequence[Any]], shown: Shown
) -> AsyncIterator[bytes]:
    headers = [i18n.gettext_for(shown.language, c.header) for c in table.columns]
    yield BOM.encode("utf-8") + _csv_lines([[_csv_text(h) for h in headers]])
    async for batch in rows:
        yield _csv_lines(
            [[csv_value(k, v) for k, v in shown.cells(table.columns, row)] for row in batch]
        )


# --- Writing XLSX -----------------------------------------------------------------------------


def _sheet_name(title: str) -> str:
    # Excel's rules: at most 31 characters, none of []:*?/\
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)
    return cleaned[:31] or "Sheet1"


async def xlsx_chunks(
    table: Table, rows: AsyncIterator[Sequence[Any]], shown: Shown
) -> AsyncIterator[bytes]:
    """Write the workbook to a temporary file row by row (``constant_memory``: each row goes
    to disk when the next begins), then send the file in chunks; the file is removed
    whatever happens (a client that hangs up included)."""
    handle, path = tempfile.mkstemp(prefix="timebank-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                # Names and notes are text, never formulas, links or numbers.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        sheet = workbook.add_worksheet(_sheet_name(i18n.gettext_for(shown.language, table.title)))
        formats = {
            HOURS: workbook.add_format({"num_format": "0.00"}),
            DAY: workbook.add_format({"num_format": "dd.mm.yyyy"}),
            MOMENT: workbook.add_format({"num_format": "dd.mm.yyyy hh:mm"}),
        }
        bold = workbook.add_format({"bold": True})
        for c, column in enumerate(table.columns):
            sheet.write_string(0, c, i18n.gettext_for(shown.language, column.header), bold)
        r = 0
        async for batch in rows:
            for row in batch:
                r += 1
                for c, (kind, value) in enumerate(shown.cells(table.columns, row)):
                    if value is None:
                        continue
                    if kind == HOURS:
                        sheet.write_number(r, c, int(value) / 60, formats[HOURS])
                    elif kind == NUMBER:
                        sheet.write_number(r, c, value)
                    elif kind in (DAY, MOMENT):
                        sheet.write_datetime(r, c, value, formats[kind])
                    elif kind == CLOCK:
                        sheet.write_string(r, c, clock_hours(int(value)))
                    else:
                        sheet.write_string(r, c, str(value))
        # Zipping the sheet is seconds of work for a million rows: off the event loop.
        await asyncio.to_thread(workbook.close)
        with open(path, "rb") as file:  # noqa: ASYNC230 - local disk, a chunk at a time
            while chunk := file.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


# --- An export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    kind: str
    format: str
    period: Period
    language: str
    clock: TownClock

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def filename(self) -> str:
        ends = "_".join(d.isoformat() for d in (self.period.start, self.period.end) if d)
        return f"{self.kind}{'_' + ends if ends else ''}.{self.format}"

    def chunks(self, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[bytes]:
        """The file's bytes, read from the database as they are sent."""
        table = TABLES[self.kind]
        rows = batches(sessions, table.query(self.period, self.clock))
        shown = Shown(self.language, self.clock)
        write = csv_chunks if self.format == "csv" else xlsx_chunks
        return write(table, rows, shown)


def split_name(name: str) -> tuple[str, str]:
    """``transfers.csv`` → (``transfers``, ``csv``); anything else is not found."""
    kind, _, fmt = name.partition(".")
    if kind not in KINDS or fmt not in FORMATS:
        raise NotFound("there is no such export")
    return kind, fmt


async def start_export(
    session: AsyncSession,
    actor: Member,
    name: str,
    start: str | None,
    end: str | None,
    *,
    language: str,
) -> Export:
    """Check who asks, what and for which period (``YYYY-MM-DD`` texts, either may be
    empty), and write the audit entry; the rows are read as the export's ``chunks`` are
    sent."""
    access.require_manager(actor)
    kind, fmt = split_name(name)
    checked = period(start, end)  # read even where it does not apply: a typo is said
    the_period = checked if kind != "members" else Period()
    await audit.record(session, actor, "export", details={"export": name, **the_period.query()})
    clock = await network.town_clock(session)
    return Export(kind, fmt, the_period, i18n.pick_language(language), clock)
