"""Disputes: the receiver's "No, that is not right" about logged help, and how it is settled.

A dispute says why (it did not happen / it took a different length, with that length /
something else, with a note). The exchange becomes ``disputed``: it leaves the receiver's
list of help to confirm, nothing is booked, and it shows on the giver's page and in the
manager's dispute queue until it ends in one of these ways:

- the giver accepts the receiver's length (``accept_correction``): booked with that length;
- the manager settles it (``settle``): confirmed as entered, confirmed with a corrected
  length, or rejected, always with a note for both sides;
- the receiver withdraws it (``withdraw``): the help waits for their confirmation again.

Every booking goes through ``exchanges.confirm_exchange``, so the ledger's rules and the
network's rule for a confirmation beyond a balance limit apply exactly as to any
confirmation; a dispute is settled once (the exchange row is locked first, and a settled
dispute refuses a second settlement with a ``Conflict``). Everyone involved is told
(``timebank.notifications``). Functions only flush.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, exchanges, i18n, notifications
from timebank.errors import Conflict, Invalid, NotFound
from timebank.i18n import N_
from timebank.members import get_member
from timebank.models import (
    DISPUTE_REASONS,
    Category,
    Dispute,
    Exchange,
    Member,
    id_of,
    utcnow,
)

MAX_NOTE = 500
# What the manager may decide (the giver's acceptance is "accepted", a withdrawal "withdrawn").
SETTLEMENTS = ("confirmed", "corrected", "rejected")

NOT_DISPUTED = N_("this help entry is not disputed")
SETTLED_ALREADY = N_("this dispute was settled already")
DISPUTED_ALREADY = N_(
    "this help entry is disputed already: take the dispute back first to give another reason"
)
ONLY_LENGTH = N_("only a corrected length can be accepted: the network office settles this dispute")
DECIDED_ALREADY = N_("this help entry was decided already")
SAME_LENGTH = N_("this is the length that was entered: if it is right, please confirm it")


# --- Notices ----------------------------------------------------------------------------------

_SUBJECT_OPENED = N_("Not right, says {receiver}: help on {day}")
# To the giver, by the reason.
_TO_GIVER = {
    "did_not_happen": N_(
        "{receiver} says the help you logged for {day} ({minutes}) did not happen. "
        "The network office will look at it and settle it."
    ),
    "length": N_(
        "{receiver} says the help you logged for {day} took {proposed}, not {minutes}. "
        "If that is right, accept the corrected length on your home page. Otherwise the "
        "network office will settle it."
    ),
    "other": N_(
        "{receiver} says the help you logged for {day} ({minutes}) was not like this: "
        "„{note}“. The network office will look at it and settle it."
    ),
}
# To the office, by the reason.
_TO_OFFICE = {
    "did_not_happen": N_(
        "{receiver} says the help {giver} logged for {day} ({minutes}) did not happen."
    ),
    "length": N_(
        "{receiver} says the help {giver} logged for {day} took {proposed}, not {minutes}."
    ),
    "other": N_(
        "{receiver} says the help {giver} logged for {day} ({minutes}) was not like this: „{note}“."
    ),
}
_SUBJECT_SETTLED = N_("Dispute settled: help on {day}")
_SETTLED = {
    "accepted": N_(
        "{giver} accepted the corrected length for the help on {day}. "
        "It is confirmed with {minutes}."
    ),
    "confirmed": N_(
        "The network office confirmed the help of {giver} for {receiver} on {day} as it "
        "was entered: {minutes}. The office's note: „{note}“"
    ),
    "corrected": N_(
        "The network office confirmed the help of {giver} for {receiver} on {day} with a "
        "corrected length: {minutes}. The office's note: „{note}“"
    ),
    "rejected": N_(
        "The network office rejected the help entry of {giver} for {receiver} on {day}. "
        "No hours were booked. The office's note: „{note}“"
    ),
}
_SUBJECT_WITHDRAWN = N_("Dispute taken back: help on {day}")
_WITHDRAWN = N_(
    "{receiver} took back the dispute about the help {giver} logged for {day} ({minutes}). "
    "It waits for confirmation again."
)


async def _office(session: AsyncSession) -> list[Member]:
    rows = await session.exec(select(Member).where(Member.role == "manager", Member.active))
    return list(rows.all())


async def _tell(
    session: AsyncSession,
    sides: Iterable[Member],
    *,
    office: bool = False,
    actor: Member,
    kind: str,
    key: str,
    subject: str,
    body: str,
    params: dict[str, object],
) -> None:
    """Tell each side (and, for a member who cannot sign in, the staff who act for them),
    then the office if asked; each person once (the key), never the one who did it."""
    for side in sides:
        await notifications.tell(
            session,
            side,
            kind=kind,
            subject=subject,
            body=body,
            params=params,
            key=key,
            link=notifications.HOME_PATH,
            actor=actor,
        )
    if not office:
        return
    for manager in await _office(session):
        if manager.id != actor.id:
            await notifications.notify(
                session,
                manager,
                kind=kind,
                subject=subject,
                body=body,
                params=params,
                key=f"{key}:{manager.id}",
                link=notifications.DISPUTES_PATH,
            )


async def _sides(session: AsyncSession, exchange: Exchange) -> tuple[Member, Member]:
    return (
        await get_member(session, exchange.giver_id),
        await get_member(session, exchange.receiver_id),
    )


def _params(exchange: Exchange, giver: Member, receiver: Member) -> dict[str, object]:
    return {
        "giver": giver.name,
        "receiver": receiver.name,
        "day": exchange.performed_on,
        "minutes": i18n.Minutes(exchange.minutes),
    }


# --- Opening, answering, settling ---------------------------------------------------------


async def open_dispute_of(session: AsyncSession, exchange_id: int) -> Dispute | None:
    return await session.scalar(
        select(Dispute).where(Dispute.exchange_id == exchange_id, col(Dispute.outcome).is_(None))
    )


async def latest_of(session: AsyncSession, exchange_id: int) -> Dispute | None:
    """The latest dispute about an exchange, open or settled (None: never disputed)."""
    return await session.scalar(
        select(Dispute).where(Dispute.exchange_id == exchange_id).order_by(col(Dispute.id).desc())
    )


async def _the_open_dispute(session: AsyncSession, exchange: Exchange) -> Dispute:
    dispute = await open_dispute_of(session, id_of(exchange))
    if dispute is not None and exchange.status == "disputed":
        return dispute
    settled = await session.scalar(
        select(Dispute.id).where(
            Dispute.exchange_id == exchange.id, col(Dispute.outcome).is_not(None)
        )
    )
    if settled is not None:
        raise Conflict(SETTLED_ALREADY, status=exchange.status)
    raise NotFound(NOT_DISPUTED)


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(exchanges.NOTE_TOO_LONG, field="note", params={"count": MAX_NOTE})
    return note


def _check_length(minutes: int | None, entered: int) -> int:
    if minutes is None:
        raise Invalid("how long was it? Enter hours or minutes", field="minutes")
    if minutes <= 0:
        raise Invalid("minutes must be more than 0", field="minutes")
    if minutes > exchanges.MAX_MINUTES:
        raise Invalid("one exchange can be at most 24 hours (1440 minutes)", field="minutes")
    if minutes == entered:
        raise Invalid(SAME_LENGTH, field="minutes")
    return minutes


async def open_dispute(
    session: AsyncSession,
    actor: Member,
    exchange_id: int,
    *,
    reason: str,
    minutes: int | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> Dispute:
    """The receiver (or staff acting for them) says the logged help is not right, and why.
    Sent twice alike (a double click), it answers the first dispute; another reason while
    one is open is refused: the receiver takes the first back, then says it again."""
    if reason not in DISPUTE_REASONS:
        raise Invalid("please choose what is not right", field="reason")
    note = _clean_note(note)
    if reason == "other" and note is None:
        raise Invalid("please say in a few words what is not right", field="note")
    exchange = await exchanges.locked_exchange(session, exchange_id)
    giver, receiver = await _sides(session, exchange)
    access.require_decide_exchange(actor, exchange, receiver)
    proposed = _check_length(minutes, exchange.minutes) if reason == "length" else None
    if exchange.status == "disputed":
        earlier = await open_dispute_of(session, exchange_id)
        if earlier is not None and (earlier.reason, earlier.proposed_minutes, earlier.note) == (
            reason,
            proposed,
            note,
        ):
            return earlier
        raise Conflict(DISPUTED_ALREADY, status=exchange.status)
    if exchange.status != "pending":
        # Each message of NOT_PENDING is an N_ constant of exchanges.py.
        decided = exchanges.NOT_PENDING.get(exchange.status, DECIDED_ALREADY)
        raise Conflict(decided, status=exchange.status)
    dispute = Dispute(
        exchange_id=id_of(exchange),
        reason=reason,
        entered_minutes=exchange.minutes,
        proposed_minutes=proposed,
        note=note,
        opened_by_id=id_of(actor),
        opened_at=at or utcnow(),
    )
    exchange.status = "disputed"
    session.add(exchange)
    session.add(dispute)
    await session.flush()
    params = _params(exchange, giver, receiver) | {
        "proposed": i18n.Minutes(proposed or 0),
        "note": note or "",
    }
    key = f"dispute:{dispute.id}:opened"
    await _tell(
        session,
        [giver],
        actor=actor,
        kind="dispute_opened",
        key=key,
        subject=_SUBJECT_OPENED,
        body=_TO_GIVER[reason],
        params=params,
    )
    await _tell(
        session,
        [],
        office=True,
        actor=actor,
        kind="dispute_opened",
        key=key,
        subject=_SUBJECT_OPENED,
        body=_TO_OFFICE[reason],
        params=params,
    )
    return dispute


async def _book(
    session: AsyncSession, exchange: Exchange, minutes: int, confirmer: Member, at: datetime | None
) -> exchanges.ExchangeResult:
    """Book the disputed help with ``minutes`` as any confirmation is booked: the exchange
    waits again for a moment, with its settled length, and ``confirm_exchange`` decides
    (its rules on who may confirm, balance limits, the office's hold)."""
    exchange.status = "pending"
    exchange.minutes = minutes
    session.add(exchange)
    await session.flush()
    return await exchanges.confirm_exchange(session, confirmer, id_of(exchange), at=at)


def _close(
    dispute: Dispute,
    actor: Member,
    outcome: str,
    *,
    minutes: int | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> None:
    dispute.outcome = outcome
    dispute.settled_minutes = minutes
    dispute.settled_by_id = id_of(actor)
    dispute.settled_at = at or utcnow()
    dispute.settlement_note = note


async def accept_correction(
    session: AsyncSession, actor: Member, exchange_id: int, *, at: datetime | None = None
) -> exchanges.ExchangeResult:
    """The giver (or staff acting for them) accepts the length the receiver gave: booked
    with that length. The receiver's corrected length is their confirmation, so it is
    booked in the receiver's name, as if they had confirmed it so; the dispute records that
    the giver accepted it."""
    exchange = await exchanges.locked_exchange(session, exchange_id)
    giver, receiver = await _sides(session, exchange)
    access.require_answer_dispute(actor, giver)
    dispute = await _the_open_dispute(session, exchange)
    if dispute.reason != "length" or dispute.proposed_minutes is None:
        raise Conflict(ONLY_LENGTH, status=exchange.status)
    minutes = dispute.proposed_minutes
    result = await _book(session, exchange, minutes, receiver, at)
    _close(dispute, actor, "accepted", minutes=minutes, at=at)
    session.add(dispute)
    await session.flush()
    await _tell(
        session,
        [receiver, giver],
        actor=actor,
        kind="dispute_settled",
        key=f"dispute:{dispute.id}:settled",
        subject=_SUBJECT_SETTLED,
        body=_SETTLED["accepted"],
        params=_params(result.exchange, giver, receiver),
    )
    return result


async def settle(
    session: AsyncSession,
    actor: Member,
    exchange_id: int,
    *,
    outcome: str,
    note: str,
    minutes: int | None = None,
    at: datetime | None = None,
) -> exchanges.ExchangeResult:
    """The network manager settles a dispute, with a note both sides are told:
    ``confirmed`` as it was entered, ``corrected`` with ``minutes``, or ``rejected``
    (nothing is booked). A second settlement is refused (``Conflict``)."""
    access.require_manager(actor)
    if outcome not in SETTLEMENTS:
        raise Invalid("please choose how the dispute is settled", field="outcome")
    clean = _clean_note(note)
    if clean is None:
        raise Invalid("please write a short note for both sides", field="note")
    exchange = await exchanges.locked_exchange(session, exchange_id)
    giver, receiver = await _sides(session, exchange)
    dispute = await _the_open_dispute(session, exchange)
    if outcome == "rejected":
        exchange.status = "rejected"
        exchange.reject_reason = clean
        exchange.decided_by_id = id_of(actor)
        exchange.decided_at = at or utcnow()
        session.add(exchange)
        await session.flush()
        result = exchanges.ExchangeResult(exchange, None)
        booked = None
    else:
        booked = (
            _check_length(minutes, dispute.entered_minutes)
            if outcome == "corrected"
            else dispute.entered_minutes
        )
        result = await _book(session, exchange, booked, actor, at)
    _close(dispute, actor, outcome, minutes=booked, note=clean, at=at)
    session.add(dispute)
    await session.flush()
    await _tell(
        session,
        [giver, receiver],
        actor=actor,
        kind="dispute_settled",
        key=f"dispute:{dispute.id}:settled",
        subject=_SUBJECT_SETTLED,
        body=_SETTLED[outcome],
        params=_params(result.exchange, giver, receiver) | {"note": clean},
    )
    return result


async def withdraw(
    session: AsyncSession, actor: Member, exchange_id: int, *, at: datetime | None = None
) -> Exchange:
    """The receiver (or staff acting for them) takes the dispute back.

    The help then waits for the receiver's confirmation again rather than being booked at
    once: taking back an objection is not yet a "yes, that is right". Someone who pressed
    the wrong reason can give the right one, and someone who changed their mind confirms it
    with one click, as any help logged for them; hours never move without that yes (or the
    network's own rule for help left unconfirmed)."""
    exchange = await exchanges.locked_exchange(session, exchange_id)
    giver, receiver = await _sides(session, exchange)
    access.require_decide_exchange(actor, exchange, receiver)
    dispute = await _the_open_dispute(session, exchange)
    _close(dispute, actor, "withdrawn", at=at)
    exchange.status = "pending"
    session.add(dispute)
    session.add(exchange)
    await session.flush()
    await _tell(
        session,
        [giver],
        office=True,
        actor=actor,
        kind="dispute_withdrawn",
        key=f"dispute:{dispute.id}:withdrawn",
        subject=_SUBJECT_WITHDRAWN,
        body=_WITHDRAWN,
        params=_params(exchange, giver, receiver),
    )
    return exchange


# --- Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeRow:
    """A dispute with its exchange and the names the pages show (``exchange_line`` takes it
    as it takes an exchange row)."""

    dispute: Dispute
    exchange: Exchange
    giver_name: str
    receiver_name: str
    category: Category
    entered_by_name: str
    opened_by_name: str
    settled_by_name: str | None


_giver = aliased(Member)
_receiver = aliased(Member)
_enterer = aliased(Member)
_opener = aliased(Member)
_settler = aliased(Member)


async def _rows(session: AsyncSession, *where: object, newest: str, limit: int) -> list[DisputeRow]:
    order = col(Dispute.settled_at) if newest == "settled" else col(Dispute.opened_at)
    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to 4 columns
            Dispute,
            Exchange,
            _giver.name,
            _receiver.name,
            Category,
            _enterer.name,
            _opener.name,
            _settler.name,
        )
        .join(Exchange, col(Exchange.id) == Dispute.exchange_id)
        .join(_giver, _giver.id == Exchange.giver_id)
        .join(_receiver, _receiver.id == Exchange.receiver_id)
        .join(_enterer, _enterer.id == Exchange.entered_by_id)
        .join(Category, col(Category.id) == Exchange.category_id)
        .join(_opener, _opener.id == Dispute.opened_by_id)
        .outerjoin(_settler, _settler.id == Dispute.settled_by_id)
        .where(*where)
        .order_by(order.desc() if newest == "settled" else order, col(Dispute.id))
        .limit(max(1, min(limit, 200)))
    )
    return [DisputeRow(*row) for row in (await session.exec(query)).all()]


async def queue(session: AsyncSession, actor: Member, *, limit: int = 100) -> list[DisputeRow]:
    """The manager's queue: open disputes, the oldest first."""
    access.require_manager(actor)
    return await _rows(session, col(Dispute.outcome).is_(None), newest="opened", limit=limit)


async def recently_settled(
    session: AsyncSession, actor: Member, *, limit: int = 10
) -> list[DisputeRow]:
    access.require_manager(actor)
    return await _rows(session, col(Dispute.outcome).is_not(None), newest="settled", limit=limit)


@dataclass(frozen=True)
class MemberDisputes:
    """What a member's home page shows: open disputes about help they gave (to accept a
    corrected length or wait for the office) and about help they received (to withdraw)."""

    as_giver: list[DisputeRow]
    as_receiver: list[DisputeRow]


async def of_member(session: AsyncSession, actor: Member, member: Member) -> MemberDisputes:
    access.require_see_member(actor, member)
    open_ = col(Dispute.outcome).is_(None)
    return MemberDisputes(
        as_giver=await _rows(
            session, open_, Exchange.giver_id == member.id, newest="opened", limit=50
        ),
        as_receiver=await _rows(
            session, open_, Exchange.receiver_id == member.id, newest="opened", limit=50
        ),
    )
