"""A professional's clients: the members of their organisation they look after, with what
needs doing for each, and adding a client who has no email — with their consent, given on
paper, recorded (issue 9, point 6).

Who counts as a client is ``overview.clients_of`` (the organisation's active seniors and
volunteers); who may look is ``access.require_has_clients``. Functions only flush.

Signatures::

    my_clients(session, actor, *, today=None) -> list[ClientRow]
    add_client(session, actor, client: NewClient) -> Member
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, members, network, overview
from timebank.errors import Invalid
from timebank.i18n import N_
from timebank.models import Account, District, Exchange, HelpRequest, Member, id_of, utcnow

CONSENT_MISSING = N_("please confirm that the client gave their consent on paper")
DISTRICT_MISSING = N_("choose the district the client lives in")
TOO_LONG = N_("this is too long (at most {limit} characters)")
# The role a client added by staff gets: someone who receives help.
CLIENT_ROLE = "senior"


@dataclass(frozen=True)
class ClientRow:
    member: Member
    district_name: str | None
    balance_minutes: int
    # Help logged for them that waits for a confirmation.
    pending: int
    # Their requests on the board, or with a helper coming.
    open_requests: int


async def my_clients(
    session: AsyncSession, actor: Member, *, today: date | None = None
) -> list[ClientRow]:
    """The actor's clients by name, each with balance, pending help and open requests: one
    grouped query per figure, never one per client."""
    access.require_has_clients(actor)
    today = today or await network.today(session)
    clients = await overview.clients_of(session, actor)
    ids = [id_of(c) for c in clients]
    if not ids:
        return []
    balances = dict(
        (
            await session.exec(
                select(Account.member_id, Account.balance_minutes).where(
                    col(Account.member_id).in_(ids)
                )
            )
        ).all()
    )
    pending = dict(
        (
            await session.exec(
                select(Exchange.receiver_id, func.count())
                .where(col(Exchange.receiver_id).in_(ids), Exchange.status == "pending")
                .group_by(col(Exchange.receiver_id))
            )
        ).all()
    )
    running = or_(
        col(HelpRequest.status) == "matched",
        (col(HelpRequest.status) == "open")
        & or_(col(HelpRequest.expires_on).is_(None), col(HelpRequest.expires_on) >= today),
    )
    requests = dict(
        (
            await session.exec(
                select(HelpRequest.member_id, func.count())
                .where(col(HelpRequest.member_id).in_(ids), running)
                .group_by(col(HelpRequest.member_id))
            )
        ).all()
    )
    districts = dict((await session.exec(select(District.id, District.name))).all())
    return [
        ClientRow(
            member=c,
            district_name=districts.get(c.district_id) if c.district_id else None,
            balance_minutes=balances.get(id_of(c), 0),
            pending=pending.get(id_of(c), 0),
            open_requests=requests.get(id_of(c), 0),
        )
        for c in clients
    ]


@dataclass(frozen=True)
class NewClient:
    name: str
    district_id: int | None
    language: str = "de"
    phone: str | None = None
    street: str | None = None
    postcode: str | None = None
    town: str | None = None
    # The box "they gave their consent on paper" was ticked.
    consent_on_paper: bool = False


def _optional(value: str | None, field: str, limit: int) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > limit:
        raise Invalid(TOO_LONG, field=field, params={"limit": limit})
    return value


async def add_client(session: AsyncSession, actor: Member, client: NewClient) -> Member:
    """A professional adds a client without email (no login: staff act for them) to their
    organisation. The client's consent to keeping their details was given on paper: the box
    must be ticked, and when, by whom and how is recorded on the member."""
    access.require_has_clients(actor)
    if client.district_id is None:
        raise Invalid(DISTRICT_MISSING, field="district_id")
    phone = _optional(client.phone, "phone", 60)
    street = _optional(client.street, "street", 200)
    postcode = _optional(client.postcode, "postcode", 10)
    town = _optional(client.town, "town", 100)
    new = members.NewMember(
        name=client.name,
        role=CLIENT_ROLE,
        phone=phone,
        organization_id=actor.organization_id,
        district_id=client.district_id,
        language=client.language,
    )
    # The fields are checked before the consent, so the form marks them all in one go;
    # nothing is kept when the consent is missing (the caller's savepoint or transaction).
    await members.check_new_member(session, new)
    if not client.consent_on_paper:
        raise Invalid(CONSENT_MISSING, field="consent")
    # The manager's door into create_member (actor=None: the rule was checked above, as
    # require_has_clients, and the client gets no email and no password).
    member = await members.create_member(session, new, actor=None)
    member.street, member.postcode, member.town = street, postcode, town
    member.consent_at = utcnow()
    member.consent_by_id = id_of(actor)
    member.consent_how = "paper"
    session.add(member)
    await session.flush()
    return member
