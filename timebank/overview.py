"""What the members' own pages show: balances, exchanges waiting for a decision, the
statement with names, and the lists the forms offer to choose from.

Read-only queries; every function that shows one member's affairs checks through
``timebank.access`` that the actor may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from timebank import access, ledger, network
from timebank.errors import Invalid
from timebank.members import get_member
from timebank.models import (
    Account,
    Category,
    District,
    Exchange,
    Member,
    Organization,
    Transfer,
    id_of,
)

# What a query's where() takes: a SQL condition, or a plain comparison of model fields,
# which SQLModel types as bool.
Condition = ColumnElement[bool] | bool


@dataclass(frozen=True)
class Balance:
    account_id: int
    balance_minutes: int
    # From the account's bookings, net of corrections, so that they add up to the balance:
    # balance = gave − received − donated + other.
    gave_minutes: int
    received_minutes: int
    # Given to the community pool (donations).
    donated_minutes: int
    # Anything else: the office's adjustments, help the pool paid to the member.
    other_minutes: int


async def balance(session: AsyncSession, actor: Member, member: Member) -> Balance:
    access.require_see_member(actor, member)
    account = await ledger.account_of_member(session, id_of(member))
    account_id = id_of(account)
    original = aliased(Transfer)
    signed = case(
        (col(Transfer.to_account_id) == account_id, col(Transfer.minutes)),
        else_=-col(Transfer.minutes),
    )
    # What each booking is, a reversal counted as a negative of what it takes back.
    kind = func.coalesce(original.kind, Transfer.kind)
    gave = col(Exchange.giver_id) == member.id
    rows = await session.exec(
        select(kind, gave, func.sum(signed))
        .select_from(Transfer)
        .outerjoin(original, col(original.id) == Transfer.reverses_id)
        .outerjoin(Exchange, col(Exchange.id) == Transfer.exchange_id)
        .where(
            or_(
                col(Transfer.to_account_id) == account_id,
                col(Transfer.from_account_id) == account_id,
            )
        )
        .group_by(kind, gave)
    )
    sums = {"gave": 0, "received": 0, "donated": 0, "other": 0}
    for what, by_giver, minutes in rows.all():
        minutes = int(minutes or 0)
        if by_giver and what in HELP_KINDS:
            sums["gave"] += minutes
        elif by_giver is not None and not by_giver and what == "exchange":
            sums["received"] -= minutes
        elif what == "donation":
            sums["donated"] -= minutes
        else:
            sums["other"] += minutes
    return Balance(
        account_id=account_id,
        balance_minutes=account.balance_minutes,
        gave_minutes=sums["gave"],
        received_minutes=sums["received"],
        donated_minutes=sums["donated"],
        other_minutes=sums["other"],
    )


@dataclass(frozen=True)
class ExchangeRow:
    exchange: Exchange
    giver_name: str
    receiver_name: str
    category: Category
    entered_by_name: str


_giver = aliased(Member)
_receiver = aliased(Member)
_enterer = aliased(Member)


def _exchange_rows() -> Select[Exchange, str, str, Category, str]:
    return (
        # SQLModel types select() for up to 4 columns.
        select(Exchange, _giver.name, _receiver.name, Category, _enterer.name)  # type: ignore[call-overload]
        .join(_giver, _giver.id == Exchange.giver_id)
        .join(_receiver, _receiver.id == Exchange.receiver_id)
        .join(_enterer, _enterer.id == Exchange.entered_by_id)
        .join(Category, Category.id == Exchange.category_id)
    )


async def _rows(session: AsyncSession, *where: Condition, limit: int = 50) -> list[ExchangeRow]:
    query = (
        _exchange_rows()
        .where(*where)
        .order_by(col(Exchange.performed_on).desc(), col(Exchange.id).desc())
        .limit(limit)
    )
    return [ExchangeRow(*row) for row in (await session.exec(query)).all()]


async def to_decide(session: AsyncSession, actor: Member, member: Member) -> list[ExchangeRow]:
    """Help logged for ``member`` that waits for them to confirm or dispute it."""
    access.require_see_member(actor, member)
    return await _rows(session, Exchange.receiver_id == member.id, Exchange.status == "pending")


async def waiting_for_others(
    session: AsyncSession, actor: Member, member: Member
) -> list[ExchangeRow]:
    """Help ``member`` logged that the receiver has not decided on yet, or that was confirmed
    and waits for the network office (held: ``timebank.held``)."""
    access.require_see_member(actor, member)
    return await _rows(
        session, Exchange.giver_id == member.id, col(Exchange.status).in_(("pending", "held"))
    )


async def recent_decisions(
    session: AsyncSession, actor: Member, member: Member, *, limit: int = 10
) -> list[ExchangeRow]:
    """The member's latest confirmed, rejected or reversed exchanges (either side)."""
    access.require_see_member(actor, member)
    return await _rows(
        session,
        or_(col(Exchange.giver_id) == member.id, col(Exchange.receiver_id) == member.id),
        Exchange.status != "pending",
        limit=limit,
    )


