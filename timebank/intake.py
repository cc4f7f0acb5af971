"""The front door: what a visitor without an account sends, and what the office does with it.

A visitor of the public pages tells the network "I need help", "I want to help" or "our
organisation wants to take part" (``/join``). Nothing is created from that alone: the
message waits in the office's queue (``/manage/intake``); the network manager calls back,
then either accepts it — a member (a senior for "help", a volunteer for "give") or an
organisation is created from it, and who accepted and when is kept on the intake — or
declines it with a note.

Consent to the privacy text is required and kept with the text's version and the date.

Spam is kept out without a third party: a honeypot field people never see (a filled one is
thanked and dropped, so a robot learns nothing), and at most
``network.INTAKES_PER_SENDER_PER_DAY`` messages from one sender a day. The sender is known
only by a keyed hash of their address (``sender_hash``), never the address itself.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, members, network
from timebank.errors import Conflict, Invalid, NotFound
from timebank.i18n import N_
from timebank.models import (
    INTAKE_KINDS,
    LANGUAGES,
    District,
    Intake,
    Member,
    Organization,
    id_of,
    utcnow,
)

MAX_NAME = 200
MAX_PHONE = 50
MAX_BEST_TIME = 200
MAX_MESSAGE = 2000
MAX_NOTE = 1000

# The role a person is welcomed in, by what they asked for.
ROLE_FOR_KIND = {"help": "senior", "give": "volunteer"}

INTAKE_NOT_FOUND = N_("this message was not found")
ALREADY_DECIDED = N_("this message has already been dealt with")
TOO_MANY = N_(
    "you have already sent several messages today: the office will call you back. "
    "Please try again tomorrow, or call the office"
)
NAME_REQUIRED = N_("please give your name")
ORGANIZATION_REQUIRED = N_("please give the name of your organisation")
HOW_TO_REACH = N_("please give a phone number or an email address, so that we can reach you")
CONSENT_REQUIRED = N_("please agree to the privacy notice, so that we may keep your details")
NOTE_REQUIRED = N_("please write a short note why")
TOO_LONG = N_("this is too long (at most {count} characters)")


@dataclass(frozen=True)
class Visitor:
    """What the public form sent, as text (nothing is trusted yet)."""

    kind: str
    name: str = ""
    organization_name: str = ""
    phone: str = ""
    email: str = ""
    district_id: int | None = None
    language: str = "de"
    best_time_to_call: str = ""
    message: str = ""
    consent: bool = False
    honeypot: str = ""


def sender_hash(secret: str, address: str) -> str:
    """A keyed hash of the sender's address: enough to count their messages, useless for
    finding out who they are."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def _text(value: str, field: str, limit: int) -> str | None:
    value = value.strip()
    if len(value) > limit:
        raise Invalid(TOO_LONG, field=field, params={"count": limit})
    return value or None


async def send(
    session: AsyncSession, visitor: Visitor, *, sender: str, now: datetime | None = None
) -> Intake | None:
    """Put a visitor's message in the office's queue. Returns None for a robot (the
    honeypot was filled): it is thanked like anyone and nothing is kept. Flushes only."""
    if visitor.kind not in INTAKE_KINDS:
        raise NotFound(INTAKE_NOT_FOUND)
    if visitor.honeypot.strip():
        return None
    now = now or utcnow()
    sent_today = await session.scalar(
        select(func.count())
        .select_from(Intake)
        .where(Intake.sender_hash == sender, col(Intake.created_at) > now - timedelta(days=1))
    )
    if int(sent_today or 0) >= network.INTAKES_PER_SENDER_PER_DAY:
        raise Conflict(TOO_MANY)
    name = _text(visitor.name, "name", MAX_NAME)
    if name is None:
        raise Invalid(NAME_REQUIRED, field="name")
    organization_name = _text(visitor.organization_name, "organization_name", MAX_NAME)
    if visitor.kind == "organization" and organization_name is None:
        raise Invalid(ORGANIZATION_REQUIRED, field="organization_name")
    phone = _text(visitor.phone, "phone", MAX_PHONE)
    email = members.normalize_email(visitor.email)
    if phone is None and email is None:
        raise Invalid(HOW_TO_REACH, field="phone")
    if visitor.district_id is not None and await session.get(District, visitor.district_id) is None:
        raise Invalid("choose a district from the list", field="district_id")
    if not visitor.consent:
        raise Invalid(CONSENT_REQUIRED, field="consent")
    settings = await network.network_settings(session)
    intake = Intake(
        kind=visitor.kind,
        name=name,
        organization_name=organization_name if visitor.kind == "organization" else None,
        phone=phone,
        email=email,
        district_id=visitor.district_id,
        language=visitor.language if visitor.language in LANGUAGES else "de",
        best_time_to_call=_text(visitor.best_time_to_call, "best_time_to_call", MAX_BEST_TIME),
        message=_text(visitor.message, "message", MAX_MESSAGE),
        consent_version=settings.privacy_version,
        sender_hash=sender,
        created_at=now,
    )
    session.add(intake)
    await session.flush()
    return intake


