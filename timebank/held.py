"""Help held for the network office: nobody is refused for help that was given (issue 9,
point 1).

When confirming help would take the receiver's time account below its minimum, or the
giver's above its maximum, the ledger refuses the booking (``ledger.BalanceLimitExceeded``).
A person should never meet that refusal: the help happened. So ``exchanges`` does not pass
it on. Depending on the network's settings (``network.held_policy``) the help is

- **covered by the pool**: beyond the receiver's minimum, the community pool pays the giver
  by itself, up to ``pool_cover_minutes`` per receiver and calendar month of the town, and
  only while the pool has the hours (it never goes below zero for this);
- **booked to the pool**: beyond the giver's maximum with ``giver_full_action = "pool"``, the
  receiver pays as usual but the hours go to the community pool instead of the full account
  of the giver, who is thanked. The books stay honest: one transfer, receiver → pool, of the
  whole entry (an exchange is booked by at most one transfer), marked ``to_pool``; nobody
  goes beyond a limit and no hour is lost;
- otherwise **held**: the exchange's status becomes ``held``, nothing is booked, and the
  receiver's side, the giver and the managers are told. The office settles it from the queue
  (``/manage/held``): pay it from the pool (``exchanges.pay_from_pool``) or book it with an
  override reason (``exchanges.book_with_override``). Either books exactly once.

``Exchange.held_for`` keeps which limit held it, ``Exchange.settled_as`` how it was booked in
the end. This module holds the queue, the monthly allowance and the notices; the changes
of an exchange's status are in ``timebank.exchanges``. Functions only flush.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, ledger, network, notifications
from timebank.errors import NotFound
from timebank.i18n import N_, Minutes
from timebank.models import Account, Category, Exchange, Member, id_of, utcnow

# The site's paths the notices link to (a path, not a route name: see notifications.py).
QUEUE_PATH = "/manage/held"
HOME_PATH = "/home"

HELD_NOT_FOUND = N_("this help entry is not waiting for the network office")

# (subject, body) of each notice, by who reads it.
HELD = {
    "receiver": (
        N_("Help confirmed: the network office takes care of the balance"),
        N_(
            "Thank you for confirming the help of {giver} on {day} ({minutes}). The network "
            "office takes care of the balance of the time account. You need not do anything."
        ),
    ),
    "giver": (
        N_("Your help was confirmed and is being settled"),
        N_(
            "{receiver} confirmed your help on {day} ({minutes}). Thank you! The network "
            "office is settling the hours and will tell you when they are booked."
        ),
    ),
    "office": (
        N_("Help waits for the network office: {receiver}"),
        N_(
            "{receiver} confirmed the help of {giver} on {day} ({minutes}), but booking it "
            "would go beyond a limit of a time account. Please pay it from the community "
            "pool or book it with a reason."
        ),
    ),
}
# The pool paid: by itself (the monthly allowance) or by the office's decision.
PAID_FROM_POOL = (
    N_("The community pool paid for the help"),
    N_(
        "The help of {giver} for {receiver} on {day} ({minutes}) was paid from the "
        "community pool. The hours are on the time account of {giver}. Thank you!"
    ),
)
BOOKED_BY_OFFICE = (
    N_("The network office booked the help"),
    N_(
        "The network office booked the help of {giver} for {receiver} on {day} "
        "({minutes}). The hours are on the time accounts."
    ),
)
TO_POOL = (
    N_("Thank you: your hours went to the community pool"),
    N_(
        "{receiver} confirmed your help on {day} ({minutes}). Thank you! Your time account "
        "is full, so these hours went to the community pool, where they help others."
    ),
)


def _params(exchange: Exchange, giver: Member, receiver: Member) -> dict[str, object]:
    return {
        "giver": giver.name,
        "receiver": receiver.name,
        "minutes": Minutes(exchange.minutes),
        "day": exchange.performed_on,
    }


async def _both(session: AsyncSession, exchange: Exchange) -> tuple[Member, Member]:
    giver = await session.get(Member, exchange.giver_id)
    receiver = await session.get(Member, exchange.receiver_id)
    assert giver is not None and receiver is not None  # foreign keys
    return giver, receiver


async def _tell(
    session: AsyncSession,
    people: list[Member],
    event: str,
    exchange: Exchange,
    words: tuple[str, str],
    params: dict[str, object],
    link: str,
) -> int:
    """Each person once per event (the key), whoever else hears it too."""
    told = 0
    seen: set[int] = set()
    for person in people:
        if id_of(person) in seen:
            continue
        seen.add(id_of(person))
        done = await notifications.notify(
            session,
            person,
            kind=event,
            subject=words[0],
            body=words[1],
            params=params,
            key=f"{event}:{exchange.id}:{person.id}",
            link=link,
        )
        told += done is not None
    return told


async def _managers(session: AsyncSession) -> list[Member]:
    rows = await session.exec(
        select(Member).where(Member.role == "manager", Member.active).order_by(col(Member.id))
    )
    return list(rows.all())


async def tell_held(session: AsyncSession, exchange: Exchange) -> int:
    """Held: the receiver's side is thanked, the giver hears it is being settled, the
    managers find it in their queue."""
    giver, receiver = await _both(session, exchange)
    params = _params(exchange, giver, receiver)
    told = await _tell(
        session,
        await notifications.people_to_tell(session, receiver),
        "help_held",
        exchange,
        HELD["receiver"],
        params,
        HOME_PATH,
    )
    told += await _tell(
        session,
        await notifications.people_to_tell(session, giver),
        "help_held",
        exchange,
        HELD["giver"],
        params,
        HOME_PATH,
    )
    # A manager who is the receiver's staff heard it already (the key is per person).
    told += await _tell(
        session,
        await _managers(session),
        "help_held",
        exchange,
        HELD["office"],
        params,
        QUEUE_PATH,
    )
    return told


async def tell_settled(session: AsyncSession, exchange: Exchange) -> int:
    """Paid from the pool (by the allowance or the office) or booked by the office: both
    sides hear it."""
    giver, receiver = await _both(session, exchange)
    words = BOOKED_BY_OFFICE if exchange.settled_as == "override" else PAID_FROM_POOL
    event = "help_booked_by_office" if exchange.settled_as == "override" else "paid_from_pool"
    people = [
        *await notifications.people_to_tell(session, receiver),
        *await notifications.people_to_tell(session, giver),
    ]
    return await _tell(
        session, people, event, exchange, words, _params(exchange, giver, receiver), HOME_PATH
    )


async def tell_to_pool(session: AsyncSession, exchange: Exchange) -> int:
    """The giver's account was full: the giver is thanked and hears where the hours went."""
    giver, receiver = await _both(session, exchange)
    return await _tell(
        session,
        await notifications.people_to_tell(session, giver),
        "help_to_pool",
        exchange,
        TO_POOL,
        _params(exchange, giver, receiver),
        HOME_PATH,
    )