async def entered_by(session: AsyncSession, actor: Member, *, limit: int = 20) -> list[ExchangeRow]:
    """What staff entered on behalf of others (the professional's list of assisted entries)."""
    return await _rows(
        session,
        Exchange.entered_by_id == actor.id,
        col(Exchange.assisted).is_(True),
        limit=limit,
    )


# --- The statement ----------------------------------------------------------------------------

# A statement for a year before this is a typing mistake (the network did not exist).
FIRST_YEAR = 2000
# What a transfer booked, as the statement tells it (a reversal: what it takes back).
HELP_KINDS = ("exchange", "pool_payment")


@dataclass(frozen=True)
class Period:
    """One month of a year, or the whole year (``month`` None: the yearly statement)."""

    year: int
    month: int | None = None

    @property
    def start(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        if self.month is None or self.month == 12:
            return date(self.year + 1, 1, 1)
        return date(self.year, self.month + 1, 1)


@dataclass(frozen=True)
class StatementLine:
    """One line of a member's statement, told from the member's side.

    ``side`` is the column its hours go in: ``given`` (help the member gave), ``received``
    (help the member received), ``other`` (a donation, a correction by the office: neither
    help given nor received) or ``info`` (help the community pool paid for the member: it
    does not change their balance). A line that takes back an earlier booking (``cancels``)
    stands on the day of what it takes back, with its hours negative in that column."""

    # The date of the help; for a line that books no help, the day of its booking.
    day: date
    booked_on: date
    side: str
    # What was booked: exchange, pool_payment, donation or adjustment.
    kind: str
    cancels: bool
    # Hours in the line's column; for ``other`` the change to the balance.
    minutes: int
    # The change to the member's balance (0 for ``info``).
    change: int
    balance_after: int
    # The other person (help), or who gave or got a donation; None for the pool.
    other_name: str | None
    category: Category | None
    exchange: Exchange | None
    entered_by_name: str | None
    reason: str | None
    transfer_id: int


@dataclass(frozen=True)
class Sums:
    opening_minutes: int
    given_minutes: int
    received_minutes: int
    # Donations and corrections: neither help given nor received.
    other_minutes: int

    @property
    def closing_minutes(self) -> int:
        return (
            self.opening_minutes + self.given_minutes - self.received_minutes + self.other_minutes
        )


def _sums(opening: int, lines: list[StatementLine]) -> Sums:
    def total(side: str) -> int:
        return sum(line.minutes for line in lines if line.side == side)

    return Sums(opening, total("given"), total("received"), total("other"))


@dataclass(frozen=True)
class StatementMonth:
    first_day: date
    lines: list[StatementLine]
    sums: Sums


@dataclass(frozen=True)
class Statement:
    member: Member
    # Today's balance (the closing balance of a period that ends today or later).
    balance_minutes: int
    period: Period
    months: list[StatementMonth]
    sums: Sums
    # The years the member may choose from, oldest first.
    years: list[int]


def statement_period(year: int | None, month: int | None, today: date) -> Period:
    """The period asked for: a year (this one by default) and, if given, a month of it."""
    year = today.year if year is None else year
    if not FIRST_YEAR <= year <= today.year:
        raise Invalid(
            "choose a year from {first} to {last}",
            field="year",
            params={"first": FIRST_YEAR, "last": today.year},
        )
    if month is not None and not 1 <= month <= 12:
        raise Invalid("choose a month from the list", field="month")
    return Period(year, month)


_original = aliased(Transfer)


async def statement(
    session: AsyncSession,
    actor: Member,
    member_id: int,
    *,
    year: int | None = None,
    month: int | None = None,
) -> Statement:
    """A member's statement for a month or a year: every line on the date of its help (a
    booking without help on its day; a reversal on the day of what it takes back), oldest
    first, with the balance after each, grouped by month; each month's sums add up:
    opening + given − received + other = closing."""
    owner = await get_member(session, member_id)
    access.require_see_member(actor, owner)
    account = await ledger.account_of_member(session, member_id)
    account_id = id_of(account)
    clock = await network.town_clock(session)
    period = statement_period(year, month, clock.today())

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=clock.zone)

    mine = or_(
        col(Transfer.to_account_id) == account_id, col(Transfer.from_account_id) == account_id
    )
    signed = case(
        (col(Transfer.to_account_id) == account_id, col(Transfer.minutes)),
        else_=-col(Transfer.minutes),
    )
    # A reversal is dated like what it reverses: by the help, else by the first booking.
    booked = func.coalesce(_original.created_at, Transfer.created_at)

    def dated(start: date | None, end: date) -> ColumnElement[bool]:
        by_help = col(Transfer.exchange_id).is_not(None) & (col(Exchange.performed_on) < end)
        by_booking = col(Transfer.exchange_id).is_(None) & (booked < midnight(end))
        if start is not None:
            by_help = by_help & (col(Exchange.performed_on) >= start)
            by_booking = by_booking & (booked >= midnight(start))
        return or_(by_help, by_booking)

    def joined(query: Any) -> Any:
        return query.outerjoin(Exchange, col(Exchange.id) == Transfer.exchange_id).outerjoin(
            _original, col(_original.id) == Transfer.reverses_id
        )

    opening = int(
        await session.scalar(
            joined(select(func.coalesce(func.sum(signed), 0)).select_from(Transfer)).where(
                mine, dated(None, period.start)
            )
        )
        or 0
    )
    # The member's own lines, and help the pool paid for them (it touches not their account).
    paid_for_them = (col(Exchange.receiver_id) == member_id) & col(Transfer.kind).in_(
        ("pool_payment", "reversal")
    )
    rows = await session.exec(
        joined(
            # SQLModel types select() for up to 4 columns.
            select(  # type: ignore[call-overload]
                Transfer,
                signed,
                _original.kind,
                _original.created_at,
                Exchange,
                Category,
                _giver.name,
                _receiver.name,
                _enterer.name,
            )
        )
        .outerjoin(Category, col(Category.id) == Exchange.category_id)
        .outerjoin(_giver, col(_giver.id) == Exchange.giver_id)
        .outerjoin(_receiver, col(_receiver.id) == Exchange.receiver_id)
        .outerjoin(_enterer, col(_enterer.id) == Exchange.entered_by_id)
        .where(or_(mine, paid_for_them), dated(period.start, period.end))
    )
    found = list(rows.all())
    others = {
        t.from_account_id if t.to_account_id == account_id else t.to_account_id
        for t, *_ in found
        if t.exchange_id is None
    }
    holders: dict[int, str | None] = {}
    if others:
        named = await session.exec(
            select(Account.id, Member.name, Organization.name)
            .outerjoin(Member, col(Member.id) == Account.member_id)
            .outerjoin(Organization, col(Organization.id) == Account.organization_id)
            .where(col(Account.id).in_(others))
        )
        holders = {int(i or 0): m or o for i, m, o in named.all()}

    drafts = []
    for row in found:
        transfer, change, original_kind, original_at, exchange = row[:5]
        category, giver, receiver, enterer = row[5:]
        on_account = account_id in (transfer.to_account_id, transfer.from_account_id)
        kind = original_kind or transfer.kind
        booked_on = clock.day_of(transfer.created_at)
        if exchange is None:
            other = (
                transfer.from_account_id
                if transfer.to_account_id == account_id
                else transfer.to_account_id
            )
            side, minutes, other_name = "other", change, holders.get(other)
            day = clock.day_of(original_at or transfer.created_at)
        else:
            gave = exchange.giver_id == member_id
            other_name = receiver if gave else giver
            day = exchange.performed_on
            if not on_account:
                side, minutes, change = "info", transfer.minutes, 0
                if transfer.kind == "reversal":
                    minutes = -minutes
            elif gave and kind in HELP_KINDS:
                side, minutes = "given", change
            elif not gave and kind == "exchange":
                side, minutes = "received", -change
            else:
                side, minutes = "other", change
        drafts.append(
            (
                (day, transfer.created_at, id_of(transfer)),
                dict(
                    day=day,
                    booked_on=booked_on,
                    side=side,
                    kind=kind,
                    cancels=transfer.kind == "reversal",
                    minutes=minutes,
                    change=change,
                    other_name=other_name,
                    category=category,
                    exchange=exchange,
                    entered_by_name=enterer,
                    reason=transfer.reason,
                    transfer_id=id_of(transfer),
                ),
            )
        )
    drafts.sort(key=lambda draft: draft[0])
    running = opening
    lines = []
    for _, fields in drafts:
        running += fields["change"]
        lines.append(StatementLine(balance_after=running, **fields))

    months = []
    month_opening = opening
    for first_day, group in groupby(lines, key=lambda line: line.day.replace(day=1)):
        items = list(group)
        sums = _sums(month_opening, items)
        months.append(StatementMonth(first_day, items, sums))
        month_opening = sums.closing_minutes
    first_year = min(owner.joined_on.year, period.year, clock.today().year)
    return Statement(
        member=owner,
        balance_minutes=account.balance_minutes,
        period=period,
        months=months,
        sums=_sums(opening, lines),
        years=list(range(max(first_year, FIRST_YEAR), clock.today().year + 1)),
    )