# --- The office's queue --------------------------------------------------------------------------


async def queue(session: AsyncSession, actor: Member, *, decided: bool = False) -> list[Intake]:
    """Open messages oldest first (the longest waiting are called first); with ``decided``,
    the last 100 dealt with, newest first."""
    access.require_manager(actor)
    query = select(Intake)
    if decided:
        query = query.where(col(Intake.status).in_(("accepted", "declined")))
        query = query.order_by(col(Intake.decided_at).desc()).limit(100)
    else:
        query = query.where(col(Intake.status).in_(("new", "called")))
        query = query.order_by(col(Intake.created_at), col(Intake.id))
    return list((await session.exec(query)).all())


async def waiting_count(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Intake).where(col(Intake.status).in_(("new", "called")))
    )
    return int(count or 0)


async def get_intake(session: AsyncSession, actor: Member, intake_id: int) -> Intake:
    access.require_manager(actor)
    intake = await session.get(Intake, intake_id)
    if intake is None:
        raise NotFound(INTAKE_NOT_FOUND)
    return intake


async def _open_for_update(session: AsyncSession, actor: Member, intake_id: int) -> Intake:
    access.require_manager(actor)
    intake = await session.scalar(
        select(Intake)
        .where(Intake.id == intake_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if intake is None:
        raise NotFound(INTAKE_NOT_FOUND)
    if intake.status not in ("new", "called"):
        raise Conflict(ALREADY_DECIDED)
    return intake


async def mark_called(session: AsyncSession, actor: Member, intake_id: int) -> Intake:
    """The office has called the person back (kept with who and when)."""
    intake = await _open_for_update(session, actor, intake_id)
    intake.status = "called"
    intake.called_at = utcnow()
    intake.called_by_id = id_of(actor)
    session.add(intake)
    await session.flush()
    return intake


async def accept(
    session: AsyncSession, actor: Member, intake_id: int
) -> tuple[Intake, Member | Organization]:
    """Welcome the person (or organisation): create them from the message, once. A second
    accept of the same message is refused, so a double click creates nobody twice."""
    intake = await _open_for_update(session, actor, intake_id)
    created: Member | Organization
    if intake.kind == "organization":
        created = await members.create_organization(session, intake.organization_name or "")
        intake.organization_id = id_of(created)
    else:
        created = await members.create_member(
            session,
            members.NewMember(
                name=intake.name,
                role=ROLE_FOR_KIND[intake.kind],
                email=intake.email,
                phone=intake.phone,
                district_id=intake.district_id,
                language=intake.language,
                best_time_to_call=intake.best_time_to_call,
            ),
            actor=actor,
        )
        # Their consent was given on the form, with this version of the privacy text.
        created.consent_at = intake.created_at
        created.consent_how = "online"
        session.add(created)
        intake.member_id = id_of(created)
    intake.status = "accepted"
    intake.decided_at = utcnow()
    intake.decided_by_id = id_of(actor)
    session.add(intake)
    await session.flush()
    return intake, created


async def decline(session: AsyncSession, actor: Member, intake_id: int, note: str) -> Intake:
    """Decline with a note (kept for the office: why, for whoever asks later)."""
    intake = await _open_for_update(session, actor, intake_id)
    text = _text(note, "note", MAX_NOTE)
    if text is None:
        raise Invalid(NOTE_REQUIRED, field="note")
    intake.status = "declined"
    intake.decision_note = text
    intake.decided_at = utcnow()
    intake.decided_by_id = id_of(actor)
    session.add(intake)
    await session.flush()
    return intake
