"""The ledger: every minute of help given or received is a transfer between two accounts.

Invariants (each proven by a test in ``tests/test_ledger.py``, on SQLite and PostgreSQL):

1. Amounts are whole minutes, always > 0 (CHECK constraint); direction is from → to.
2. Zero-sum: a transfer debits one account exactly what it credits the other. Each account's
   ``balance_minutes`` is a cache, changed only here, in the same transaction as the transfer,
   and ``verify()`` recomputes every balance from the transfers.
3. Append-only: transfers are never updated or deleted (database triggers refuse it). A
   correction is a reversal: a new transfer the other way, with a reason, by a manager. A
   transfer is reversed at most once (unique ``reverses_id``) and a reversal is never reversed.
4. Limits: a transfer that would take the paying account below its minimum, or the receiving
   account above its maximum, is refused — unless a manager posts it with an override reason,
   which is recorded. Both accounts are locked in id order first (``SELECT … FOR UPDATE`` on
   PostgreSQL; SQLite transactions are serial, see ``timebank.db``), so concurrent transfers
   never overshoot. Reversals may cross limits, since undoing a wrong booking must always be
   possible; but a reversal never takes the community pool below zero (whatever its minimum:
   the pool cannot pay out hours it does not have) unless a manager gives an override reason.
   Every limit a transfer crosses (only a reversal or an override can) is recorded on it:
   ``from_min_crossed`` (the payer's minimum) or ``to_max_crossed`` (the payee's maximum),
   beside that side's balance after. CHECK constraints refuse a crossing recorded on any
   other transfer, or a recorded limit the balance after is not beyond.
5. Idempotency: a transfer posted with an ``idempotency_key`` that was already used returns
   the original transfer instead of booking again.
6. Every transfer records its actor (``None`` only for the scheduler acting by network policy),
   and each side's balance after it, so a statement is exact without recomputation.
7. Per-month aggregates (``account_months``, see ``models.AccountMonth``) change only here, by
   one upsert in the transaction of each transfer (the accounts are locked already, so it
   adds no contention; concurrent upserts of a row add up). A reversal subtracts in the
   month and category of what it reverses. ``verify()`` recounts them from the transfers.

Functions here only ``flush``: the request or job that calls them owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, literal, text, union_all
from sqlalchemy.orm import Mapped
from sqlalchemy.types import Date
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access
from timebank.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from timebank.i18n import N_, Minutes
from timebank.models import (
    DEFAULT_TIMEZONE,
    Account,
    Exchange,
    LimitDefault,
    Member,
    NetworkSettings,
    Organization,
    Transfer,
    id_of,
    utcnow,
)

MAX_REASON = 500
# The first is members.ACCOUNT_NOT_FOUND too: one id, one translation (members imports
# this module, not the other way round).
ACCOUNT_NOT_FOUND = N_("this time account was not found")
NO_ACCOUNT = N_("this member has no time account")
TRANSFER_NOT_FOUND = N_("this booking was not found")
# Texts a manager types: the reason of a correction, the reason to go beyond a limit.
TOO_LONG = {
    "reason": N_("the reason is too long (at most {count} characters)"),
    "override_reason": N_("the reason for the exception is too long (at most {count} characters)"),
}


class LedgerError(DomainError):
    """Base of the ledger's own refusals."""


class InvalidTransfer(LedgerError, Invalid):
    code = "validation"


class BalanceLimitExceeded(LedgerError, Conflict):
    """A transfer would take an account beyond its limit. The sentence names whose account
    in words (the reader's own, a person's, the community pool), never its number; the API
    still gets ``account_id`` and the figures in minutes."""

    code = "balance_limit"

    def __init__(
        self,
        account_id: int,
        balance: int,
        limit: int,
        side: str,
        minutes: int,
        *,
        whose: str = "theirs",
        holder: str = "",
    ):
        super().__init__(
            LIMIT_MESSAGES[side, whose],
            params={
                "name": holder,
                "balance": Minutes(balance),
                "limit": Minutes(limit),
                "minutes": Minutes(minutes),
            },
            account_id=account_id,
            balance_minutes=balance,
            limit_minutes=limit,
            limit="minimum" if side == "min" else "maximum",
        )
        self.account_id = account_id


