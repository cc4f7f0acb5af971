"""Flags: what the jobs put in front of the network manager, and what the manager does with
them — acknowledge, add a note, snooze until a date, resolve with a note.

Every change is an event in the flag's history, with its actor (None when a job acted).
The balance review opens and clears flags set-wise (``timebank.review``); the daily
follow-ups (``timebank.jobs.reminders``) open one at a time with ``open_flag`` and clear with
``resolve_where``. The other functions are the manager's, one flag at a time, each checked
by ``timebank.access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, ledger, network
from timebank.errors import Conflict, Invalid, NotFound
from timebank.models import (
    BALANCE_KINDS,
    FLAG_KINDS,
    ROLES,
    Flag,
    FlagEvent,
    Member,
    UTCDateTime,
    id_of,
    utcnow,
)

# English message ids of the kinds of flags, as the manager reads them.
KIND_NAMES = {
    "takes_without_giving": "takes without giving",
    "gives_without_taking": "gives without taking",
    "near_limit": "near a balance limit",
    "inactive": "inactive",
    "unconfirmed_exchange": "exchange not confirmed",
    "unanswered_request": "request without a helper",
}


MAX_NOTE = 2000


def _note(value: str | None, *, required: bool) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_NOTE:
        raise Invalid(
            "the note is too long (at most {count} characters)",
            field="note",
            params={"count": MAX_NOTE},
        )
    if required and not text:
        raise Invalid("write a note (a few words are enough)", field="note")
    return text or None


async def _flag_for_update(session: AsyncSession, flag_id: int) -> Flag:
    flag = await session.scalar(
        select(Flag)
        .where(Flag.id == flag_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if flag is None:
        raise NotFound("this flag was not found")
    return flag


async def _event(
    session: AsyncSession,
    flag: Flag,
    action: str,
    actor: Member,
    note: str | None = None,
    snoozed_until: date | None = None,
) -> FlagEvent:
    now = utcnow()
    flag.updated_at = now
    event = FlagEvent(
        flag_id=id_of(flag),
        action=action,
        actor_id=actor.id,
        note=note,
        snoozed_until=snoozed_until,
        created_at=now,
    )
    session.add_all([flag, event])
    await session.flush()
    return event


def _require_unresolved(flag: Flag) -> None:
    if flag.status == "resolved":
        raise Conflict("this flag is resolved already", status=flag.status)


async def acknowledge(
    session: AsyncSession, actor: Member, flag_id: int, *, note: str | None = None
) -> Flag:
    """The manager has seen it. Acknowledging twice records nothing new."""
    access.require_manage_flags(actor)
    flag = await _flag_for_update(session, flag_id)
    _require_unresolved(flag)
    text = _note(note, required=False)
    if flag.status == "acknowledged" and text is None:
        return flag
    flag.status = "acknowledged"
    flag.snoozed_until = None
    await _event(session, flag, "acknowledge", actor, text)
    return flag


async def add_note(session: AsyncSession, actor: Member, flag_id: int, *, note: str) -> Flag:
    """A note on the flag (e.g. "phoned her, she is fine"); allowed on resolved ones too."""
    access.require_manage_flags(actor)
    flag = await _flag_for_update(session, flag_id)
    await _event(session, flag, "note", actor, _note(note, required=True))
    return flag


async def snooze(
    session: AsyncSession,
    actor: Member,
    flag_id: int,
    *,
    until: date,
    note: str | None = None,
    today: date | None = None,
) -> Flag:
    """Put a flag aside until a date; the review wakes it then (its figures stay current)."""
    access.require_manage_flags(actor)
    today = today or await network.today(session)
    if not isinstance(until, date) or until <= today:
        raise Invalid("snooze until a date after today", field="until")
    if (until - today).days > 366:
        raise Invalid("snooze for at most a year", field="until")
    flag = await _flag_for_update(session, flag_id)
    _require_unresolved(flag)
    flag.status = "snoozed"
    flag.snoozed_until = until
    await _event(session, flag, "snooze", actor, _note(note, required=False), until)
    return flag


async def resolve(session: AsyncSession, actor: Member, flag_id: int, *, note: str) -> Flag:
    """The manager closes the flag, saying what was done. If the member is still out of
    balance at the next review, a new flag opens: resolving is not silencing."""
    access.require_manage_flags(actor)
    text = _note(note, required=True)
    flag = await _flag_for_update(session, flag_id)
    _require_unresolved(flag)
    now = utcnow()
    flag.status = "resolved"
    flag.resolution = "manager"
    flag.resolved_at = now
    flag.resolved_by_id = actor.id
    flag.snoozed_until = None
    await _event(session, flag, "resolve", actor, text)
    return flag


# --- Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagFilter:
    kind: str | None = None
    role: str | None = None
    district_id: int | None = None
    organization_id: int | None = None
    status: str | None = None  # None: every unresolved flag

    def checked(self) -> FlagFilter:
        if self.kind is not None and self.kind not in FLAG_KINDS:
            raise Invalid("choose a kind of flag from the list", field="kind")
        if self.role is not None and self.role not in ROLES:
            raise Invalid("choose a role from the list", field="role")
        return self


@dataclass(frozen=True)
class FlagRow:
    flag: Flag
    member: Member


async def open_flags(
    session: AsyncSession, actor: Member, filters: FlagFilter | None = None, *, limit: int = 200
) -> list[FlagRow]:
    """Unresolved flags, newest first, filtered by kind, role, district, organisation.
    A flag's district is the request's for unanswered requests, else the member's."""
    access.require_manage_flags(actor)
    f = (filters or FlagFilter()).checked()
    query = select(Flag, Member).join(Member, col(Member.id) == Flag.member_id)
    if f.status is None:
        query = query.where(Flag.status != "resolved")
    else:
        query = query.where(Flag.status == f.status)
    if f.kind is not None:
        query = query.where(Flag.kind == f.kind)
    if f.role is not None:
        query = query.where(Member.role == f.role)
    if f.district_id is not None:
        query = query.where(func.coalesce(Flag.district_id, Member.district_id) == f.district_id)
    if f.organization_id is not None:
        query = query.where(Member.organization_id == f.organization_id)
    query = query.order_by(col(Flag.opened_at).desc(), col(Flag.id).desc())
    query = query.limit(max(1, min(limit, 1000)))
    return [FlagRow(flag, member) for flag, member in (await session.exec(query)).all()]


