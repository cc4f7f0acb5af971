"""Member organisations (issue 11, point 4): welfare associations, care providers, the
city's senior office. The office adds them, edits their contact details and deactivates
them; each has an account of its own, its staff (professionals) and its clients (the other
members who belong to it).

**Deactivating.** An organisation whose staff are still active is not deactivated: its
professionals act for its clients (``access.acts_for``), and a deactivated organisation
whose staff could still book for its clients would be a door left open. The office first
moves or deactivates the staff (their clients stay members of the network, served by the
office), then deactivates the organisation. A deactivated organisation keeps its account
and its books; it is offered for no new member and can be made active again.

Names in code say "organization" (as the tables do); the English texts say "organisation".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, members
from timebank.errors import Conflict, Invalid, NotFound
from timebank.i18n import N_
from timebank.models import (
    ORGANIZATION_KINDS,
    STAFF_ROLES,
    Account,
    Exchange,
    Member,
    Organization,
    Transfer,
    id_of,
)

# The kinds by their names (message ids; pages and exports translate them).
KIND_NAMES = {
    "welfare": N_("Welfare association"),
    "care": N_("Care provider"),
    "city": N_("City office"),
    "other": N_("Other organisation"),
}
KIND_NOT_LISTED = N_("choose a kind of organisation from the list")
STAFF_STILL_ACTIVE = N_(
    "This organisation still has {count} active staff. Move them to another organisation "
    "or deactivate them first."
)
NOT_FOUND = N_("this organisation was not found")
# How many clients the organisation's page lists; the member list shows them all.
CLIENTS_SHOWN = 50


@dataclass(frozen=True)
class OrganizationFields:
    """What the office enters about an organisation; in a change, None leaves a field as it
    is (``changes`` names the fields given)."""

    name: str | None = None
    kind: str | None = None
    contact_person: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None


_LENGTHS = {"name": 200, "contact_person": 200, "address": 500, "phone": 60, "email": 254}


def _clean(given: dict[str, Any]) -> dict[str, Any]:
    """The given fields checked and trimmed; empty optional text becomes None."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        text = (value or "").strip() if isinstance(value, str) or value is None else value
        if name == "name":
            if not text:
                raise Invalid("an organisation needs a name", field="name")
        elif name == "kind":
            if text not in ORGANIZATION_KINDS:
                raise Invalid(KIND_NOT_LISTED, field="kind", allowed=list(ORGANIZATION_KINDS))
        elif name == "email":
            text = members.normalize_email(text)
        limit = _LENGTHS.get(name)
        if limit and isinstance(text, str) and len(text) > limit:
            raise Invalid(
                "this text is too long (at most {limit} characters)",
                field=name,
                params={"limit": limit},
            )
        out[name] = text or None if name != "kind" else text
    return out


async def _name_free(session: AsyncSession, name: str, but: int | None = None) -> None:
    query = select(Organization.id).where(Organization.name == name)
    if but is not None:
        query = query.where(Organization.id != but)
    if await session.scalar(query):
        raise Conflict(
            "an organisation named '{name}' exists already", field="name", params={"name": name}
        )


async def create(
    session: AsyncSession, actor: Member | None, new: OrganizationFields
) -> Organization:
    """Add an organisation with its account. ``actor`` None is the operator (the CLI)."""
    if actor is not None:
        access.require_manager(actor)
    given = {f.name: getattr(new, f.name) for f in fields(new)}
    given["kind"] = given["kind"] or "welfare"
    values = _clean(given)
    await _name_free(session, values["name"])
    organization = await members.create_organization(session, values["name"], values["kind"])
    for name, value in values.items():
        setattr(organization, name, value)
    session.add(organization)
    await session.flush()
    return organization


async def get(session: AsyncSession, organization_id: int) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(NOT_FOUND)
    return organization


async def update(
    session: AsyncSession,
    actor: Member,
    organization_id: int,
    changes: dict[str, Any],
) -> Organization:
    """Change the fields named in ``changes`` (``OrganizationFields``' names and
    ``active``); deactivating is refused while the organisation has active staff."""
    access.require_manager(actor)
    organization = await get(session, organization_id)
    active = changes.pop("active", None)
    unknown = set(changes) - {f.name for f in fields(OrganizationFields)}
    if unknown:
        first = sorted(unknown)[0]
        raise Invalid("there is no field '{field}'", field=first, params={"field": first})
    values = _clean(changes)
    if "name" in values:
        await _name_free(session, values["name"], but=organization_id)
    for name, value in values.items():
        setattr(organization, name, value)
    if active is not None:
        await _set_active(session, organization, bool(active))
    session.add(organization)
    await session.flush()
    return organization