# --- Choices for the forms --------------------------------------------------------------------


async def categories(session: AsyncSession) -> list[Category]:
    rows = await session.exec(
        select(Category).where(col(Category.active).is_(True)).order_by(col(Category.position))
    )
    return list(rows.all())


async def districts(session: AsyncSession) -> list[District]:
    rows = await session.exec(
        select(District).where(col(District.active).is_(True)).order_by(District.name)
    )
    return list(rows.all())


async def people_helped_before(session: AsyncSession, actor: Member) -> list[Member]:
    """Whom the actor gave help to before, for the "whom I helped" choice (no directory of
    all members for volunteers: they pick from people they know or type a member number)."""
    partner_ids = select(Exchange.receiver_id).where(Exchange.giver_id == actor.id).distinct()
    rows = await session.exec(
        select(Member)
        .where(col(Member.id).in_(partner_ids), col(Member.active).is_(True))
        .order_by(Member.name)
        .limit(100)
    )
    return list(rows.all())


async def clients_of(session: AsyncSession, actor: Member) -> list[Member]:
    """The members a professional acts for (their organisation's members who are not staff)."""
    if actor.role != "professional" or actor.organization_id is None:
        return []
    rows = await session.exec(
        select(Member)
        .where(
            Member.organization_id == actor.organization_id,
            col(Member.active).is_(True),
            col(Member.role).in_(("senior", "volunteer")),
        )
        .order_by(Member.name)
    )
    return list(rows.all())


async def helpers(session: AsyncSession, actor: Member, *, limit: int = 500) -> list[Member]:
    """Active volunteers, for staff entering help on behalf of a client."""
    if not actor.is_staff:
        return []
    rows = await session.exec(
        select(Member)
        .where(Member.role == "volunteer", col(Member.active).is_(True))
        .order_by(Member.name)
        .limit(limit)
    )
    return list(rows.all())


async def member_name(session: AsyncSession, member_id: int) -> str | None:
    member = await session.get(Member, member_id)
    return member.name if member is not None else None