@dataclass(frozen=True)
class FlagHistory:
    flag: Flag
    events: list[FlagEvent]


async def member_history(session: AsyncSession, actor: Member, member_id: int) -> list[FlagHistory]:
    """Every flag the member ever had, newest first, each with its events in order."""
    access.require_manage_flags(actor)
    all_flags = (
        await session.exec(
            select(Flag).where(Flag.member_id == member_id).order_by(col(Flag.id).desc())
        )
    ).all()
    ids = [id_of(f) for f in all_flags]
    events: dict[int, list[FlagEvent]] = {i: [] for i in ids}
    if ids:
        rows = await session.exec(
            select(FlagEvent).where(col(FlagEvent.flag_id).in_(ids)).order_by(col(FlagEvent.id))
        )
        for event in rows.all():
            events[event.flag_id].append(event)
    return [FlagHistory(f, events[id_of(f)]) for f in all_flags]


async def own_balance_flag_kinds(session: AsyncSession, member: Member) -> list[str]:
    """The kinds of the member's own unresolved balance flags, for a friendly note on their
    page (never the flag itself, nor the manager's notes)."""
    rows = await session.exec(
        select(Flag.kind).where(
            Flag.member_id == member.id,
            Flag.status != "resolved",
            col(Flag.kind).in_(BALANCE_KINDS),
        )
    )
    return sorted(set(rows.all()))


