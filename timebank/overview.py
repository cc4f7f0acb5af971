"""What the members' own pages show: balances, exchanges waiting for a decision, the
statement with names, and the lists the forms offer to choose from.

Read-only queries; every function that shows one member's affairs checks through
``timebank.access`` that the actor may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, ledger
from timebank.members import get_member
from timebank.models import Account, Category, District, Exchange, Member, Organization

LOCAL_TIME = ZoneInfo("Europe/Berlin")
STATEMENT_PAGE = 200


@dataclass(frozen=True)
class Balance:
    account_id: int
    balance_minutes: int
    # Confirmed help only: what the member gave and what they received, in minutes.
    gave_minutes: int
    received_minutes: int


async def balance(session: AsyncSession, actor: Member, member: Member) -> Balance:
    access.require_see_member(actor, member)
    account = await ledger.account_of_member(session, member.id)  # type: ignore[arg-type]

    async def confirmed(*where: object) -> int:
        total = await session.scalar(
            select(func.coalesce(func.sum(Exchange.minutes), 0)).where(
                Exchange.status == "confirmed",
                *where,  # type: ignore[arg-type]
            )
        )
        return int(total or 0)

    return Balance(
        account_id=account.id,  # type: ignore[arg-type]
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


def _exchange_rows() -> object:
    return (
        select(Exchange, _giver.name, _receiver.name, Category, _enterer.name)
        .join(_giver, _giver.id == Exchange.giver_id)  # type: ignore[arg-type]
        .join(_receiver, _receiver.id == Exchange.receiver_id)  # type: ignore[arg-type]
        .join(_enterer, _enterer.id == Exchange.entered_by_id)  # type: ignore[arg-type]
        .join(Category, Category.id == Exchange.category_id)  # type: ignore[arg-type]
    )


async def _rows(session: AsyncSession, *where: object, limit: int = 50) -> list[ExchangeRow]:
    query = (
        _exchange_rows()
        .where(*where)  # type: ignore[attr-defined]
        .order_by(Exchange.performed_on.desc(), Exchange.id.desc())  # type: ignore[attr-defined]
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
        or_(Exchange.giver_id == member.id, Exchange.receiver_id == member.id),
        Exchange.status != "pending",
        limit=limit,
    )


async def entered_by(session: AsyncSession, actor: Member, *, limit: int = 20) -> list[ExchangeRow]:
    """What staff entered on behalf of others (the professional's list of assisted entries)."""
    return await _rows(
        session,
        Exchange.entered_by_id == actor.id,
        Exchange.assisted.is_(True),
        limit=limit,  # type: ignore[attr-defined]
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


def _month_of(moment: datetime) -> date:
    local = moment.astimezone(LOCAL_TIME)
    return date(local.year, local.month, 1)


async def statement(
    session: AsyncSession, actor: Member, member_id: int, *, before: int | None = None
) -> Statement:
    """A member's statement, newest first, grouped by month, with names instead of ids."""
    owner = await get_member(session, member_id)
    access.require_see_member(actor, owner)
    account = await ledger.account_of_member(session, member_id)
    lines = await ledger.statement(
        session,
        account.id,  # type: ignore[arg-type]
        limit=STATEMENT_PAGE + 1,
        before_id=before,
    )
    older_than = None
    if len(lines) > STATEMENT_PAGE:
        lines = lines[:STATEMENT_PAGE]
        older_than = lines[-1].transfer_id

    others = {line.other_account_id for line in lines}
    names: dict[int, tuple[str | None, str]] = {}
    if others:
        rows = await session.exec(
            select(Account.id, Account.kind, Member.name, Organization.name)
            .outerjoin(Member, Member.id == Account.member_id)  # type: ignore[arg-type]
            .outerjoin(Organization, Organization.id == Account.organization_id)  # type: ignore[arg-type]
            .where(Account.id.in_(others))  # type: ignore[union-attr]
        )
        for account_id, kind, member_name, org_name in rows.all():
            names[account_id] = (member_name or org_name, kind)
    exchange_ids = {line.exchange_id for line in lines if line.exchange_id is not None}
    details: dict[int, tuple[Exchange, Category, str]] = {}
    if exchange_ids:
        rows = await session.exec(
            select(Exchange, Category, _enterer.name)
            .join(Category, Category.id == Exchange.category_id)  # type: ignore[arg-type]
            .join(_enterer, _enterer.id == Exchange.entered_by_id)  # type: ignore[arg-type]
            .where(Exchange.id.in_(exchange_ids))  # type: ignore[union-attr]
        )
        for exchange, category, enterer in rows.all():
            details[exchange.id] = (exchange, category, enterer)  # type: ignore[index]

    entries = []
    for line in lines:
        other_name, other_kind = names.get(line.other_account_id, (None, "pool"))
        exchange, category, enterer = details.get(line.exchange_id or -1, (None, None, None))
        entries.append(StatementEntry(line, other_name, other_kind, exchange, category, enterer))
    months = []
    for first_day, group in groupby(entries, key=lambda e: _month_of(e.line.created_at)):
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
        select(Category).where(Category.active.is_(True)).order_by(Category.position)  # type: ignore[attr-defined]
    )
    return list(rows.all())


async def districts(session: AsyncSession) -> list[District]:
    rows = await session.exec(
        select(District).where(District.active.is_(True)).order_by(District.name)  # type: ignore[attr-defined]
    )
    return list(rows.all())


async def people_helped_before(session: AsyncSession, actor: Member) -> list[Member]:
    """Whom the actor gave help to before, for the "whom I helped" choice (no directory of
    all members for volunteers: they pick from people they know or type a member number)."""
    partner_ids = select(Exchange.receiver_id).where(Exchange.giver_id == actor.id).distinct()
    rows = await session.exec(
        select(Member)
        .where(Member.id.in_(partner_ids), Member.active.is_(True))  # type: ignore[union-attr, attr-defined]
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
            Member.active.is_(True),  # type: ignore[attr-defined]
            Member.role.in_(("senior", "volunteer")),  # type: ignore[attr-defined]
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
        .where(Member.role == "volunteer", Member.active.is_(True))  # type: ignore[attr-defined]
        .order_by(Member.name)
        .limit(limit)
    )
    return list(rows.all())


async def member_name(session: AsyncSession, member_id: int) -> str | None:
    member = await session.get(Member, member_id)
    return member.name if member is not None else None
