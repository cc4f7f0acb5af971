"""The network in figures: the manager's dashboard, the funders' report and a volunteer's
certificate (Engagementnachweis) — issue 11, points 1 and 2.

Hours come from the per-month aggregates (``account_months``, kept exact by the ledger in
the transaction of every transfer: see ``timebank.models.AccountMonth``), never from the
transfers, so a view costs the same for fifty members or a hundred thousand. What that
means for the figures:

- a month is the month the help was *given* (the exchange's date), or of the booking for
  donations and adjustments; a reversal takes the help out of its month, so each figure is
  what still stands;
- district, role and organisation are the member's *today* (a member who moved counts in
  the new district, for the past too);
- "active" members gave or received help in the period; "new" members joined in it;
  "leaving" members are no longer active and their last help or booking fell in the period
  (the members table keeps no date of leaving).

Requests, members and flags are read from their own (small) tables. Every function takes a
``Period`` of whole months in the town's time; functions only read.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, i18n, ledger, network
from timebank.errors import Invalid
from timebank.i18n import N_
from timebank.members import get_member
from timebank.models import (
    ROLES,
    Account,
    AccountMonth,
    Category,
    District,
    Exchange,
    Flag,
    HelpRequest,
    Member,
    Organization,
    RequestResponse,
    id_of,
)

# The dashboard's choice of period, in months back from this one.
PERIOD_CHOICES = (6, 12, 24)
DEFAULT_MONTHS = 24
# A report covers at most this many months (a period typed by hand that spans decades is a
# mistake, and its table of months would be unreadable).
MAX_REPORT_MONTHS = 60

BAD_MONTH = N_("please enter a month like 2026-03")
BAD_YEAR = N_("please choose a year from the list")
BAD_PERIOD = N_("the period must start before it ends, and span at most {count} months")


ROLE_NAMES = {
    "volunteer": N_("Volunteer"),
    "senior": N_("Senior"),
    "professional": N_("Professional"),
    "manager": N_("Manager"),
}
NO_DISTRICT = N_("No district")


def category_name(category: Category, language: str) -> str:
    """A kind of help in ``language``, as the pages write it: German and English names are
    stored; other languages translate a seeded kind's English name, else show the German."""
    if language in ("de", "en"):
        return category.name_de if language == "de" else category.name_en
    translated = i18n.gettext_for(language, category.name_en)
    return translated if translated != category.name_en else category.name_de


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Period:
    """Whole months, ``first`` to ``last`` (the first day of each; both included)."""

    first: date
    last: date

    @property
    def end(self) -> date:
        """The first day after the period."""
        return next_month(self.last)

    @property
    def months(self) -> list[date]:
        found, month = [], self.first
        while month <= self.last:
            found.append(month)
            month = next_month(month)
        return found

    @classmethod
    def last_months(cls, today: date, count: int) -> Period:
        last = month_start(today)
        first = last
        for _ in range(count - 1):
            first = month_start(first - timedelta(days=1))
        return cls(first, last)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 1))


def parse_month(value: str, field_name: str) -> date:
    """``2026-03`` → 1 March 2026; anything else is refused at its field."""
    try:
        year, month = value.strip().split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise Invalid(BAD_MONTH, field=field_name) from None


def period_between(first: date, last: date) -> Period:
    period = Period(month_start(first), month_start(last))
    if period.first > period.last or len(period.months) > MAX_REPORT_MONTHS:
        raise Invalid(BAD_PERIOD, field="to", params={"count": MAX_REPORT_MONTHS})
    return period


# --- Hours -------------------------------------------------------------------------------


def _in(period: Period) -> Any:
    return and_(col(AccountMonth.month) >= period.first, col(AccountMonth.month) <= period.last)


@dataclass(frozen=True)
class Hours:
    """Minutes of help given and received by one group (a district, a role, …)."""

    key: Any
    name: str
    given: int
    received: int


@dataclass(frozen=True)
class MonthByCategory:
    months: list[date]
    categories: list[Category]
    # (month, category id) → minutes given; category 0 never appears (no help).
    minutes: dict[tuple[date, int], int]

    def of(self, month: date, category: Category) -> int:
        return self.minutes.get((month, id_of(category)), 0)

    def total(self, month: date) -> int:
        return sum(v for (m, _), v in self.minutes.items() if m == month)

    def category_total(self, category: Category) -> int:
        return sum(v for (_, c), v in self.minutes.items() if c == category.id)

    @property
    def used(self) -> list[Category]:
        """The categories with any help in the period, in their order."""
        return [c for c in self.categories if self.category_total(c)]


