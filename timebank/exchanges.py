"""Exchanges: logging help, confirming or rejecting it, and paying it from the pool.

An exchange is the story of one piece of help; when it is confirmed, exactly one transfer
books it (``timebank.ledger``). Everything an exchange write does happens in the caller's
transaction, so a refused confirmation leaves nothing half-written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, held, ledger, network, notifications
from timebank.errors import Conflict, Forbidden, Invalid, NotFound
from timebank.i18n import N_, Minutes
from timebank.members import category_by_slug, get_account, get_member
from timebank.models import Account, Category, Exchange, Member, Transfer, id_of, utcnow

MAX_MINUTES = 24 * 60
MAX_NOTE = 1000
# One limit for every client-chosen key; a donation's key is stored with a short prefix
# in a column of 100 characters.
MAX_KEY = 64

NOTE_TOO_LONG = N_("the note is too long (at most {count} characters)")
EXCHANGE_NOT_FOUND = N_("this help entry was not found")
# An exchange that is no longer pending, by its status: said in words, not as a code.
NOT_PENDING = {
    "confirmed": N_("this help entry was confirmed already"),
    "rejected": N_("this help entry was rejected already"),
    "reversed": N_("this help entry was confirmed already, and its hours were booked back"),
    "held": N_("this help entry was confirmed already, and the network office settles it"),
    "disputed": N_("this help entry is disputed: it is decided when the dispute is settled"),
}
OVERRIDE_NEEDED = N_("say why it is booked beyond the limit (a few words are enough)")


class GiverCannotConfirm(Forbidden):
    """The giver (or a professional colleague, for a professional's help to their own
    client) tried to confirm: the receiver's hours would go without the receiver or the
    manager saying yes."""

    code = "giver_cannot_confirm"


@dataclass(frozen=True)
class ExchangeResult:
    exchange: Exchange
    transfer: Transfer | None


def _check_minutes(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise Invalid("minutes must be a whole number", field="minutes")
    if minutes <= 0:
        raise Invalid("minutes must be more than 0", field="minutes")
    if minutes > MAX_MINUTES:
        raise Invalid("one exchange can be at most 24 hours (1440 minutes)", field="minutes")
    return minutes


async def _active_member(session: AsyncSession, member_id: int, field: str) -> Member:
    member = await session.get(Member, member_id)
    if member is None:
        raise Invalid("this member was not found", field=field)
    if not member.active:
        raise Invalid("{name} is no longer active", field=field, params={"name": member.name})
    return member


def clean_key(idempotency_key: str | None) -> str | None:
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY:
        raise Invalid(
            "the idempotency key must be 1 to {count} characters long",
            field="idempotency_key",
            params={"count": MAX_KEY},
        )
    return key


async def _entered_with_key(session: AsyncSession, actor: Member, key: str) -> Exchange | None:
    return await session.scalar(
        select(Exchange).where(Exchange.entered_by_id == actor.id, Exchange.idempotency_key == key)
    )


async def _booked_transfer(session: AsyncSession, exchange: Exchange) -> Transfer | None:
    return await session.scalar(
        select(Transfer).where(
            Transfer.exchange_id == exchange.id,
            col(Transfer.reverses_id).is_(None),
        )
    )


async def record_exchange(
    session: AsyncSession,
    actor: Member,
    *,
    giver_id: int,
    receiver_id: int,
    minutes: int,
    performed_on: date,
    category: str,
    note: str | None = None,
    idempotency_key: str | None = None,
    request_id: int | None = None,
    override_reason: str | None = None,
    today: date | None = None,
    at: datetime | None = None,
) -> ExchangeResult:
    """Log a piece of help. The giver's own entry waits for the receiver; staff entering for
    the receiver book it at once (assisted). A retried call with the same ``idempotency_key``
    returns the first result and books nothing new.

    ``at`` backdates the entry (and its booking): the demo's history, the scheduler's tick."""

    async def the_earlier(earlier: Exchange) -> ExchangeResult:
        # A retry repeats its request exactly; the key reused for other help (another
        # category or note included) is the client's mistake: refused, not hidden.
        before = (earlier.giver_id, earlier.receiver_id, earlier.minutes, earlier.performed_on)
        now = (giver_id, receiver_id, minutes, performed_on)
        same = (
            before == now
            and await category_slug(session, earlier) == category
            and earlier.note == ((note or "").strip() or None)
            and earlier.request_id == request_id
        )
        if not same:
            raise ledger.IdempotencyConflict(
                "this idempotency_key was already used for a different exchange",
                exchange_id=earlier.id,
            )
        return ExchangeResult(earlier, await _booked_transfer(session, earlier))

    idempotency_key = clean_key(idempotency_key)
    if idempotency_key is not None:
        earlier = await _entered_with_key(session, actor, idempotency_key)
        if earlier is not None:
            return await the_earlier(earlier)

    minutes = _check_minutes(minutes)
    if today is None:
        # A backdated entry is judged by the town's day at that moment, not the server's.
        clock = await network.town_clock(session)
        today = clock.day_of(at) if at else clock.today()
    if performed_on > today:
        raise Invalid(
            "the date lies in the future: log help after it happened", field="performed_on"
        )
    earliest = network.earliest_help_day(await network.network_settings(session), today)
    if performed_on < earliest:
        raise Invalid(
            "the date lies too far back: help can be logged up to {days} days after it "
            "happened, so from {day} on",
            field="performed_on",
            params={"days": (today - earliest).days, "day": earliest},
        )
    if giver_id == receiver_id:
        raise Invalid("giver and receiver must be two different people", field="receiver_id")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(NOTE_TOO_LONG, field="note", params={"count": MAX_NOTE})
    giver = await _active_member(session, giver_id, "giver_id")
    receiver = await _active_member(session, receiver_id, "receiver_id")
    for member in (giver, receiver):
        if performed_on < member.joined_on:
            raise Invalid(
                "{name} joined the network on {day}: the help cannot have been before that",
                field="performed_on",
                params={"name": member.name, "day": member.joined_on},
            )
    cat = await category_by_slug(session, category)
    confirm_now = access.entry_confirms_at_once(actor, giver, receiver)

    exchange = Exchange(
        giver_id=giver_id,
        receiver_id=receiver_id,
        performed_on=performed_on,
        minutes=minutes,
        category_id=id_of(cat),
        note=note,
        entered_by_id=id_of(actor),
        assisted=actor.id != giver_id,
        request_id=request_id,
        idempotency_key=idempotency_key,
        created_at=at or utcnow(),
    )
    if idempotency_key is None:
        session.add(exchange)
        await session.flush()
    else:
        # A simultaneous retry may have inserted the same key since we looked: PostgreSQL
        # makes this insert wait for it and then refuses it; answer with that first entry.
        try:
            async with session.begin_nested():
                session.add(exchange)
                await session.flush()
        except IntegrityError:
            earlier = await _entered_with_key(session, actor, idempotency_key)
            if earlier is None:
                raise
            return await the_earlier(earlier)
    transfer = None
    if confirm_now:
        transfer = await _book_or_hold(
            session, exchange, actor, override_reason=override_reason, at=at
        )
        if _plainly_booked(exchange):
            await notifications.help_confirmed(session, exchange, actor)
    await notifications.hours_logged(session, exchange, actor)
    return ExchangeResult(exchange, transfer)


async def _book(
    session: AsyncSession,
    exchange: Exchange,
    actor: Member | None,
    *,
    from_pool: bool = False,
    to_pool: bool = False,
    override_reason: str | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    if from_pool:
        accounts = await ledger.account_ids_of_members(session, exchange.giver_id)
        payer_id = id_of(await ledger.pool_account(session))
    else:
        accounts = await ledger.account_ids_of_members(
            session, exchange.giver_id, exchange.receiver_id
        )
        payer_id = accounts[exchange.receiver_id]
    # The giver's account full, by the network's choice: the pool takes the hours instead.
    payee_id = id_of(await ledger.pool_account(session)) if to_pool else accounts[exchange.giver_id]
    transfer = await ledger.post_transfer(
        session,
        from_account_id=payer_id,
        to_account_id=payee_id,
        minutes=exchange.minutes,
        kind="pool_payment" if from_pool else "exchange",
        actor=actor,
        exchange_id=exchange.id,
        override_reason=override_reason,
        reason=reason,
        at=at,
    )
    exchange.status = "confirmed"
    exchange.paid_by_pool = from_pool
    exchange.decided_by_id = actor.id if actor is not None else None
    exchange.decided_at = at or utcnow()
    session.add(exchange)
    await session.flush()
    return transfer


# Notes the books keep on help booked otherwise than receiver → giver (see SYSTEM_NOTES).
POOL_COVER_NOTE = "paid by the community pool: the network's monthly allowance"
TO_POOL_NOTE = "the helper's time account was full: the hours went to the community pool"


async def _settled(session: AsyncSession, exchange: Exchange, how: str) -> None:
    exchange.settled_as = how
    session.add(exchange)
    await session.flush()


async def _book_or_hold(
    session: AsyncSession,
    exchange: Exchange,
    actor: Member | None,
    *,
    override_reason: str | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> Transfer | None:
    """Book confirmed help; where a balance limit refuses it, nobody is refused
    (``timebank.held``): the pool covers it by the network's allowance, or the hours go to
    the pool when the giver's account is full and the network says so, or the exchange is
    held for the office (None: nothing booked). A manager's ``override_reason`` books it
    beyond the limit at once."""
    if override_reason is not None:
        return await _book(session, exchange, actor, override_reason=override_reason, at=at)
    try:
        return await _book(session, exchange, actor, reason=reason, at=at)
    except ledger.BalanceLimitExceeded as refused:
        # The ledger refuses before it writes anything (the accounts stay locked by us).
        beyond = str(refused.extra.get("limit", "minimum"))
    policy = network.held_policy(await network.network_settings(session))
    try:
        if beyond == "minimum" and await held.may_cover(session, exchange, at):
            transfer = await _book(
                session, exchange, actor, from_pool=True, reason=POOL_COVER_NOTE, at=at
            )
            await _settled(session, exchange, "pool_cover")
            await held.tell_settled(session, exchange)
            return transfer
        if beyond == "maximum" and policy.giver_full_action == "pool":
            transfer = await _book(
                session, exchange, actor, to_pool=True, reason=TO_POOL_NOTE, at=at
            )
            await _settled(session, exchange, "to_pool")
            await held.tell_to_pool(session, exchange)
            return transfer
    except ledger.BalanceLimitExceeded:
        pass  # another limit (the pool's, the giver's): the office decides
    exchange.status = "held"
    exchange.held_for = beyond
    exchange.decided_by_id = actor.id if actor is not None else None
    exchange.decided_at = at or utcnow()
    session.add(exchange)
    await session.flush()
    await held.tell_held(session, exchange)
    return None


async def locked_exchange(session: AsyncSession, exchange_id: int) -> Exchange:
    """The exchange, locked and read fresh. Lock it before the accounts (always this order):
    two decisions on the same exchange (confirmations, dispute answers) queue here, and the
    second sees what the first did."""
    exchange = await session.scalar(
        select(Exchange)
        .where(Exchange.id == exchange_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if exchange is None:
        raise NotFound(EXCHANGE_NOT_FOUND)
    return exchange


def _not_pending(exchange: Exchange) -> Conflict:
    return Conflict(NOT_PENDING[exchange.status], status=exchange.status)


async def confirm_exchange(
    session: AsyncSession,
    actor: Member,
    exchange_id: int,
    *,
    override_reason: str | None = None,
    at: datetime | None = None,
) -> ExchangeResult:
    """The receiver (or staff acting for them) confirms: the receiver's account pays the giver.
    Confirming an already confirmed exchange returns it unchanged (a retry books nothing)."""
    exchange = await locked_exchange(session, exchange_id)
    receiver = await get_member(session, exchange.receiver_id)
    giver = await get_member(session, exchange.giver_id)
    if actor.id == giver.id:
        raise GiverCannotConfirm(
            "you cannot confirm help you gave: the person who received it confirms it, "
            "or the network manager"
        )
    access.require_decide_exchange(actor, exchange, receiver)
    if not access.can_confirm_exchange(actor, giver, receiver):
        raise GiverCannotConfirm(
            "a colleague's help to their own client is confirmed by the client, "
            "or the network manager"
        )
    if exchange.status == "confirmed":
        return ExchangeResult(exchange, await _booked_transfer(session, exchange))
    if exchange.status == "held" and override_reason is None:
        return ExchangeResult(exchange, None)  # confirmed once already: the office settles it
    if exchange.status not in ("pending", "held"):
        raise _not_pending(exchange)
    if exchange.status == "held":
        # Only the manager's reason books held help here (as the queue's override does).
        return await book_with_override(session, actor, exchange_id, override_reason, at=at)
    transfer = await _book_or_hold(session, exchange, actor, override_reason=override_reason, at=at)
    if _plainly_booked(exchange):
        await notifications.help_confirmed(session, exchange, actor)
    return ExchangeResult(exchange, transfer)


def _plainly_booked(exchange: Exchange) -> bool:
    """Booked from the receiver to the giver: ``timebank.held`` tells of everything else."""
    return exchange.status == "confirmed" and exchange.settled_as is None


async def auto_confirm(session: AsyncSession, exchange: Exchange, *, at: datetime) -> bool:
    """Confirm a long-pending exchange by the network's policy, with no one as its actor (the
    transfer says why). Beyond a balance limit it is held for the office like any
    confirmation (``timebank.held``): True either way, and ``exchange.status`` says which.
    The caller holds the exchange locked. Staff's help to a member they act for is never
    confirmed by silence (the client may have no login to object with, and the reminder goes
    to the staff): False, and the office gets the flag."""
    giver = await get_member(session, exchange.giver_id)
    receiver = await get_member(session, exchange.receiver_id)
    if not access.may_confirm_by_silence(giver, receiver):
        return False
    reason = "confirmed automatically: not confirmed or rejected in time"
    await _book_or_hold(session, exchange, None, reason=reason)
    # Booked (or held) now; decided at the job's moment (the tick it ran for).
    exchange.decided_at = at
    session.add(exchange)
    await session.flush()
    return True


async def reject_exchange(
    session: AsyncSession,
    actor: Member,
    exchange_id: int,
    *,
    reason: str,
    at: datetime | None = None,
) -> Exchange:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("say why you reject it (a few words are enough)", field="reason")
    if len(reason) > ledger.MAX_REASON:
        # Looked up outside the call: inside it, the extractor would take "reason" for an id.
        too_long = ledger.TOO_LONG["reason"]
        raise Invalid(too_long, field="reason", params={"count": ledger.MAX_REASON})
    exchange = await locked_exchange(session, exchange_id)
    receiver = await get_member(session, exchange.receiver_id)
    access.require_decide_exchange(actor, exchange, receiver)
    if exchange.status == "rejected":
        return exchange
    if exchange.status != "pending":
        raise _not_pending(exchange)
    exchange.status = "rejected"
    exchange.reject_reason = reason
    exchange.decided_by_id = actor.id
    exchange.decided_at = at or utcnow()
    session.add(exchange)
    await session.flush()
    return exchange


async def pay_from_pool(
    session: AsyncSession, actor: Member, exchange_id: int, *, at: datetime | None = None
) -> ExchangeResult:
    """The manager lets the community pool, not the receiver, pay the giver: pending help,
    or help held for the office (``timebank.held``). Both sides are told. A second call (a
    retry, a second click) returns the first payment and books nothing."""
    access.require_manager(actor)
    exchange = await locked_exchange(session, exchange_id)
    if exchange.status == "confirmed" and exchange.paid_by_pool:
        return ExchangeResult(exchange, await _booked_transfer(session, exchange))
    if exchange.status not in ("pending", "held"):
        raise _not_pending(exchange)
    was_held = exchange.status == "held"
    transfer = await _book(session, exchange, actor, from_pool=True, at=at)
    if was_held:
        await _settled(session, exchange, "pool")
    await held.tell_settled(session, exchange)
    return ExchangeResult(exchange, transfer)


async def book_with_override(
    session: AsyncSession,
    actor: Member,
    exchange_id: int,
    override_reason: str | None,
    *,
    at: datetime | None = None,
) -> ExchangeResult:
    """The manager books held help as confirmed, beyond the limit that held it, with a
    reason the books keep (``ledger``: invariant 4). Both sides are told. A second call
    returns the first booking and books nothing."""
    access.require_manager(actor)
    if not (override_reason or "").strip():
        raise Invalid(OVERRIDE_NEEDED, field="override_reason")
    exchange = await locked_exchange(session, exchange_id)
    if exchange.status == "confirmed" and exchange.settled_as == "override":
        return ExchangeResult(exchange, await _booked_transfer(session, exchange))
    if exchange.status != "held":
        if exchange.status == "pending":
            raise Conflict(held.HELD_NOT_FOUND, status=exchange.status)
        raise _not_pending(exchange)
    transfer = await _book(session, exchange, actor, override_reason=override_reason, at=at)
    await _settled(session, exchange, "override")
    await held.tell_settled(session, exchange)
    return ExchangeResult(exchange, transfer)


async def reverse_exchange_transfer(
    session: AsyncSession,
    actor: Member,
    transfer_id: int,
    *,
    reason: str,
    override_reason: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    """A manager's correction: reverse a transfer; its exchange, if any, becomes reversed.
    ``override_reason`` lets it take the pool below zero (see ``ledger.reverse_transfer``)."""
    reversal = await ledger.reverse_transfer(
        session, transfer_id, actor=actor, reason=reason, override_reason=override_reason, at=at
    )
    if reversal.exchange_id is not None:
        exchange = await session.get(Exchange, reversal.exchange_id)
        if exchange is not None:
            exchange.status = "reversed"
            session.add(exchange)
            await session.flush()
    await notifications.help_reversed(session, reversal.exchange_id, reason, actor)
    return reversal


# Notes the system writes into the books itself (a donation's reason, a dispute's reason
# when the member gave none). They stay stored as written, in English, for the books; pages
# show them translated through SYSTEM_NOTES (stored note -> message id), as a person's own
# note cannot be.
DONATION_NOTE = "donation to the community pool"
DISPUTE_NOTE = N_("Disputed: this did not happen like this")
SYSTEM_NOTES: dict[str, str] = {
    DONATION_NOTE: N_("Donation to the community pool"),
    DISPUTE_NOTE: DISPUTE_NOTE,
    POOL_COVER_NOTE: N_("Paid by the community pool (the network's monthly allowance)"),
    TO_POOL_NOTE: N_("The helper's time account was full: the hours went to the community pool"),
}
# Only hours a member has can be given away: a member below zero gives nothing to the pool.
DONATION_BEYOND_BALANCE = N_(
    "You can give only hours you have. Your time account stands at {balance}."
)


async def donate_to_pool(
    session: AsyncSession,
    actor: Member,
    minutes: int,
    *,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    """Any member gives hours from their own account to the community pool."""
    access.require_active(actor)
    idempotency_key = clean_key(idempotency_key)
    own = await ledger.account_of_member(session, id_of(actor))
    pool = await ledger.pool_account(session)
    # Transfer keys are global: the prefix keeps one member's key from meeting another's.
    key = f"donation:{actor.id}:{idempotency_key}" if idempotency_key else None
    retried = key is not None and await session.scalar(
        select(Transfer.id).where(Transfer.idempotency_key == key)
    )
    if not retried:
        # Judged on the balance as locked: two gifts at once cannot both pass.
        locked = await session.scalar(
            select(Account)
            .where(Account.id == own.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        balance = (locked or own).balance_minutes
        if balance < 0:
            raise Invalid(
                DONATION_BEYOND_BALANCE,
                field="minutes",
                params={"balance": Minutes(balance)},
            )
    return await ledger.post_transfer(
        session,
        from_account_id=id_of(own),
        to_account_id=id_of(pool),
        minutes=minutes,
        kind="donation",
        actor=actor,
        reason=DONATION_NOTE,
        idempotency_key=key,
        at=at,
    )


# --- Reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementEntry:
    """A statement line with what its exchange says about how it was entered."""

    line: ledger.StatementLine
    exchange: Exchange | None

    @property
    def assisted(self) -> bool:
        return self.exchange is not None and self.exchange.assisted

    @property
    def paid_by_pool(self) -> bool:
        return self.exchange is not None and self.exchange.paid_by_pool


@dataclass(frozen=True)
class Statement:
    account: Account
    entries: list[StatementEntry]


async def account_statement(
    session: AsyncSession,
    actor: Member,
    account_id: int,
    *,
    limit: int = 50,
    before_id: int | None = None,
) -> Statement:
    """An account's statement, newest first, for those who may see the account: each line
    shows whether staff entered it for the member and any limit override."""
    account = await get_account(session, actor, account_id)
    lines = await ledger.statement(session, account_id, limit=limit, before_id=before_id)
    ids = {line.exchange_id for line in lines if line.exchange_id is not None}
    found: dict[int, Exchange] = {}
    if ids:
        rows = await session.exec(select(Exchange).where(col(Exchange.id).in_(ids)))
        found = {id_of(e): e for e in rows.all()}
    entries = [
        StatementEntry(line, found.get(line.exchange_id) if line.exchange_id else None)
        for line in lines
    ]
    return Statement(account, entries)


async def category_slug(session: AsyncSession, exchange: Exchange) -> str:
    category = await session.get(Category, exchange.category_id)
    return category.slug if category else ""
