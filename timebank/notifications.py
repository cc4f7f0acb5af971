"""Notifications: a message to one member, in the app and (when possible) by email.

Every notification is a row first: the member sees it in the app whatever happens to the
email. Text is rendered in the member's language when the row is written (message ids are
English; ``timebank/locale/<lang>/LC_MESSAGES/messages.po`` translates them). A row marked
for email is sent later by ``timebank.jobs.delivery``, after the transaction that wrote it
committed: one message per notice ("pending"), or with the member's daily summary ("daily"),
or none — as the member chose (``Member.email_notices``) and only if they have an address.

**Links** are paths on the site (``/requests/5``), not route names: the domain and the jobs
wing cannot reverse routes, and a stored path works in an email as in the inbox. The paths
are built only here (``*_PATH``, ``request_path``, ``unsubscribe_path``);
``tests/web/test_inbox.py`` checks each against the route it names, so a renamed route
fails a test instead of leaving dead links.

**Events** (the one-line calls at the points where things happen): ``helper_offered``,
``helper_chosen`` (or assigned by the office), ``hours_logged``, ``help_confirmed``,
``help_reversed``, ``request_expiring``, ``welcome``. Each tells the people concerned
through ``tell``: the member, and for a member who cannot sign in also the staff who act
for them (``people_to_tell``); the member's own row is what the office's post prints.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import i18n, post
from timebank.errors import Invalid, NotFound
from timebank.i18n import N_, Minutes
from timebank.models import (
    EMAIL_NOTICES,
    Exchange,
    HelpRequest,
    Member,
    Notification,
    id_of,
    utcnow,
)

log = logging.getLogger("timebank.notifications")

# The site's paths a notice or an email links to (see the module's docstring).
INBOX_PATH = "/notifications"
PREFERENCES_PATH = "/notifications/email"
HOME_PATH = "/home"
STATEMENT_PATH = "/statement"
DISPUTES_PATH = "/manage/disputes"


def request_path(request_id: int | None) -> str:
    return f"/requests/{request_id}"


def unsubscribe_path(token: str) -> str:
    return f"/unsubscribe/{token}"


def email_status_for(member: Member, email: bool = True) -> str:
    """How a new notice for ``member`` goes out by email, by their choice."""
    if not email or not member.email or member.email_notices == "none":
        return "none"
    return "daily" if member.email_notices == "daily" else "pending"


async def notify(
    session: AsyncSession,
    member: Member,
    *,
    kind: str,
    subject: str,
    body: str,
    params: dict[str, object] | None = None,
    key: str | None = None,
    link: str | None = None,
    email: bool = True,
) -> Notification | None:
    """Write a notification for ``member``; with a ``key`` that was already used, nothing is
    written and None is returned (a re-run job tells no one twice). Flushes only."""
    if key is not None:
        exists = await session.scalar(select(Notification.id).where(Notification.key == key))
        if exists is not None:
            return None
    language = i18n.pick_language(member.language)
    values = params or {}
    notification = Notification(
        member_id=id_of(member),
        kind=kind,
        key=key,
        subject=i18n.render(language, subject, values)[:300],
        body=i18n.render(language, body, values)[:8000],
        language=language,
        link=link,
        email_status=email_status_for(member, email),
    )
    # Someone without email is told on paper or by phone (the office's post, timebank.post).
    notification.letter_status, notification.call_status = post.paper_for(member, kind)
    session.add(notification)
    await session.flush()
    return notification


async def people_to_tell(session: AsyncSession, member: Member) -> list[Member]:
    """Who hears about ``member``'s business: the member, if they can sign in; otherwise
    the staff who act for them (their organisation's professionals, else the managers) and
    the member too (last), whose own row the office's post prints or calls about
    (``timebank.post``)."""
    if member.can_log_in:
        return [member]
    themselves = [member] if member.active else []
    staff: list[Member] = []
    if member.organization_id is not None:
        staff = list(
            (
                await session.exec(
                    select(Member).where(
                        Member.role == "professional",
                        Member.organization_id == member.organization_id,
                        Member.active,
                    )
                )
            ).all()
        )
    if not staff:
        staff = list(
            (
                await session.exec(select(Member).where(Member.role == "manager", Member.active))
            ).all()
        )
    return [*staff, *themselves]


async def tell(
    session: AsyncSession,
    about: Member,
    *,
    kind: str,
    subject: str,
    body: str,
    params: dict[str, object] | None = None,
    key: str | None = None,
    link: str | None = None,
    email: bool = True,
    actor: Member | None = None,
) -> int:
    """Tell everyone who hears about ``about``'s business (``people_to_tell``); a member who
    cannot sign in gets the notice too, for the office's post. The ``actor`` who did the thing
    is not told about it. ``key`` (once per event) is made once per person. Returns how many
    were told."""
    people = await people_to_tell(session, about)
    if about.active and all(person.id != about.id for person in people):
        people.insert(0, about)
    told = 0
    for person in people:
        if actor is not None and person.id == actor.id:
            continue
        done = await notify(
            session,
            person,
            kind=kind,
            subject=subject,
            body=body,
            params=params,
            key=f"{key}:{person.id}" if key else None,
            link=link,
            email=email,
        )
        told += done is not None
    return told


# --- The events (one call where each thing happens) -------------------------------------------

HELPER_OFFERED = (
    N_("{helper} offers to help: {title}"),
    N_(
        "{helper} would like to help with the request “{title}” of {owner}. "
        "Please look at the request and choose who helps."
    ),
)
HELPER_CHOSEN = {
    "helper": (
        N_("You were chosen to help: {title}"),
        N_(
            "{owner} would like your help with “{title}”. The request shows how to reach "
            "{owner}. Thank you!"
        ),
    ),
    "owner": (
        N_("{helper} will help: {title}"),
        N_(
            "{helper} will help with the request “{title}” of {owner}. The request shows how "
            "to reach {helper}."
        ),
    ),
}
ASSIGNED = {
    "helper": (
        N_("The network office asks for your help: {title}"),
        N_(
            "The network office has chosen you to help {owner} with “{title}”. The request "
            "shows how to reach {owner}. Thank you!"
        ),
    ),
    "owner": (
        N_("The network office found a helper: {title}"),
        N_(
            "The network office has asked {helper} to help with the request “{title}” of "
            "{owner}. The request shows how to reach {helper}."
        ),
    ),
}
# The words of the unconfirmed-help reminder (timebank.jobs.reminders), said at once.
HOURS_LOGGED = (
    N_("Please confirm the help you received"),
    N_(
        "{giver} logged help for {receiver} on {day}: {minutes}. Please confirm "
        "it, or reject it if it is not right."
    ),
)
HELP_CONFIRMED = (
    N_("Your help was confirmed"),
    N_(
        "{receiver} confirmed the help of {giver} on {day}: {minutes}. The hours are on the "
        "time account. Thank you!"
    ),
)
HELP_REVERSED = (
    N_("Hours booked back: help on {day}"),
    N_(
        "The network office booked back the help {giver} gave {receiver} on {day} "
        "({minutes}). The reason: {reason}"
    ),
)
REQUEST_EXPIRING = (
    N_("Your request ends soon: {title}"),
    N_(
        "The request “{title}” of {owner} stays on the help board until {day}. If help is "
        "still needed after that, please ask again."
    ),
)
WELCOME = (
    N_("Welcome to the time bank, {name}"),
    N_(
        "Welcome! One hour of help given is one hour of help received. Here you will find "
        "news about your requests and your help. The network office is glad to answer "
        "your questions."
    ),
)


async def _member(session: AsyncSession, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    assert member is not None  # foreign keys
    return member


async def helper_offered(session: AsyncSession, request: HelpRequest, helper: Member) -> int:
    """Someone said "I can help": the requester (or the staff for them) hears it."""
    owner = await _member(session, request.member_id)
    return await tell(
        session,
        owner,
        kind="helper_offered",
        subject=HELPER_OFFERED[0],
        body=HELPER_OFFERED[1],
        params={"helper": helper.name, "title": request.title, "owner": owner.name},
        link=request_path(request.id),
        actor=helper,
    )


async def helper_chosen(session: AsyncSession, request: HelpRequest, actor: Member) -> int:
    """A helper was chosen: both sides hear it; chosen by the office (staff who are not the
    requester) it is told as the office's assignment."""
    owner = await _member(session, request.member_id)
    helper = await _member(session, request.helper_id or 0)
    words, kind = (
        (ASSIGNED, "assigned")
        if actor.is_staff and actor.id != owner.id
        else (HELPER_CHOSEN, "helper_chosen")
    )
    params: dict[str, object] = {"helper": helper.name, "owner": owner.name, "title": request.title}
    told = 0
    for side, person in (("helper", helper), ("owner", owner)):
        subject, body = words[side]
        told += await tell(
            session,
            person,
            kind=kind,
            subject=subject,
            body=body,
            params=params,
            link=request_path(request.id),
            actor=actor,
        )
    return told


def _exchange_params(exchange: Exchange, giver: Member, receiver: Member) -> dict[str, object]:
    return {
        "giver": giver.name,
        "receiver": receiver.name,
        "minutes": Minutes(exchange.minutes),
        "day": exchange.performed_on,
    }


async def hours_logged(session: AsyncSession, exchange: Exchange, actor: Member) -> int:
    """Help was logged and waits for the receiver: the receiver's side is asked to confirm."""
    if exchange.status != "pending":
        return 0
    giver = await _member(session, exchange.giver_id)
    receiver = await _member(session, exchange.receiver_id)
    return await tell(
        session,
        receiver,
        kind="hours_logged",
        subject=HOURS_LOGGED[0],
        body=HOURS_LOGGED[1],
        params=_exchange_params(exchange, giver, receiver),
        key=f"logged:{exchange.id}",
        link=HOME_PATH,
        actor=actor,
    )


async def help_confirmed(session: AsyncSession, exchange: Exchange, actor: Member | None) -> int:
    """The help was booked: the giver hears it (not when they booked it themselves)."""
    giver = await _member(session, exchange.giver_id)
    receiver = await _member(session, exchange.receiver_id)
    return await tell(
        session,
        giver,
        kind="help_confirmed",
        subject=HELP_CONFIRMED[0],
        body=HELP_CONFIRMED[1],
        params=_exchange_params(exchange, giver, receiver),
        key=f"confirmed:{exchange.id}",
        link=STATEMENT_PATH,
        actor=actor,
    )


async def help_reversed(
    session: AsyncSession, exchange_id: int | None, reason: str, actor: Member
) -> int:
    """The office booked back confirmed help: both sides hear it, with the reason."""
    exchange = await session.get(Exchange, exchange_id) if exchange_id is not None else None
    if exchange is None:
        return 0
    giver = await _member(session, exchange.giver_id)
    receiver = await _member(session, exchange.receiver_id)
    params = _exchange_params(exchange, giver, receiver) | {"reason": reason}
    told = 0
    for person in (giver, receiver):
        told += await tell(
            session,
            person,
            kind="help_reversed",
            subject=HELP_REVERSED[0],
            body=HELP_REVERSED[1],
            params=params,
            key=f"reversed:{exchange.id}",
            link=STATEMENT_PATH,
            actor=actor,
        )
    return told


async def request_expiring(session: AsyncSession, request: HelpRequest, *, email: bool) -> int:
    """A request leaves the board soon (a job; once per request and person)."""
    owner = await _member(session, request.member_id)
    return await tell(
        session,
        owner,
        kind="request_expiring",
        subject=REQUEST_EXPIRING[0],
        body=REQUEST_EXPIRING[1],
        params={"title": request.title, "owner": owner.name, "day": request.expires_on},
        key=f"expiring-request:{request.id}",
        link=request_path(request.id),
        email=email,
    )


async def welcome(session: AsyncSession, member: Member) -> int:
    """A new member is welcomed (in the app, by email, or by the office's post)."""
    done = await notify(
        session,
        member,
        kind="welcome",
        subject=WELCOME[0],
        body=WELCOME[1],
        params={"name": member.name},
        key=f"welcome:{member.id}",
        link=HOME_PATH,
    )
    return int(done is not None)


# --- Email preference and one-click unsubscribe ---------------------------------------------

# Unsent notices follow a changed choice: (new choice) -> (statuses changed, to what).
_FOLLOW_CHOICE = {
    "none": (("pending", "retry", "daily"), "none"),
    "daily": (("pending", "retry"), "daily"),
    "each": (("daily",), "pending"),
}


async def set_email_notices(session: AsyncSession, member: Member, choice: str) -> Member:
    """The member's choice of email: each notice, a daily summary or none. Notices not yet
    sent follow the new choice."""
    if choice not in EMAIL_NOTICES:
        raise Invalid("please choose one", field="email_notices")
    member.email_notices = choice
    session.add(member)
    statuses, becomes = _FOLLOW_CHOICE[choice]
    await session.exec(
        update(Notification)
        .where(
            col(Notification.member_id) == member.id,
            col(Notification.email_status).in_(statuses),
        )
        .values(email_status=becomes, next_attempt_at=None)
    )
    await session.flush()
    return member


def _signature(secret: str, member: Member) -> str:
    # Bound to the address: a link from mail to an old address stops working once it changes.
    basis = f"unsubscribe:{member.id}:{member.email or ''}".encode()
    digest = hmac.new(secret.encode(), basis, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def unsubscribe_token(secret: str, member: Member) -> str:
    """The token in a member's one-click unsubscribe link (no login needed: it is signed)."""
    return f"{member.id}.{_signature(secret, member)}"


async def member_for_unsubscribe(session: AsyncSession, secret: str, token: str) -> Member:
    """The member a signed unsubscribe token belongs to; a forged or outdated one is refused."""
    number, _, signature = token.partition(".")
    known = number.isdigit() and len(number) <= 9  # a database integer, never an overflow
    member = await session.get(Member, int(number)) if known else None
    if member is None or not hmac.compare_digest(
        signature.encode(), _signature(secret, member).encode()
    ):
        raise NotFound("this link is not valid (any more)")
    return member


async def unsubscribe(session: AsyncSession, secret: str, token: str) -> Member:
    """One click from an email: no more notices by email (in the app they stay)."""
    member = await member_for_unsubscribe(session, secret, token)
    return await set_email_notices(session, member, "none")


# --- In the app --------------------------------------------------------------------------------


async def for_member(
    session: AsyncSession, member: Member, *, limit: int = 50
) -> list[Notification]:
    rows = await session.exec(
        select(Notification)
        .where(Notification.member_id == member.id)
        .order_by(col(Notification.id).desc())
        .limit(max(1, min(limit, 200)))
    )
    return list(rows.all())


async def unread_count(session: AsyncSession, member: Member) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.member_id == member.id, col(Notification.read_at).is_(None))
    )
    return int(count or 0)


async def mark_read(session: AsyncSession, member: Member, notification_id: int) -> Notification:
    """Members read only their own notifications; someone else's is 'not found' to them."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.member_id != member.id:
        raise NotFound("this notice was not found")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, member: Member) -> int:
    done = await session.exec(
        update(Notification)
        .where(col(Notification.member_id) == member.id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    await session.flush()
    return int(done.rowcount or 0)