async def hours_by_month_and_category(session: AsyncSession, period: Period) -> MonthByCategory:
    rows = await session.exec(
        select(
            col(AccountMonth.month),
            col(AccountMonth.category_id),
            func.sum(AccountMonth.given_minutes),
        )
        .where(_in(period), col(AccountMonth.category_id) != 0)
        .group_by(col(AccountMonth.month), col(AccountMonth.category_id))
    )
    minutes = {(m, c): int(v) for m, c, v in rows.all() if v}
    categories = (
        await session.exec(select(Category).order_by(col(Category.position), col(Category.id)))
    ).all()
    return MonthByCategory(period.months, list(categories), minutes)


async def _hours_by(session: AsyncSession, period: Period, key: Any) -> dict[Any, tuple[int, int]]:
    """Given and received per ``key`` (a column of the member or account), summed over the
    period's rows of every account."""
    rows = await session.exec(
        select(key, func.sum(AccountMonth.given_minutes), func.sum(AccountMonth.received_minutes))
        .select_from(AccountMonth)
        .join(Account, col(Account.id) == AccountMonth.account_id)
        .outerjoin(Member, col(Member.id) == Account.member_id)
        .where(_in(period))
        .group_by(key)
    )
    return {k: (int(g or 0), int(r or 0)) for k, g, r in rows.all() if g or r}


async def hours_by_district(session: AsyncSession, period: Period) -> list[Hours]:
    found = await _hours_by(session, period, col(Member.district_id))
    districts = (await session.exec(select(District).order_by(col(District.name)))).all()
    result = [Hours(d.id, d.name, *found[d.id]) for d in districts if d.id in found]
    if None in found:
        result.append(Hours(None, "", *found[None]))
    return result


async def hours_by_role(session: AsyncSession, period: Period) -> list[Hours]:
    found = await _hours_by(session, period, col(Member.role))
    return [Hours(role, role, *found[role]) for role in ROLES if role in found]


async def hours_by_organization(session: AsyncSession, period: Period) -> list[Hours]:
    """Per organisation: its members' help and its own account's."""
    key = func.coalesce(col(Account.organization_id), col(Member.organization_id))
    found = await _hours_by(session, period, key)
    organizations = (
        await session.exec(select(Organization).order_by(col(Organization.name)))
    ).all()
    return [Hours(o.id, o.name, *found[o.id]) for o in organizations if o.id in found]


async def hours_by_month(session: AsyncSession, period: Period) -> list[Hours]:
    rows = await session.exec(
        select(
            col(AccountMonth.month),
            func.sum(AccountMonth.given_minutes),
            func.sum(AccountMonth.received_minutes),
        )
        .where(_in(period))
        .group_by(col(AccountMonth.month))
    )
    found = {m: (int(g or 0), int(r or 0)) for m, g, r in rows.all()}
    return [Hours(m, "", *found.get(m, (0, 0))) for m in period.months]


# --- Members -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleCount:
    role: str
    members: int
    active: int


async def members_by_role(session: AsyncSession, period: Period) -> list[RoleCount]:
    """Per role: members today, and how many of them gave or received help in the period."""
    total = dict(
        (
            await session.exec(
                select(Member.role, func.count()).where(Member.active).group_by(Member.role)
            )
        ).all()
    )
    helped = (
        select(Account.member_id)
        .join(AccountMonth, col(AccountMonth.account_id) == Account.id)
        .where(
            _in(period),
            or_(col(AccountMonth.given_minutes) != 0, col(AccountMonth.received_minutes) != 0),
        )
        .distinct()
        .subquery()
    )
    active = dict(
        (
            await session.exec(
                select(Member.role, func.count())
                .join(helped, helped.c.member_id == Member.id)
                .group_by(Member.role)
            )
        ).all()
    )
    return [
        RoleCount(role, int(total.get(role, 0)), int(active.get(role, 0)))
        for role in ROLES
        if total.get(role) or active.get(role)
    ]


@dataclass(frozen=True)
class MonthCount:
    month: date
    count: int


async def new_members(session: AsyncSession, period: Period) -> list[MonthCount]:
    rows = await session.exec(
        select(col(Member.joined_on)).where(
            col(Member.joined_on) >= period.first, col(Member.joined_on) < period.end
        )
    )
    counts: dict[date, int] = defaultdict(int)
    for joined in rows.all():
        counts[month_start(joined)] += 1
    return [MonthCount(m, counts.get(m, 0)) for m in period.months]


