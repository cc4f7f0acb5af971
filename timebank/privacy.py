"""Data protection (DSGVO): a member's data handed out, erased without breaking the books,
and long-inactive members listed for the office to decide about.

- **Access and portability** (Art. 15, 20): ``member_data`` gathers everything kept about a
  member — profile, time account, help given and received, bookings, requests, offers,
  offers of help, notices, flags about them — as plain JSON-ready data, for the member
  themselves and for the network manager. Every hand-out is written to the audit log.
- **Erasure that keeps the books** (Art. 17): ``erase`` replaces the name with a pseudonym
  ("ehemaliges Mitglied 1234"), removes every other personal field of the member row (the
  rules are ``MEMBER_ERASURE``: a new column without a rule fails a test), ends their
  sessions and tokens, and clears the free texts they wrote (notes, request and offer texts,
  messages, dispute notes) and their notices. Transfers, balances and the other side's
  statements stay whole: the ledger is append-only and ``ledger verify`` still passes.
- **Retention**: ``inactive_members`` lists members with no help given or received, no
  sign-in and no change for ``NetworkSettings.retention_days``; a weekly job tells the
  managers how many there are. Nothing is erased without a person deciding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, audit, ledger, members, network
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.i18n import N_
from timebank.models import (
    Account,
    Dispute,
    Exchange,
    Flag,
    HelpRequest,
    Member,
    Notification,
    Offer,
    RequestResponse,
    Transfer,
    WebSession,
    utcnow,
)

MAX_REASON = 500

# What erasure does with each column of ``members``: "keep" (needed for the books, the
# statistics or the law: role, organisation, district, dates), "pseudonym" (the name),
# "clear" (set to NULL / its default). tests/test_privacy.py fails when a column has no rule.
MEMBER_ERASURE: dict[str, str] = {
    "id": "keep",
    "name": "pseudonym",
    "email": "clear",
    "phone": "clear",
    "role": "keep",
    "organization_id": "keep",
    "district_id": "keep",
    "language": "keep",
    "email_notices": "clear",
    "active": "clear",
    "joined_on": "keep",
    "password_hash": "clear",
    "availability": "clear",
    "street": "clear",
    "postcode": "clear",
    "town": "clear",
    "best_time_to_call": "clear",
    "consent_at": "keep",
    "consent_by_id": "keep",
    "consent_how": "keep",
    "erased_at": "keep",
    "created_at": "keep",
}
# The value a cleared column gets (NULL unless the column may not be empty).
CLEARED: dict[str, object] = {"active": False, "email_notices": "none"}

PSEUDONYM = "ehemaliges Mitglied {id}"
ALREADY_ERASED = N_("this member's data has already been erased")
REASON_REQUIRED = N_("please give the reason for the erasure")
REASON_TOO_LONG = N_("the reason is too long (at most {count} characters)")
NOT_YOURSELF = N_("you cannot erase your own data: another manager must do it")


async def _all(session: AsyncSession, model: type[SQLModel], *where: Any) -> list[Any]:
    return list((await session.exec(select(model).where(*where))).all())


@dataclass(frozen=True)
class MemberData:
    """Everything kept about one member (rows as stored; ``as_json`` for the file)."""

    member: Member
    account: Account
    help: list[Exchange]
    bookings: list[Transfer]
    requests: list[HelpRequest]
    offers: list[Offer]
    offers_of_help: list[RequestResponse]
    notices: list[Notification]
    flags: list[Flag]

    def as_json(self) -> dict[str, Any]:
        profile = self.member.model_dump(mode="json", exclude={"password_hash"})
        profile["can_sign_in"] = self.member.password_hash is not None

        def rows(found: list[Any]) -> list[dict[str, Any]]:
            return [row.model_dump(mode="json") for row in found]

        return {
            "profile": profile,
            "time_account": self.account.model_dump(mode="json"),
            "help": rows(self.help),
            "bookings": rows(self.bookings),
            "requests": rows(self.requests),
            "offers": rows(self.offers),
            "offers_of_help": rows(self.offers_of_help),
            "notices": rows(self.notices),
            "flags": rows(self.flags),
        }


async def member_data(session: AsyncSession, actor: Member, member_id: int) -> MemberData:
    """Everything kept about a member, for themselves or the manager. Written to the audit
    log (``personal_export``). Flushes only."""
    if actor.id != member_id:
        access.require_manager(actor)
    member = await members.get_member(session, member_id)
    account = await ledger.account_of_member(session, member_id)
    took_part = or_(col(Exchange.giver_id) == member_id, col(Exchange.receiver_id) == member_id)
    on_account = or_(
        col(Transfer.from_account_id) == account.id, col(Transfer.to_account_id) == account.id
    )
    data = MemberData(
        member=member,
        account=account,
        help=await _all(session, Exchange, took_part),
        bookings=await _all(session, Transfer, on_account),
        requests=await _all(session, HelpRequest, HelpRequest.member_id == member_id),
        offers=await _all(session, Offer, Offer.member_id == member_id),
        offers_of_help=await _all(session, RequestResponse, RequestResponse.helper_id == member_id),
        notices=await _all(session, Notification, Notification.member_id == member_id),
        flags=await _all(session, Flag, Flag.member_id == member_id),
    )
    await audit.record(session, actor, "personal_export", member_id=member_id)
    return data


async def erase(session: AsyncSession, actor: Member, member_id: int, reason: str) -> Member:
    """Erase a member's personal data and keep the books (see the module's docstring).
    Managers only, with a reason; never one's own. Flushes only."""
    access.require_manager(actor)
    if actor.id == member_id:
        raise Forbidden(NOT_YOURSELF)
    reason = reason.strip()
    if not reason:
        raise Invalid(REASON_REQUIRED, field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid(REASON_TOO_LONG, field="reason", params={"count": MAX_REASON})
    member = await session.scalar(
        select(Member)
        .where(Member.id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if member is None:
        member = await members.get_member(session, member_id)  # the usual "not found"
    if member.erased_at is not None:
        raise Conflict(ALREADY_ERASED)

    for column, rule in MEMBER_ERASURE.items():
        if rule == "clear":
            setattr(member, column, CLEARED.get(column))
    member.name = PSEUDONYM.format(id=member_id)
    member.erased_at = utcnow()
    session.add(member)
    # Their sign-ins end, their tokens stop working.
    await session.exec(delete(WebSession).where(col(WebSession.member_id) == member_id))
    await members.revoke_tokens(session, member)
    # Free texts they wrote or that are about them (the hours stay; the words go).
    for statement in (
        update(Exchange)
        .where(
            or_(
                col(Exchange.giver_id) == member_id,
                col(Exchange.receiver_id) == member_id,
                col(Exchange.entered_by_id) == member_id,
            )
        )
        .values(note=None),
        update(HelpRequest)
        .where(col(HelpRequest.member_id) == member_id)
        .values(title="–", description=None),
        update(Offer).where(col(Offer.member_id) == member_id).values(title="–", description=None),
        update(RequestResponse)
        .where(col(RequestResponse.helper_id) == member_id)
        .values(message=None),
        update(Dispute).where(col(Dispute.opened_by_id) == member_id).values(note=None),
        delete(Notification).where(col(Notification.member_id) == member_id),
    ):
        await session.exec(statement)
    await audit.record(session, actor, "erasure", member_id=member_id, details={"reason": reason})
    await session.flush()
    return member


@dataclass(frozen=True)
class Inactive:
    member: Member
    last_seen: date


async def inactive_members(
    session: AsyncSession, actor: Member | None, *, today: date | None = None
) -> list[Inactive]:
    """Members not yet erased with nothing on their account and no sign-in for the
    network's retention period, longest silent first. ``actor`` None is the job."""
    if actor is not None:
        access.require_manager(actor)
    settings = await network.network_settings(session)
    today = today or await network.today(session)
    oldest = today - timedelta(days=settings.retention_days)
    cutoff = datetime.combine(oldest, time.min, tzinfo=UTC)
    last_booking = (
        select(Account.member_id, func.max(Transfer.created_at).label("at"))
        .join(
            Transfer,
            or_(
                col(Transfer.from_account_id) == Account.id,
                col(Transfer.to_account_id) == Account.id,
            ),
        )
        .where(col(Account.member_id).is_not(None))
        .group_by(col(Account.member_id))
        .subquery()
    )
    last_session = (
        select(WebSession.member_id, func.max(WebSession.created_at).label("at"))
        .group_by(col(WebSession.member_id))
        .subquery()
    )
    rows = await session.exec(
        select(Member, last_booking.c.at, last_session.c.at)
        .outerjoin(last_booking, last_booking.c.member_id == Member.id)
        .outerjoin(last_session, last_session.c.member_id == Member.id)
        .where(
            col(Member.erased_at).is_(None),
            Member.role != "manager",
            col(Member.joined_on) < oldest,
            or_(last_booking.c.at.is_(None), last_booking.c.at < cutoff),
            or_(last_session.c.at.is_(None), last_session.c.at < cutoff),
        )
    )
    found: list[Inactive] = []
    for member, booked_at, signed_in_at in rows.all():
        days = [member.joined_on] + [m.date() for m in (booked_at, signed_in_at) if m is not None]
        found.append(Inactive(member, max(days)))
    found.sort(key=lambda i: i.last_seen)
    return found
