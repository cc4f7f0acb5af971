"""What the members' own pages show: balances, exchanges waiting for a decision, the
statement with names, and the lists the forms offer to choose from.

Read-only queries; every function that shows one member's affairs checks through
``timebank.access`` that the actor may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from timebank import access, ledger, network
from timebank.members import get_member
from timebank.models import Account, Category, District, Exchange, Member, Organization, id_of

STATEMENT_PAGE = 200
# What a query's where() takes: a SQL condition, or a plain comparison of model fields,
# which SQLModel types as bool.
Condition = ColumnElement[bool] | bool


@dataclass(frozen=True)
class Balance:
    account_id: int
    balance_minutes: int
    # Confirmed help only: what the member gave and what they received, in minutes.
    gave_minutes: int
    received_minutes: int


async def balance(session: AsyncSession, actor: Member, member: Member) -> Balance:
    access.require_see_member(actor, member)
    account = await ledger.account_of_member(session, id_of(member))

    async def confirmed(*where: Condition) -> int:
        total = await session.scalar(
            select(func.coalesce(func.sum(Exchange.minutes), 0)).where(
                Exchange.status == "confirmed",
                *where,
            )
        )
        return int(total or 0)

    return Balance(
        account_id=id_of(account),
        balance_minutes=account.balance_minutes,
        gave_minutes=await confirmed(Exchange.giver_id == member.id),
        received_minutes=await confirmed(Exchange.receiver_id == member.id),
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
    """Help ``member`` logged that the receiver has not decided on yet."""
    access.require_see_member(actor, member)
    return await _rows(session, Exchange.giver_id == member.id, Exchange.status == "pending")


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


@dataclass(frozen=True)
class StatementEntry:
    line: ledger.StatementLine
    # Who was on the other side: a member's name, an organisation's, or None for the pool.
    other_name: str | None
    other_kind: str
    exchange: Exchange | None
    category: Category | None
    entered_by_name: str | None


@dataclass(frozen=True)
class StatementMonth:
    first_day: date
    entries: list[StatementEntry]
    # The balance at the end of the month (after its newest entry).
    closing_minutes: int
    received_minutes: int
    paid_minutes: int


@dataclass(frozen=True)
class Statement:
    member: Member
    balance_minutes: int
    months: list[StatementMonth]
    # Pass as ``before`` for the next (older) page; None on the last page.
    older_than: int | None


def _month_of(moment: datetime, clock: network.TownClock) -> date:
    return clock.day_of(moment).replace(day=1)


async def statement(
    session: AsyncSession, actor: Member, member_id: int, *, before: int | None = None
) -> Statement:
    """A member's statement, newest first, grouped by month, with names instead of ids."""
    owner = await get_member(session, member_id)
    access.require_see_member(actor, owner)
    account = await ledger.account_of_member(session, member_id)
    lines = await ledger.statement(
        session,
        id_of(account),
        limit=STATEMENT_PAGE + 1,
        before_id=before,
    )
    older_than = None
    if len(lines) > STATEMENT_PAGE:
        lines = lines[:STATEMENT_PAGE]
        older_than = lines[-1].transfer_id

    others = {line.other_account_id for line in lines}
    names: dict[int | None, tuple[str | None, str]] = {}
    if others:
        rows = await session.exec(
            select(Account.id, Account.kind, Member.name, Organization.name)
            .outerjoin(Member, col(Member.id) == Account.member_id)
            .outerjoin(Organization, col(Organization.id) == Account.organization_id)
            .where(col(Account.id).in_(others))
        )
        for account_id, kind, member_name, org_name in rows.all():
            names[account_id] = (member_name or org_name, kind)
    exchange_ids = {line.exchange_id for line in lines if line.exchange_id is not None}
    details: dict[int, tuple[Exchange, Category, str]] = {}
    if exchange_ids:
        found = await session.exec(
            select(Exchange, Category, _enterer.name)
            .join(Category, col(Category.id) == Exchange.category_id)
            .join(_enterer, col(_enterer.id) == Exchange.entered_by_id)
            .where(col(Exchange.id).in_(exchange_ids))
        )
        for row_exchange, row_category, enterer_name in found.all():
            details[id_of(row_exchange)] = (row_exchange, row_category, enterer_name)

    entries = []
    for line in lines:
        other_name, other_kind = names.get(line.other_account_id, (None, "pool"))
        exchange, category, enterer = details.get(line.exchange_id or -1, (None, None, None))
        entries.append(StatementEntry(line, other_name, other_kind, exchange, category, enterer))
    clock = await network.town_clock(session)
    months = []
    for first_day, group in groupby(entries, key=lambda e: _month_of(e.line.created_at, clock)):
        items = list(group)
        months.append(
            StatementMonth(
                first_day=first_day,
                entries=items,
                closing_minutes=items[0].line.balance_after,
                received_minutes=sum(e.line.minutes for e in items if e.line.minutes > 0),
                paid_minutes=-sum(e.line.minutes for e in items if e.line.minutes < 0),
            )
        )
    return Statement(owner, account.balance_minutes, months, older_than)


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