async def members_leaving(session: AsyncSession, period: Period) -> int:
    """Members no longer active whose last help or booking fell in the period."""
    last = (
        select(Account.member_id, func.max(AccountMonth.month).label("last"))
        .join(AccountMonth, col(AccountMonth.account_id) == Account.id)
        .join(Member, col(Member.id) == Account.member_id)
        .where(col(Member.active).is_(False), col(AccountMonth.transfers) != 0)
        .group_by(col(Account.member_id))
        .subquery()
    )
    found = await session.scalar(
        select(func.count())
        .select_from(last)
        .where(last.c["last"] >= period.first, last.c["last"] <= period.last)
    )
    return int(found or 0)


@dataclass(frozen=True)
class MemberFigures:
    members: int
    active: int
    new: int
    leaving: int


async def member_figures(session: AsyncSession, period: Period) -> MemberFigures:
    roles = await members_by_role(session, period)
    return MemberFigures(
        members=sum(r.members for r in roles),
        active=sum(r.active for r in roles),
        new=sum(m.count for m in await new_members(session, period)),
        leaving=await members_leaving(session, period),
    )


# --- Requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFigures:
    """Requests of one district made in the period: how many, how many had an offer or a
    helper, and the median days from the request to its first offer and to the help."""

    district_id: int | None
    name: str
    requests: int
    answered: int
    days_to_offer: float | None
    days_to_help: float | None

    @property
    def answered_percent(self) -> int:
        return round(100 * self.answered / self.requests) if self.requests else 0


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def _utc_bounds(session: AsyncSession, period: Period) -> tuple[datetime, datetime]:
    zone = (await network.town_clock(session)).zone
    return (
        datetime.combine(period.first, time(), zone).astimezone(UTC),
        datetime.combine(period.end, time(), zone).astimezone(UTC),
    )


async def requests_by_district(session: AsyncSession, period: Period) -> list[RequestFigures]:
    start, end = await _utc_bounds(session, period)
    clock = await network.town_clock(session)
    first_offer = (
        select(RequestResponse.request_id, func.min(RequestResponse.created_at).label("at"))
        .group_by(col(RequestResponse.request_id))
        .subquery()
    )
    first_help = (
        select(Exchange.request_id, func.min(Exchange.performed_on).label("on"))
        .where(col(Exchange.request_id).is_not(None), col(Exchange.status) == "confirmed")
        .group_by(col(Exchange.request_id))
        .subquery()
    )
    rows = (
        await session.exec(  # type: ignore[call-overload]
            sa_select(
                col(HelpRequest.district_id),
                col(HelpRequest.created_at),
                col(HelpRequest.helper_id),
                first_offer.c["at"],
                first_help.c["on"],
            )
            .outerjoin(first_offer, first_offer.c.request_id == HelpRequest.id)
            .outerjoin(first_help, first_help.c.request_id == HelpRequest.id)
            .where(col(HelpRequest.created_at) >= start, col(HelpRequest.created_at) < end)
        )
    ).all()
    counts: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    to_offer: dict[int | None, list[float]] = defaultdict(list)
    to_help: dict[int | None, list[float]] = defaultdict(list)
    for district, created, helper, offered, helped in rows:
        counts[district][0] += 1
        if offered is not None or helper is not None or helped is not None:
            counts[district][1] += 1
        if offered is not None:
            offered = offered if offered.tzinfo else offered.replace(tzinfo=UTC)
            to_offer[district].append(max((offered - created).total_seconds(), 0) / 86400)
        if helped is not None:
            to_help[district].append(max((helped - clock.day_of(created)).days, 0))
    names = {d.id: d.name for d in (await session.exec(select(District))).all()}
    order = sorted(counts, key=lambda d: (d is None, names.get(d, "") if d else ""))
    return [
        RequestFigures(
            d,
            names.get(d, "") if d is not None else "",
            counts[d][0],
            counts[d][1],
            _median(to_offer[d]),
            _median(to_help[d]),
        )
        for d in order
    ]


@dataclass(frozen=True)
class DistrictCount:
    district_id: int | None
    name: str
    count: int