async def active_staff(session: AsyncSession, organization_id: int) -> int:
    query = select(func.count()).where(
        col(Member.organization_id) == organization_id,
        col(Member.role).in_(STAFF_ROLES),
        col(Member.active).is_(True),
    )
    return int(await session.scalar(query) or 0)


async def _set_active(session: AsyncSession, organization: Organization, active: bool) -> None:
    if not active and organization.active:
        staff = await active_staff(session, id_of(organization))
        if staff:
            raise Conflict(STAFF_STILL_ACTIVE, field="active", params={"count": staff})
    organization.active = active


async def set_active(
    session: AsyncSession, actor: Member, organization_id: int, active: bool
) -> Organization:
    return await update(session, actor, organization_id, {"active": active})


# --- Reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationRow:
    organization: Organization
    staff: int
    clients: int
    balance_minutes: int


async def listing(session: AsyncSession, actor: Member) -> list[OrganizationRow]:
    """Every organisation, active ones first, by name, with its numbers (for the manager)."""
    access.require_manager(actor)
    staff = col(Member.role).in_(STAFF_ROLES)
    counts = (
        select(
            col(Member.organization_id).label("organization_id"),
            func.sum(case((staff, 1), else_=0)).label("staff"),
            func.sum(case((staff, 0), else_=1)).label("clients"),
        )
        .where(col(Member.organization_id).is_not(None), col(Member.active).is_(True))
        .group_by(col(Member.organization_id))
        .subquery()
    )
    rows = await session.exec(
        select(Organization, counts.c.staff, counts.c.clients, Account.balance_minutes)
        .join(counts, counts.c.organization_id == Organization.id, isouter=True)
        .join(Account, col(Account.organization_id) == Organization.id, isouter=True)
        .order_by(col(Organization.active).desc(), col(Organization.name))
    )
    return [
        OrganizationRow(org, int(s or 0), int(c or 0), int(b or 0)) for org, s, c, b in rows.all()
    ]


async def all_organizations(session: AsyncSession) -> list[Organization]:
    """Every organisation by name (the API's list: names and contacts, no figures)."""
    return list((await session.exec(select(Organization).order_by(col(Organization.name)))).all())


@dataclass(frozen=True)
class OrganizationView:
    organization: Organization
    account: Account
    staff: list[Member]
    clients: list[Member]
    client_count: int
    # The organisation's own account: hours booked to it and from it.
    account_in_minutes: int
    account_out_minutes: int
    # Help its people gave and received (confirmed exchanges, staff and clients alike).
    given_minutes: int
    received_minutes: int


async def account_of(session: AsyncSession, organization_id: int) -> Account:
    account = await session.scalar(
        select(Account).where(Account.organization_id == organization_id)
    )
    if account is None:  # every organisation gets one with it (members.create_organization)
        raise NotFound(NOT_FOUND)
    return account


async def view(session: AsyncSession, actor: Member, organization_id: int) -> OrganizationView:
    """An organisation's page: staff, clients, account, hours."""
    access.require_manager(actor)
    organization = await get(session, organization_id)
    account = await account_of(session, organization_id)
    ours = col(Member.organization_id) == organization_id
    staff = (
        await session.exec(
            select(Member).where(ours, col(Member.role).in_(STAFF_ROLES)).order_by(Member.name)
        )
    ).all()
    clients_query = select(Member).where(ours, col(Member.role).not_in(STAFF_ROLES))
    clients = (await session.exec(clients_query.order_by(Member.name).limit(CLIENTS_SHOWN))).all()
    client_count = await session.scalar(select(func.count()).select_from(clients_query.subquery()))
    booked_in = await session.scalar(
        select(func.coalesce(func.sum(Transfer.minutes), 0)).where(
            Transfer.to_account_id == account.id
        )
    )
    booked_out = await session.scalar(
        select(func.coalesce(func.sum(Transfer.minutes), 0)).where(
            Transfer.from_account_id == account.id
        )
    )
    people = select(Member.id).where(ours)
    confirmed = col(Exchange.status) == "confirmed"
    given = await session.scalar(
        select(func.coalesce(func.sum(Exchange.minutes), 0)).where(
            confirmed, col(Exchange.giver_id).in_(people)
        )
    )
    received = await session.scalar(
        select(func.coalesce(func.sum(Exchange.minutes), 0)).where(
            confirmed, col(Exchange.receiver_id).in_(people)
        )
    )
    return OrganizationView(
        organization=organization,
        account=account,
        staff=list(staff),
        clients=list(clients),
        client_count=int(client_count or 0),
        account_in_minutes=int(booked_in or 0),
        account_out_minutes=int(booked_out or 0),
        given_minutes=int(given or 0),
        received_minutes=int(received or 0),
    )