# (side, whose account) → message id: the reader's own account, another person's, the pool.
LIMIT_MESSAGES = {
    ("min", "yours"): N_(
        "your time account may not go below {limit}: it stands at {balance}, "
        "and this would take {minutes} from it"
    ),
    ("min", "theirs"): N_(
        "the time account of {name} may not go below {limit}: it stands at {balance}, "
        "and this would take {minutes} from it"
    ),
    ("min", "pool"): N_(
        "the community pool may not go below {limit}: it stands at {balance}, "
        "and this would take {minutes} from it"
    ),
    ("max", "yours"): N_(
        "your time account may not go above {limit}: it stands at {balance}, "
        "and this would add {minutes} to it"
    ),
    ("max", "theirs"): N_(
        "the time account of {name} may not go above {limit}: it stands at {balance}, "
        "and this would add {minutes} to it"
    ),
    ("max", "pool"): N_(
        "the community pool may not go above {limit}: it stands at {balance}, "
        "and this would add {minutes} to it"
    ),
}


class PoolOverdrawn(LedgerError, Conflict):
    code = "pool_below_zero"


class AlreadyReversed(LedgerError, Conflict):
    code = "already_reversed"


class ReversalOfReversal(LedgerError, Conflict):
    code = "cannot_reverse_reversal"


class IdempotencyConflict(LedgerError, Conflict):
    code = "idempotency_conflict"


@dataclass(frozen=True)
class Limits:
    min_minutes: int | None
    max_minutes: int | None


async def pool_account(session: AsyncSession) -> Account:
    pool = await session.scalar(select(Account).where(Account.kind == "pool"))
    if pool is None:  # created by the first migration; missing only if someone deleted it
        raise NotFound("the community pool account is missing: run `timebank db upgrade`")
    return pool


async def account_of_member(session: AsyncSession, member_id: int) -> Account:
    account = await session.scalar(select(Account).where(Account.member_id == member_id))
    if account is None:
        raise NotFound(NO_ACCOUNT)
    return account


async def limits_for(session: AsyncSession, accounts: list[Account]) -> dict[int, Limits]:
    """Each account's effective limits: its own override, else its holder's default."""
    defaults = {d.holder: d for d in (await session.exec(select(LimitDefault))).all()}
    member_ids = [a.member_id for a in accounts if a.member_id is not None]
    roles: dict[int | None, str] = {}
    if member_ids:
        rows = await session.exec(
            select(Member.id, Member.role).where(col(Member.id).in_(member_ids))
        )
        roles = {member_id: role for member_id, role in rows.all()}
    result: dict[int, Limits] = {}
    for account in accounts:
        holder = roles.get(account.member_id or -1, account.kind)
        default = defaults.get(holder)
        result[id_of(account)] = Limits(
            account.min_minutes
            if account.min_minutes is not None
            else (default.min_minutes if default else None),
            account.max_minutes
            if account.max_minutes is not None
            else (default.max_minutes if default else None),
        )
    return result


async def account_ids_of_members(session: AsyncSession, *member_ids: int) -> dict[int, int]:
    """Member id → account id, for several members in one query."""
    rows = await session.exec(
        select(Account.member_id, Account.id).where(col(Account.member_id).in_(member_ids))
    )
    # Neither column is NULL in a row matched by member_id.
    found = cast(dict[int, int], dict(rows.all()))
    missing = [m for m in member_ids if m not in found]
    if missing:
        raise NotFound(NO_ACCOUNT)
    return found


async def _lock_accounts(
    session: AsyncSession, *ids: int
) -> tuple[dict[int, Account], dict[int, Limits]]:
    """Lock the accounts and read their effective limits, in one round trip.

    Fixed order (by id) so two transfers between the same accounts never deadlock;
    populate_existing so limits are judged on the balance as locked, not a cached one.
    """
    holder = func.coalesce(Member.role, Account.kind)
    rows = await session.exec(
        select(Account, col(LimitDefault.min_minutes), col(LimitDefault.max_minutes))
        .outerjoin(Member, col(Member.id) == Account.member_id)
        .outerjoin(LimitDefault, col(LimitDefault.holder) == holder)
        .where(col(Account.id).in_(sorted(set(ids))))
        .order_by(col(Account.id))
        .with_for_update(of=Account)
        .execution_options(populate_existing=True)
    )
    locked: dict[int, Account] = {}
    limits: dict[int, Limits] = {}
    for account, default_min, default_max in rows.all():
        account_id = id_of(account)
        locked[account_id] = account
        limits[account_id] = Limits(
            account.min_minutes if account.min_minutes is not None else default_min,
            account.max_minutes if account.max_minutes is not None else default_max,
        )
    missing = [i for i in ids if i not in locked]
    if missing:
        raise NotFound(ACCOUNT_NOT_FOUND)
    return locked, limits