@dataclass(frozen=True)
class MonthBalance:
    month: date
    balance_minutes: int


async def balance_over_time(
    session: AsyncSession, actor: Member, member_id: int, *, months: int = 12
) -> list[MonthBalance]:
    """The member's balance at the end of each of the last ``months`` months (oldest first),
    read from the balance after each of their recent transfers."""
    access.require_manage_flags(actor)
    account = await ledger.account_of_member(session, member_id)
    lines = await ledger.statement(session, id_of(account), limit=500)
    clock = await network.town_clock(session)
    this_month = clock.today().replace(day=1)
    starts = [this_month]
    for _ in range(months - 1):
        starts.append((starts[-1] - timedelta(days=1)).replace(day=1))
    starts.reverse()
    # Newest first: the first line at or before a month's end is its closing balance.
    result = []
    for start in starts:
        end = (start + timedelta(days=32)).replace(day=1)
        closing = next((line for line in lines if clock.day_of(line.created_at) < end), None)
        if closing is not None:
            value = closing.balance_after
        elif lines:  # before the oldest line we have: the balance before it
            value = lines[-1].balance_after - lines[-1].minutes
        else:
            value = account.balance_minutes
        result.append(MonthBalance(start, value))
    return result


# --- Opened and cleared by the jobs ---------------------------------------------------------


async def open_flag(
    session: AsyncSession,
    *,
    member_id: int,
    kind: str,
    subject_id: int,
    now: datetime,
    **figures: object,
) -> bool:
    """Open a flag unless an unresolved one for the same member, kind and subject exists;
    whether it opened one.

    One statement, ``ON CONFLICT DO NOTHING`` on the one-open-flag index: a job opening the
    same flag in another transaction at the same moment makes this one wait for it and then
    skip, instead of failing on the index (a look first would see nothing uncommitted)."""
    flag = Flag(
        member_id=member_id, kind=kind, subject_id=subject_id, opened_at=now, updated_at=now
    )
    for name, value in figures.items():
        setattr(flag, name, value)
    postgres = (await session.connection()).dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    flag_id = await session.scalar(
        insert(Flag)
        .values(**flag.model_dump(exclude={"id"}))
        .on_conflict_do_nothing(
            index_elements=["member_id", "kind", "subject_id"],
            index_where=text("status <> 'resolved'"),
        )
        .returning(col(Flag.id))
    )
    if flag_id is None:
        return False
    session.add(FlagEvent(flag_id=flag_id, action="open", created_at=now))
    await session.flush()
    return True


async def resolve_by_review(session: AsyncSession, condition: str, now: datetime) -> int:
    """Resolve, as the review's doing, the flags matching ``condition`` (SQL over ``flags``),
    each with a 'resolve' event; the count of flags resolved."""
    params = {"now": now}
    stamp = bindparam("now", type_=UTCDateTime())
    conn = await session.connection()
    await conn.execute(
        text(
            "INSERT INTO flag_events (flag_id, action, actor_id, note, created_at) "
            "SELECT flags.id, 'resolve', NULL, 'resolved by review', :now FROM flags "
            f"WHERE {condition}"
        ).bindparams(stamp),
        params,
    )
    done = await conn.execute(
        text(
            "UPDATE flags SET status = 'resolved', resolution = 'review', resolved_at = :now, "
            f"updated_at = :now, snoozed_until = NULL WHERE {condition}"
        ).bindparams(stamp),
        params,
    )
    return max(done.rowcount or 0, 0)


async def resolve_where(session: AsyncSession, kind: str, still_true: str, now: datetime) -> int:
    """Resolve (by review) the unresolved flags of ``kind`` whose subject no longer matches
    ``still_true`` (SQL over ``flags``, with the subject as ``flags.subject_id``)."""
    condition = f"flags.kind = '{kind}' AND flags.status <> 'resolved' AND NOT ({still_true})"
    return await resolve_by_review(session, condition, now)