# --- The monthly allowance ----------------------------------------------------------------------


async def month_start(session: AsyncSession, moment: datetime | None = None) -> datetime:
    """The first moment of the town's calendar month of ``moment`` (default now)."""
    clock = await network.town_clock(session)
    day = clock.day_of(moment or utcnow()).replace(day=1)
    return datetime.combine(day, time(), tzinfo=clock.zone)


async def covered_this_month(
    session: AsyncSession, receiver_id: int, moment: datetime | None = None
) -> int:
    """Minutes the pool covered by itself for this receiver in the town's month of
    ``moment``. The caller holds the receiver's account locked (the refused booking locked
    it), so two confirmations at once cannot both take the last of the allowance."""
    since = await month_start(session, moment)
    total = await session.scalar(
        select(func.coalesce(func.sum(Exchange.minutes), 0)).where(
            Exchange.receiver_id == receiver_id,
            Exchange.settled_as == "pool_cover",
            col(Exchange.decided_at) >= since,
        )
    )
    return int(total or 0)


async def may_cover(session: AsyncSession, exchange: Exchange, at: datetime | None) -> bool:
    """Whether the pool covers this help by itself: the network's allowance has room for
    it this month and the pool holds the hours."""
    policy = network.held_policy(await network.network_settings(session))
    if policy.pool_cover_minutes <= 0:
        return False
    used = await covered_this_month(session, exchange.receiver_id, at)
    if used + exchange.minutes > policy.pool_cover_minutes:
        return False
    pool = await ledger.pool_account(session)
    return pool.balance_minutes >= exchange.minutes


# --- The office's queue ------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldEntry:
    """A held exchange as the queue shows it: who, what, how long, which limit, and the
    balances it concerns (all in minutes; pages show hours)."""

    exchange: Exchange
    giver: Member
    receiver: Member
    category: Category
    receiver_balance: int
    giver_balance: int


async def _entries(session: AsyncSession, *where: object) -> list[HeldEntry]:
    giver, receiver = aliased(Member), aliased(Member)
    giver_account, receiver_account = aliased(Account), aliased(Account)
    rows = await session.exec(
        select(  # type: ignore[call-overload]
            Exchange,
            giver,
            receiver,
            Category,
            receiver_account.balance_minutes,
            giver_account.balance_minutes,
        )
        .join(giver, giver.id == Exchange.giver_id)
        .join(receiver, receiver.id == Exchange.receiver_id)
        .join(Category, Category.id == Exchange.category_id)
        .join(receiver_account, receiver_account.member_id == Exchange.receiver_id)
        .join(giver_account, giver_account.member_id == Exchange.giver_id)
        .where(*where)
        .order_by(col(Exchange.decided_at), col(Exchange.id))
    )
    return [HeldEntry(*row) for row in rows.all()]


async def queue(session: AsyncSession, actor: Member) -> list[HeldEntry]:
    """Everything held for the office, the longest waiting first (a short list: each entry
    is settled by hand)."""
    access.require_manager(actor)
    return await _entries(session, Exchange.status == "held")


async def count(session: AsyncSession, actor: Member) -> int:
    access.require_manager(actor)
    total = await session.scalar(
        select(func.count()).select_from(Exchange).where(Exchange.status == "held")
    )
    return int(total or 0)


@dataclass(frozen=True)
class PoolPayment:
    """What paying an entry from the pool would do: shown before the office says yes."""

    entry: HeldEntry
    pool_balance: int

    @property
    def pool_after(self) -> int:
        return self.pool_balance - self.entry.exchange.minutes

    @property
    def affordable(self) -> bool:
        return self.pool_after >= 0


async def pool_payment(session: AsyncSession, actor: Member, exchange_id: int) -> PoolPayment:
    """The confirmation step of "pay from the pool", for held or pending help."""
    entry = await entry_to_settle(session, actor, exchange_id)
    return PoolPayment(entry, (await ledger.pool_account(session)).balance_minutes)


async def entry_to_settle(session: AsyncSession, actor: Member, exchange_id: int) -> HeldEntry:
    """A held (or still pending) entry, for the office's pages that settle it."""
    access.require_manager(actor)
    found = await _entries(
        session, Exchange.id == exchange_id, col(Exchange.status).in_(("held", "pending"))
    )
    if not found:
        raise NotFound(HELD_NOT_FOUND)
    return found[0]