async def unanswered_by_district(session: AsyncSession) -> list[DistrictCount]:
    """Open requests now that have neither an offer nor a helper, per district."""
    answered = select(RequestResponse.id).where(RequestResponse.request_id == HelpRequest.id)
    rows = await session.exec(
        select(HelpRequest.district_id, District.name, func.count())
        .outerjoin(District, col(District.id) == HelpRequest.district_id)
        .where(
            col(HelpRequest.status) == "open",
            col(HelpRequest.helper_id).is_(None),
            ~answered.exists(),
        )
        .group_by(col(HelpRequest.district_id), col(District.name))
    )
    found = [DistrictCount(d, name or "", int(n)) for d, name, n in rows.all()]
    return sorted(found, key=lambda c: (c.district_id is None, c.name))


# --- The pool and the flags --------------------------------------------------------------


@dataclass(frozen=True)
class PoolMonth:
    month: date
    paid_in: int
    paid_out: int
    balance: int  # at the end of the month


async def pool_over_time(session: AsyncSession, period: Period) -> list[PoolMonth]:
    """The pool's minutes in and out per month, and its balance at each month's end (the
    help it paid counts in the month the help was given)."""
    pool = await ledger.pool_account(session)
    before = await session.scalar(
        select(
            func.coalesce(func.sum(AccountMonth.credit_minutes - AccountMonth.debit_minutes), 0)
        ).where(AccountMonth.account_id == pool.id, col(AccountMonth.month) < period.first)
    )
    rows = await session.exec(
        select(
            col(AccountMonth.month),
            func.sum(AccountMonth.credit_minutes),
            func.sum(AccountMonth.debit_minutes),
        )
        .where(AccountMonth.account_id == pool.id, _in(period))
        .group_by(col(AccountMonth.month))
    )
    flows = {m: (int(i or 0), int(o or 0)) for m, i, o in rows.all()}
    balance = int(before or 0)
    result = []
    for month in period.months:
        paid_in, paid_out = flows.get(month, (0, 0))
        balance += paid_in - paid_out
        result.append(PoolMonth(month, paid_in, paid_out, balance))
    return result


async def open_flags_by_kind(session: AsyncSession) -> dict[str, int]:
    rows = await session.exec(
        select(Flag.kind, func.count()).where(Flag.status != "resolved").group_by(Flag.kind)
    )
    return {kind: int(n) for kind, n in sorted(rows.all())}


# --- The dashboard and the report --------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    period: Period
    by_month: MonthByCategory
    districts: list[Hours]
    roles: list[RoleCount]
    new_members: list[MonthCount]
    requests: list[RequestFigures]
    unanswered: list[DistrictCount]
    pool: list[PoolMonth]
    flags: dict[str, int]


async def dashboard(session: AsyncSession, actor: Member, months: int) -> Dashboard:
    access.require_manager(actor)
    if months not in PERIOD_CHOICES:
        months = DEFAULT_MONTHS
    period = Period.last_months(await network.today(session), months)
    return Dashboard(
        period=period,
        by_month=await hours_by_month_and_category(session, period),
        districts=await hours_by_district(session, period),
        roles=await members_by_role(session, period),
        new_members=await new_members(session, period),
        requests=await requests_by_district(session, period),
        unanswered=await unanswered_by_district(session),
        pool=await pool_over_time(session, period),
        flags=await open_flags_by_kind(session),
    )


@dataclass(frozen=True)
class Report:
    period: Period
    by_month: MonthByCategory
    months: list[Hours]
    districts: list[Hours]
    roles: list[Hours]
    organizations: list[Hours]
    members: MemberFigures
    member_roles: list[RoleCount]
    requests: list[RequestFigures]
    pool: list[PoolMonth]

    @property
    def given(self) -> int:
        return sum(m.given for m in self.months)

    @property
    def pool_in(self) -> int:
        return sum(p.paid_in for p in self.pool)

    @property
    def pool_out(self) -> int:
        return sum(p.paid_out for p in self.pool)


async def report(session: AsyncSession, actor: Member, period: Period) -> Report:
    access.require_manager(actor)
    return Report(
        period=period,
        by_month=await hours_by_month_and_category(session, period),
        months=await hours_by_month(session, period),
        districts=await hours_by_district(session, period),
        roles=await hours_by_role(session, period),
        organizations=await hours_by_organization(session, period),
        members=await member_figures(session, period),
        member_roles=await members_by_role(session, period),
        requests=await requests_by_district(session, period),
        pool=await pool_over_time(session, period),
    )