def _check_amount(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidTransfer("minutes must be a whole number", field="minutes")
    if minutes <= 0:
        raise InvalidTransfer("minutes must be more than 0", field="minutes")
    return minutes


def _clean_text(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_REASON:
        raise InvalidTransfer(TOO_LONG[what], field=what, params={"count": MAX_REASON})
    return value or None


async def post_transfer(
    session: AsyncSession,
    *,
    from_account_id: int,
    to_account_id: int,
    minutes: int,
    kind: str,
    actor: Member | None,
    reason: str | None = None,
    exchange_id: int | None = None,
    override_reason: str | None = None,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    """Move ``minutes`` from one account to another, or refuse. Flushes, never commits.

    ``at`` is the booking time (default now): the demo backdates its history with it."""
    minutes = _check_amount(minutes)
    if from_account_id == to_account_id:
        raise InvalidTransfer("a transfer needs two different accounts")
    if kind == "reversal":
        raise InvalidTransfer("use reverse_transfer() to reverse a transfer")
    reason = _clean_text(reason, "reason")
    override_reason = _clean_text(override_reason, "override_reason")
    if override_reason is not None and (actor is None or not access.is_manager(actor)):
        raise Forbidden("only the network manager may override a balance limit")

    accounts, limits = await _lock_accounts(session, from_account_id, to_account_id)
    if idempotency_key is not None:
        earlier = await session.scalar(
            select(Transfer).where(Transfer.idempotency_key == idempotency_key)
        )
        if earlier is not None:
            same = (earlier.from_account_id, earlier.to_account_id, earlier.minutes, earlier.kind)
            if same != (from_account_id, to_account_id, minutes, kind):
                raise IdempotencyConflict(
                    "this idempotency_key was already used for a different transfer"
                )
            return earlier

    payer, payee = accounts[from_account_id], accounts[to_account_id]
    crossed = _crossed(payer, payee, minutes, limits[from_account_id], limits[to_account_id])
    if override_reason is None:
        if crossed.below is not None:
            raise await _beyond_limit(session, payer, crossed.below, "min", minutes, actor)
        if crossed.above is not None:
            raise await _beyond_limit(session, payee, crossed.above, "max", minutes, actor)
    return await _book(
        session,
        payer,
        payee,
        minutes,
        kind=kind,
        actor=actor,
        reason=reason,
        exchange_id=exchange_id,
        override_reason=override_reason,
        idempotency_key=idempotency_key,
        crossed=crossed,
        at=at,
    )


async def _beyond_limit(
    session: AsyncSession,
    account: Account,
    limit: int,
    side: str,
    minutes: int,
    actor: Member | None,
) -> BalanceLimitExceeded:
    """The refusal, naming whose account it is (read only when refusing): the actor's own,
    a member's or an organisation's by name, or the community pool."""
    holder: Member | Organization | None = None
    if account.member_id is not None:
        holder = await session.get(Member, account.member_id)
    elif account.organization_id is not None:
        holder = await session.get(Organization, account.organization_id)
    yours = isinstance(holder, Member) and actor is not None and holder.id == actor.id
    return BalanceLimitExceeded(
        id_of(account),
        account.balance_minutes,
        limit,
        side,
        minutes,
        whose="yours" if yours else "pool" if holder is None else "theirs",
        holder=holder.name if holder is not None else "",
    )


@dataclass(frozen=True)
class Crossed:
    """The limits a transfer would take its accounts beyond: the payer's minimum, the
    payee's maximum (None where it stays within)."""

    below: int | None = None
    above: int | None = None


def _crossed(
    payer: Account, payee: Account, minutes: int, paying: Limits, receiving: Limits
) -> Crossed:
    low, high = paying.min_minutes, receiving.max_minutes
    return Crossed(
        low if low is not None and payer.balance_minutes - minutes < low else None,
        high if high is not None and payee.balance_minutes + minutes > high else None,
    )


async def _book(
    session: AsyncSession,
    payer: Account,
    payee: Account,
    minutes: int,
    *,
    kind: str,
    actor: Member | None,
    reason: str | None,
    exchange_id: int | None,
    override_reason: str | None = None,
    idempotency_key: str | None = None,
    original: Transfer | None = None,
    crossed: Crossed | None = None,
    at: datetime | None = None,
) -> Transfer:
    crossed = crossed or Crossed()
    reverses_id = original.id if original is not None else None
    payer.balance_minutes -= minutes
    payee.balance_minutes += minutes
    transfer = Transfer(
        from_account_id=id_of(payer),
        to_account_id=id_of(payee),
        minutes=minutes,
        kind=kind,
        exchange_id=exchange_id,
        reason=reason,
        actor_id=actor.id if actor else None,
        override_reason=override_reason,
        idempotency_key=idempotency_key,
        reverses_id=reverses_id,
        from_balance_after=payer.balance_minutes,
        to_balance_after=payee.balance_minutes,
        from_min_crossed=crossed.below,
        to_max_crossed=crossed.above,
        created_at=at or utcnow(),
    )
    session.add_all([payer, payee, transfer])
    await session.flush()
    await _count_in_months(session, transfer, original)
    return transfer


# --- Per-month aggregates (invariant 7) ------------------------------------------------------

# Transfer kinds whose payee gave help; an ``exchange``'s payer received it.
HELP_KINDS = ("exchange", "pool_payment")

_MONTH_COLUMNS = (
    "given_minutes",
    "received_minutes",
    "pool_paid_minutes",
    "credit_minutes",
    "debit_minutes",
    "transfers",
)
_ROW = (
    "(:{who}, :month, :category, :{who}_given, :{who}_received, :{who}_pool, "
    ":{who}_credit, :{who}_debit, :n)"
)
# The help the pool paid for also counts on its receiver's row (the review reads it there).
_RECEIVER_ROW = (
    "((SELECT id FROM accounts WHERE member_id = :receiver), :month, :category, "
    "0, :receiver_received, :receiver_pool, 0, 0, :n)"
)
_UPSERT = (
    "INSERT INTO account_months (account_id, month, category_id, "
    + ", ".join(_MONTH_COLUMNS)
    + ") VALUES {rows} ON CONFLICT (account_id, month, category_id) DO UPDATE SET "
    + ", ".join(f"{c} = account_months.{c} + excluded.{c}" for c in _MONTH_COLUMNS)
)


def _upsert(rows: list[str]) -> Any:
    return text(_UPSERT.format(rows=", ".join(rows))).bindparams(bindparam("month", type_=Date()))


_UPSERT_TWO = _upsert([_ROW.format(who="payer"), _ROW.format(who="payee")])
_UPSERT_THREE = _upsert([_ROW.format(who="payer"), _ROW.format(who="payee"), _RECEIVER_ROW])


async def _count_in_months(
    session: AsyncSession, transfer: Transfer, original: Transfer | None
) -> None:
    """Add the transfer to its accounts' month (a reversal: take the original out of its
    month). One statement; the exchange and the network's settings are usually in the
    session already (the caller read them)."""
    first = original or transfer
    sign = -1 if original is not None else 1
    minutes = sign * transfer.minutes
    exchange = (
        await session.get(Exchange, transfer.exchange_id)
        if transfer.exchange_id is not None
        else None
    )
    if exchange is not None:
        month = exchange.performed_on.replace(day=1)
    else:
        settings = await session.get(NetworkSettings, 1)
        zone = ZoneInfo(settings.timezone if settings else DEFAULT_TIMEZONE)
        month = first.created_at.astimezone(zone).date().replace(day=1)
    help_kind = first.kind in HELP_KINDS
    params: dict[str, Any] = {
        "month": month,
        "category": exchange.category_id if exchange is not None else 0,
        "n": sign,
        # The original's payer and payee, whichever way this transfer goes.
        "payer": first.from_account_id,
        "payer_given": 0,
        "payer_received": minutes if first.kind == "exchange" else 0,
        "payer_pool": 0,
        "payer_credit": 0,
        "payer_debit": minutes,
        "payee": first.to_account_id,
        "payee_given": minutes if help_kind else 0,
        "payee_received": 0,
        "payee_pool": 0,
        "payee_credit": minutes,
        "payee_debit": 0,
    }
    statement = _UPSERT_TWO
    if first.kind == "pool_payment" and exchange is not None:
        statement = _UPSERT_THREE
        params.update(
            receiver=exchange.receiver_id, receiver_received=minutes, receiver_pool=minutes
        )
    await (await session.connection()).execute(statement, params)


def recount_months_sql(
    dialect: str, zone: ZoneInfo, first: datetime | None, last: datetime | None
) -> str:
    """A query of every ``account_months`` row recounted from the transfers (the booking
    upsert's rules set-based; one row per transfer and side, to be summed by key).

    On PostgreSQL it takes the time zone as ``:tz``; SQLite knows no time zones, so the
    town's month boundaries between ``first`` and ``last`` (the oldest and newest booking)
    are written into the query."""
    moment = "COALESCE(o.created_at, t.created_at)"
    if dialect == "postgresql":
        day_month = "CAST(date_trunc('month', e.performed_on) AS DATE)"
        moment_month = f"CAST(date_trunc('month', {moment} AT TIME ZONE :tz) AS DATE)"
    else:
        day_month = "date(e.performed_on, 'start of month')"
        moment_month = _sqlite_month_case(moment, zone, first, last)
    return f"""
WITH src AS (
    SELECT CASE WHEN t.reverses_id IS NULL THEN t.minutes ELSE -t.minutes END AS m,
           CASE WHEN t.reverses_id IS NULL THEN 1 ELSE -1 END AS n,
           COALESCE(o.kind, t.kind) AS k,
           COALESCE(o.from_account_id, t.from_account_id) AS payer,
           COALESCE(o.to_account_id, t.to_account_id) AS payee,
           e.receiver_id AS receiver,
           COALESCE(e.category_id, 0) AS category_id,
           CASE WHEN e.id IS NOT NULL THEN {day_month} ELSE {moment_month} END AS month
    FROM transfers t
    LEFT JOIN transfers o ON o.id = t.reverses_id
    LEFT JOIN exchanges e ON e.id = t.exchange_id
)
SELECT payer AS account_id, month, category_id, 0 AS given_minutes,
       CASE WHEN k = 'exchange' THEN m ELSE 0 END AS received_minutes,
       0 AS pool_paid_minutes, 0 AS credit_minutes, m AS debit_minutes, n AS transfers
FROM src
UNION ALL
SELECT payee, month, category_id, CASE WHEN k IN ('exchange', 'pool_payment') THEN m ELSE 0 END,
       0, 0, m, 0, n
FROM src
UNION ALL
SELECT a.id, month, category_id, 0, m, m, 0, 0, n
FROM src JOIN accounts a ON a.member_id = src.receiver
WHERE k = 'pool_payment'
"""


def _sqlite_month_case(
    column: str, zone: ZoneInfo, first: datetime | None, last: datetime | None
) -> str:
    """``CASE WHEN column < <start of next month, UTC> THEN '<month>' …``: SQLite stores
    moments as naive UTC text, which compares in time order."""
    if first is None or last is None:
        return "NULL"
    month = first.astimezone(zone).date().replace(day=1)
    end = last.astimezone(zone).date()
    branches = []
    while month <= end:
        following = (month + timedelta(days=32)).replace(day=1)
        start = datetime.combine(following, time(), zone).astimezone(UTC)
        branches.append(
            f"WHEN {column} < '{start.strftime('%Y-%m-%d %H:%M:%S')}' THEN '{month.isoformat()}'"
        )
        month = following
    return "CASE " + " ".join(branches) + " END"


async def reversal_of(session: AsyncSession, transfer_id: int) -> Transfer | None:
    return await session.scalar(select(Transfer).where(Transfer.reverses_id == transfer_id))


async def reverse_transfer(
    session: AsyncSession,
    transfer_id: int,
    *,
    actor: Member,
    reason: str,
    override_reason: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    """Undo a transfer with a new one the other way. Managers only; a reason is required.

    It books even beyond the accounts' limits, recording each limit crossed; only taking the
    pool below zero needs ``override_reason`` (else ``PoolOverdrawn``)."""
    access.require_manager(actor)
    reason_text = _clean_text(reason, "reason")
    if not reason_text:
        raise InvalidTransfer("a reversal needs a reason", field="reason")
    override_reason = _clean_text(override_reason, "override_reason")
    original = await session.get(Transfer, transfer_id)
    if original is None:
        raise NotFound(TRANSFER_NOT_FOUND)
    if original.reverses_id is not None:
        raise ReversalOfReversal(
            "this booking is itself a reversal and cannot be reversed; book it anew instead"
        )
    accounts, limits = await _lock_accounts(
        session, original.from_account_id, original.to_account_id
    )
    # Checked after the lock: a concurrent reversal of the same transfer has committed by now.
    earlier = await reversal_of(session, transfer_id)
    if earlier is not None:
        raise AlreadyReversed("this booking was already reversed", reversal_id=earlier.id)
    payer, payee = accounts[original.to_account_id], accounts[original.from_account_id]
    paying = limits[id_of(payer)]
    minutes = original.minutes
    if payer.kind == "pool":
        # For a correction the pool's floor is zero, or its minimum when that is higher.
        floor = max(paying.min_minutes or 0, 0)
        paying = Limits(floor, paying.max_minutes)
        if payer.balance_minutes - minutes < 0 and override_reason is None:
            raise PoolOverdrawn(
                "this reversal would take the community pool below zero; "
                "give a reason to book it anyway",
                field="override_reason",
                balance_minutes=payer.balance_minutes,
                minutes=minutes,
            )
    return await _book(
        session,
        payer,
        payee,
        minutes,
        kind="reversal",
        actor=actor,
        reason=reason_text,
        exchange_id=original.exchange_id,
        override_reason=override_reason,
        original=original,
        crossed=_crossed(payer, payee, minutes, paying, limits[id_of(payee)]),
        at=at,
    )


# --- Reading the ledger -----------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    transfer_id: int
    created_at: datetime
    kind: str
    # Positive when the account received minutes, negative when it paid.
    minutes: int
    balance_after: int
    other_account_id: int
    exchange_id: int | None
    reason: str | None
    actor_id: int | None
    override_reason: str | None
    reverses_id: int | None


async def statement(
    session: AsyncSession, account_id: int, *, limit: int = 50, before_id: int | None = None
) -> list[StatementLine]:
    """The account's transfers, newest first, with the balance after each (keyset paging:
    pass the last ``transfer_id`` of a page as ``before_id`` for the next)."""
    limit = max(1, min(limit, 500))

    def side(own: Mapped[int], other: Mapped[int], sign: int, after: Mapped[int]) -> Select[Any]:
        # Annotated: SQLAlchemy types a label of a mapped column as Label[Never].
        q: Select[int, int, int, int] = select(
            col(Transfer.id).label("id"),
            (literal(sign) * Transfer.minutes).label("signed"),
            after.label("after"),
            other.label("other"),
        ).where(own == account_id)
        if before_id is not None:
            q = q.where(col(Transfer.id) < before_id)
        # Wrapped so SQLite accepts a LIMIT inside each arm of the UNION.
        return q.order_by(col(Transfer.id).desc()).limit(limit).subquery().select()

    # Two index scans (one per side) merged, rather than one OR that defeats the indexes.
    both = union_all(
        side(
            col(Transfer.to_account_id),
            col(Transfer.from_account_id),
            1,
            col(Transfer.to_balance_after),
        ),
        side(
            col(Transfer.from_account_id),
            col(Transfer.to_account_id),
            -1,
            col(Transfer.from_balance_after),
        ),
    ).subquery()
    query = (
        select(Transfer, both.c.signed, both.c.after, both.c.other)
        .join(both, both.c.id == Transfer.id)
        .order_by(col(Transfer.id).desc())
        .limit(limit)
    )
    rows = (await session.exec(query)).all()
    return [
        StatementLine(
            transfer_id=id_of(t),
            created_at=t.created_at,
            kind=t.kind,
            minutes=signed,
            balance_after=after,
            other_account_id=other,
            exchange_id=t.exchange_id,
            reason=t.reason,
            actor_id=t.actor_id,
            override_reason=t.override_reason,
            reverses_id=t.reverses_id,
        )
        for t, signed, after, other in rows
    ]


@dataclass(frozen=True)
class Mismatch:
    account_id: int
    cached_minutes: int
    computed_minutes: int


@dataclass(frozen=True)
class MonthMismatch:
    """An ``account_months`` row that differs from its recount: ``stored - recounted`` for
    each column that differs."""

    account_id: int
    month: date
    category_id: int
    differences: dict[str, int]


@dataclass(frozen=True)
class VerifyReport:
    accounts: int
    transfers: int
    mismatches: list[Mismatch]
    # Sum of all balances: zero unless money was created or destroyed outside the ledger.
    total_minutes: int
    month_mismatches: list[MonthMismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.total_minutes == 0 and not self.month_mismatches


async def verify(session: AsyncSession) -> VerifyReport:
    """Recompute every balance from the transfers (set-based) and compare with the cache."""
    received = (
        select(
            col(Transfer.to_account_id).label("account_id"), func.sum(Transfer.minutes).label("m")
        )
        .group_by(col(Transfer.to_account_id))
        .subquery()
    )
    paid = (
        select(
            col(Transfer.from_account_id).label("account_id"),
            func.sum(Transfer.minutes).label("m"),
        )
        .group_by(col(Transfer.from_account_id))
        .subquery()
    )
    computed = func.coalesce(received.c.m, 0) - func.coalesce(paid.c.m, 0)
    rows = await session.exec(
        select(Account.id, Account.balance_minutes, computed)
        .outerjoin(received, received.c.account_id == Account.id)
        .outerjoin(paid, paid.c.account_id == Account.id)
        .where(Account.balance_minutes != computed)
        .order_by(col(Account.id))
    )
    mismatches = [Mismatch(int(cast(int, a)), int(c), int(m)) for a, c, m in rows.all()]
    accounts = await session.scalar(select(func.count()).select_from(Account))
    transfers = await session.scalar(select(func.count()).select_from(Transfer))
    total = await session.scalar(select(func.coalesce(func.sum(Account.balance_minutes), 0)))
    return VerifyReport(
        int(accounts or 0),
        int(transfers or 0),
        mismatches,
        int(total or 0),
        await month_mismatches(session),
    )


async def month_mismatches(session: AsyncSession, *, limit: int = 100) -> list[MonthMismatch]:
    """Recount ``account_months`` from the transfers and name the rows that differ (at most
    ``limit``): the stored rows are subtracted from the recount, key by key."""
    conn = await session.connection()
    dialect = conn.dialect.name
    settings = await session.get(NetworkSettings, 1)
    timezone = settings.timezone if settings else DEFAULT_TIMEZONE
    first, last = (
        await session.exec(select(func.min(Transfer.created_at), func.max(Transfer.created_at)))
    ).one()
    recount = recount_months_sql(dialect, ZoneInfo(timezone), first, last)
    stored = ", ".join(f"-{c}" for c in _MONTH_COLUMNS)
    sums = ", ".join(f"SUM({c}) AS {c}" for c in _MONTH_COLUMNS)
    differs = " OR ".join(f"SUM({c}) <> 0" for c in _MONTH_COLUMNS)
    query = text(
        f"SELECT account_id, month, category_id, {sums} FROM ({recount} "
        f"UNION ALL SELECT account_id, month, category_id, {stored} FROM account_months) d "
        f"GROUP BY account_id, month, category_id HAVING {differs} "
        "ORDER BY account_id, month, category_id LIMIT :limit"
    ).columns(month=Date())
    params: dict[str, Any] = {"limit": limit}
    if dialect == "postgresql":
        params["tz"] = timezone
    rows = (await conn.execute(query, params)).all()
    return [
        MonthMismatch(
            int(row[0]),
            row[1] if isinstance(row[1], date) else date.fromisoformat(str(row[1])),
            int(row[2]),
            {c: -int(v) for c, v in zip(_MONTH_COLUMNS, row[3:], strict=True) if v},
        )
        for row in rows
    ]