# --- The Engagementnachweis ----------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """The hours a member gave in a period, by kind of help (help they gave that still
    stands: a reversed entry is not counted)."""

    member: Member
    period: Period
    by_category: list[tuple[Category, int]] = field(default_factory=list)
    issued_on: date | None = None

    @property
    def total(self) -> int:
        return sum(minutes for _, minutes in self.by_category)


async def certificate(
    session: AsyncSession, actor: Member, member_id: int, period: Period
) -> Certificate:
    """A volunteer's own certificate, or any member's for the network manager."""
    member = await get_member(session, member_id)
    if actor.id != member.id:
        access.require_manager(actor)
    else:
        access.require_active(actor)
    account = await ledger.account_of_member(session, member_id)
    rows = await session.exec(
        select(Category, func.sum(AccountMonth.given_minutes))
        .join(AccountMonth, col(AccountMonth.category_id) == Category.id)
        .where(AccountMonth.account_id == account.id, _in(period))
        .group_by(col(Category.id))
        .having(func.sum(AccountMonth.given_minutes) != 0)
        .order_by(col(Category.position), col(Category.id))
    )
    return Certificate(
        member=member,
        period=period,
        by_category=[(c, int(m)) for c, m in rows.all()],
        issued_on=await network.today(session),
    )


# --- The report as a workbook --------------------------------------------------------------

_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def _sheet_name(title: str) -> str:
    return title.translate(_SHEET_FORBIDDEN).strip()[:31]


def report_workbook(found: Report, language: str) -> bytes:
    """The report as an XLSX workbook, one sheet per table; hours as numbers (decimal
    hours), headings in ``language``."""
    import io

    import xlsxwriter  # type: ignore[import-untyped]

    def t(message: str) -> str:
        return i18n.gettext_for(language, message)

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    hours = book.add_format({"num_format": "0.00"})
    month_format = book.add_format({"num_format": "yyyy-mm"})

    def sheet(title: str, headings: list[str], rows: list[list[Any]], kinds: list[str]) -> None:
        ws = book.add_worksheet(_sheet_name(title))
        ws.write_row(0, 0, headings, bold)
        for r, row in enumerate(rows, start=1):
            for c, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                if kind == "hours":
                    ws.write_number(r, c, round(value / 60, 2), hours)
                elif kind == "month":
                    ws.write_datetime(r, c, datetime.combine(value, time()), month_format)
                elif value is None:
                    ws.write_blank(r, c, None)
                else:
                    ws.write(r, c, value)
        ws.set_column(0, 0, 24)
        ws.set_column(1, len(headings), 16)

    given, received = t(N_("Hours given")), t(N_("Hours received"))
    sheet(
        t(N_("Months")),
        [t(N_("Month")), given, received],
        [[h.key, h.given, h.received] for h in found.months],
        ["month", "hours", "hours"],
    )
    sheet(
        t(N_("Kinds of help")),
        [t(N_("Kind of help")), given],
        [
            [category_name(c, language), found.by_month.category_total(c)]
            for c in found.by_month.used
        ],
        ["text", "hours"],
    )
    sheet(
        t(N_("Districts")),
        [t(N_("District")), given, received],
        [[h.name or t(NO_DISTRICT), h.given, h.received] for h in found.districts],
        ["text", "hours", "hours"],
    )
    sheet(
        t(N_("Roles")),
        [t(N_("Role")), given, received],
        [[t(ROLE_NAMES[h.key]), h.given, h.received] for h in found.roles],
        ["text", "hours", "hours"],
    )
    sheet(
        t(N_("Organisations")),
        [t(N_("Organisation")), given, received],
        [[h.name, h.given, h.received] for h in found.organizations],
        ["text", "hours", "hours"],
    )
    m = found.members
    sheet(
        t(N_("Members")),
        [t(N_("Members")), t(N_("Active")), t(N_("New")), t(N_("Leaving"))],
        [[m.members, m.active, m.new, m.leaving]],
        ["number", "number", "number", "number"],
    )
    sheet(
        t(N_("Requests")),
        [
            t(N_("District")),
            t(N_("Requests")),
            t(N_("Answered")),
            t(N_("Median days to the first offer")),
            t(N_("Median days to the help")),
        ],
        [
            [r.name or t(NO_DISTRICT), r.requests, r.answered, r.days_to_offer, r.days_to_help]
            for r in found.requests
        ],
        ["text", "number", "number", "number", "number"],
    )
    sheet(
        t(N_("Community pool")),
        [t(N_("Month")), t(N_("Paid in")), t(N_("Paid out")), t(N_("Balance at the month's end"))],
        [[p.month, p.paid_in, p.paid_out, p.balance] for p in found.pool],
        ["month", "hours", "hours", "hours"],
    )
    book.close()
    return buffer.getvalue()
