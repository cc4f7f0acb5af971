"""Members, organisations, their accounts, passwords and API tokens."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, ledger, network, notifications
from timebank.errors import Conflict, Invalid, NotFound
from timebank.i18n import N_, Minutes
from timebank.models import (
    LANGUAGES,
    ORGANIZATION_KINDS,
    ROLES,
    Account,
    ApiToken,
    Category,
    District,
    Member,
    MemberCategory,
    Organization,
    WebSession,
    id_of,
    utcnow,
)

_hasher = PasswordHasher()
# Message ids more than one module raises (the manager's edit in directory.py too). A wrong
# role or language names no values in the sentence: forms offer a list, and the API answer
# carries the accepted codes in ``allowed``.
ROLE_NOT_LISTED = N_("choose a role from the list")
LANGUAGE_NOT_LISTED = N_("choose a language from the list")
EMAIL_TAKEN = N_("another member already has this email address")
ACCOUNT_NOT_FOUND = N_("this time account was not found")
MIN_PASSWORD = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_password(password: str) -> str:
    _require_length(password)
    return _hasher.hash(password)


def _require_length(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            "the password needs at least {count} characters",
            field="password",
            params={"count": MIN_PASSWORD},
        )


def password_matches(member: Member, password: str) -> bool:
    return _verify(member.password_hash, password) if member.password_hash else False


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when no member matches, so a wrong email costs as long as a
# wrong password and response times do not reveal who is a member.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def spend_password_time(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


# argon2 is deliberately slow (tens of milliseconds of CPU): on the event loop, a handful of
# sign-ins at once would stall every other request of the process. Async code hashes and
# verifies through these two, in a worker thread (argon2 releases the GIL while it works).


async def new_password_hash(password: str) -> str:
    """``hash_password`` off the event loop."""
    _require_length(password)
    return await asyncio.to_thread(_hasher.hash, password)


async def check_password(member: Member | None, password: str) -> bool:
    """``password_matches`` off the event loop. ``None`` (no such member, or one who may not
    sign in) costs the same time and is never right, so timing does not tell who is a
    member."""
    # Read here, not in the thread: the row belongs to the loop's session.
    stored = member.password_hash if member is not None else None
    if not stored:
        await asyncio.to_thread(spend_password_time, password)
        return False
    return await asyncio.to_thread(_verify, stored, password)


def normalize_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip().lower()
    if not email:
        return None
    if not _EMAIL.match(email) or len(email) > 254:
        raise Invalid("'{email}' is not an email address", field="email", params={"email": email})
    return email


_POSTCODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z \-]{1,9}")
ADDRESS_INCOMPLETE = N_("a letter needs the street and the town: please fill in both")
NOT_A_POSTCODE = N_("please enter a postcode like 34567")


def postal_address(
    street: str | None, postcode: str | None, town: str | None
) -> tuple[str | None, str | None, str | None]:
    """A member's postal address as typed, checked at its fields: all empty, or at least
    the street and the town (what a letter needs)."""
    street, postcode, town = ((value or "").strip() or None for value in (street, postcode, town))
    if street and len(street) > 200:
        raise Invalid("this text is too long", field="street")
    if town and len(town) > 100:
        raise Invalid("this text is too long", field="town")
    if postcode and not _POSTCODE.fullmatch(postcode):
        raise Invalid(NOT_A_POSTCODE, field="postcode")
    if (street or postcode or town) and not street:
        raise Invalid(ADDRESS_INCOMPLETE, field="street")
    if street and not town:
        raise Invalid(ADDRESS_INCOMPLETE, field="town")
    return street, postcode, town


@dataclass(frozen=True)
class NewMember:
    name: str
    role: str
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    organization_id: int | None = None
    district_id: int | None = None
    language: str = "de"
    availability: str | None = None
    best_time_to_call: str | None = None
    category_ids: tuple[int, ...] = ()
    joined_on: date | None = None
    # A postal address, for letters to members without email (timebank.post).
    street: str | None = None
    postcode: str | None = None
    town: str | None = None


async def _check_new_member(session: AsyncSession, new: NewMember) -> None:
    if not new.name.strip():
        raise Invalid("a name is required", field="name")
    if len(new.name) > 200:
        raise Invalid("the name is too long (at most 200 characters)", field="name")
    if new.role not in ROLES:
        raise Invalid(ROLE_NOT_LISTED, field="role", allowed=list(ROLES))
    if new.language not in LANGUAGES:
        raise Invalid(LANGUAGE_NOT_LISTED, field="language", allowed=list(LANGUAGES))
    if new.role == "professional" and new.organization_id is None:
        raise Invalid("a professional belongs to a member organisation", field="organization_id")
    if new.organization_id is not None:
        organization = await session.get(Organization, new.organization_id)
        # A deactivated organisation takes no new members (timebank.organizations).
        if organization is None or not organization.active:
            raise Invalid("choose an organisation from the list", field="organization_id")
    if new.district_id is not None and await session.get(District, new.district_id) is None:
        raise Invalid("choose a district from the list", field="district_id")
    if new.password and not new.email:
        raise Invalid("a member who logs in needs an email address", field="email")
    postal_address(new.street, new.postcode, new.town)


async def check_new_member(session: AsyncSession, new: NewMember) -> None:
    """The checks ``create_member`` makes, alone: for a form that checks more after them
    (``clients.add_client``: the consent box)."""
    await _check_new_member(session, new)


async def create_member(session: AsyncSession, new: NewMember, *, actor: Member | None) -> Member:
    """Add a member with their account. ``actor`` None means the CLI (an operator)."""
    if actor is not None:
        access.require_manager(actor)
    await _check_new_member(session, new)
    email = normalize_email(new.email)
    if email and await session.scalar(select(Member.id).where(Member.email == email)):
        raise Conflict(EMAIL_TAKEN, field="email")
    street, postcode, town = postal_address(new.street, new.postcode, new.town)
    member = Member(
        street=street,
        postcode=postcode,
        town=town,
        name=new.name.strip(),
        role=new.role,
        email=email,
        phone=(new.phone or "").strip() or None,
        organization_id=new.organization_id,
        district_id=new.district_id,
        language=new.language,
        availability=new.availability,
        best_time_to_call=(new.best_time_to_call or "").strip()[:200] or None,
        password_hash=await new_password_hash(new.password) if new.password else None,
        joined_on=new.joined_on or await network.today(session),
    )
    session.add(member)
    await session.flush()
    session.add(Account(kind="member", member_id=member.id))
    for category_id in new.category_ids:
        session.add(MemberCategory(member_id=id_of(member), category_id=category_id))
    await session.flush()
    await notifications.welcome(session, member)
    return member


async def create_organization(
    session: AsyncSession, name: str, kind: str = "welfare"
) -> Organization:
    name = name.strip()
    if not name:
        raise Invalid("an organisation needs a name", field="name")
    if kind not in ORGANIZATION_KINDS:
        # The database's CHECK would refuse it too, but as a 500, not at its field.
        raise Invalid("choose a kind of organisation from the list", field="kind")
    if await session.scalar(select(Organization.id).where(Organization.name == name)):
        raise Conflict(
            "an organisation named '{name}' exists already", field="name", params={"name": name}
        )
    organization = Organization(name=name, kind=kind)
    session.add(organization)
    await session.flush()
    session.add(Account(kind="organization", organization_id=organization.id))
    await session.flush()
    return organization


async def get_member(session: AsyncSession, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound("this member was not found")
    return member


async def member_for(session: AsyncSession, actor: Member, member_id: int) -> Member:
    """A member's details, for themselves and the staff who act for them."""
    member = await get_member(session, member_id)
    access.require_see_member(actor, member)
    return member


async def district_id_for(session: AsyncSession, name_or_id: str | None) -> int | None:
    """A district named in input (by name or id); unknown is a mistake in that field."""
    if name_or_id is None or not name_or_id.strip():
        return None
    try:
        district = await find_district(session, name_or_id.strip())
    except NotFound as exc:
        raise Invalid(exc.detail, field="district", params=exc.params) from None
    return district.id


async def member_by_email(session: AsyncSession, email: str) -> Member | None:
    try:
        normalized = normalize_email(email)
    except Invalid:
        return None
    if normalized is None:
        return None
    return await session.scalar(select(Member).where(Member.email == normalized))


async def find_organization(session: AsyncSession, name_or_id: str) -> Organization:
    org = None
    if name_or_id.isdigit():
        org = await session.get(Organization, int(name_or_id))
    if org is None:
        org = await session.scalar(select(Organization).where(Organization.name == name_or_id))
    if org is None:
        raise NotFound("there is no organisation '{name}'", params={"name": name_or_id})
    return org


async def find_district(session: AsyncSession, name_or_id: str) -> District:
    district = None
    if name_or_id.isdigit():
        district = await session.get(District, int(name_or_id))
    if district is None:
        district = await session.scalar(select(District).where(District.name == name_or_id))
    if district is None:
        raise NotFound("there is no district '{name}'", params={"name": name_or_id})
    return district


async def category_by_slug(session: AsyncSession, slug: str) -> Category:
    category = await session.scalar(select(Category).where(Category.slug == slug))
    if category is None or not category.active:
        raise Invalid("there is no kind of help '{slug}'", field="category", params={"slug": slug})
    return category


async def set_password(
    session: AsyncSession, member: Member, password: str, *, actor: Member | None
) -> None:
    """Members change their own password; managers set or reset anyone's.

    Every browser signed in with the old password is signed out: a reset is often made
    because the old password got out."""
    if actor is not None and actor.id != member.id:
        access.require_manager(actor)
    if not member.email:
        raise Invalid("this member has no email address to log in with", field="email")
    member.password_hash = await new_password_hash(password)
    session.add(member)
    await session.exec(delete(WebSession).where(col(WebSession.member_id) == member.id))
    await session.flush()


# --- Accounts ---------------------------------------------------------------------------

# An account's own limits must leave room for the zero balance every account starts at.
MAX_LIMIT = 10_000 * 60


def _limit_outside(lowest: int, highest: int, field: str) -> Invalid:
    # Said in hours, as the manager enters them, not in the API's minutes.
    return Invalid(
        "this limit must lie between {lowest} and {highest}",
        field=field,
        params={"lowest": Minutes(lowest), "highest": Minutes(highest)},
    )


@dataclass(frozen=True)
class AccountView:
    account: Account
    limits: ledger.Limits


async def get_account(session: AsyncSession, actor: Member, account_id: int) -> Account:
    """An account, for those who may see it (``access.can_see_account``)."""
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(ACCOUNT_NOT_FOUND)
    owner = await session.get(Member, account.member_id) if account.member_id else None
    access.require_see_account(actor, account, owner)
    return account


async def account_view(session: AsyncSession, actor: Member, account_id: int) -> AccountView:
    account = await get_account(session, actor, account_id)
    limits = await ledger.limits_for(session, [account])
    return AccountView(account, limits[account_id])


async def set_account_limits(
    session: AsyncSession, actor: Member, account_id: int, changes: dict[str, int | None]
) -> AccountView:
    """The manager sets an account's own limits: ``changes`` may hold ``min_minutes`` and
    ``max_minutes``; ``None`` returns that side to the network default. A limit the current
    balance already breaks is allowed: it only stops further transfers in that direction."""
    access.require_manager(actor)
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(ACCOUNT_NOT_FOUND)
    unknown = set(changes) - {"min_minutes", "max_minutes"}
    if unknown:
        raise Invalid(
            "there is no limit '{name}'",
            field=sorted(unknown)[0],
            params={"name": sorted(unknown)[0]},
        )
    if "min_minutes" in changes:
        low = changes["min_minutes"]
        if low is not None and not -MAX_LIMIT <= low <= 0:
            raise _limit_outside(-MAX_LIMIT, 0, "min_minutes")
        account.min_minutes = low
    if "max_minutes" in changes:
        high = changes["max_minutes"]
        if high is not None and not 0 <= high <= MAX_LIMIT:
            raise _limit_outside(0, MAX_LIMIT, "max_minutes")
        account.max_minutes = high
    session.add(account)
    await session.flush()
    limits = await ledger.limits_for(session, [account])
    return AccountView(account, limits[account_id])


# --- API tokens ---------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, member: Member, label: str | None = None) -> str:
    """A new bearer token for ``member``; the plain token is shown once and never stored."""
    if not member.active:
        raise Invalid("this member is no longer active")
    token = "tb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(member_id=id_of(member), token_hash=_token_hash(token), label=label))
    await session.flush()
    return token


async def member_for_token(session: AsyncSession, token: str) -> Member | None:
    row = await session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _token_hash(token),
            col(ApiToken.revoked_at).is_(None),
        )
    )
    if row is None:
        return None
    member = await session.get(Member, row.member_id)
    return member if member is not None and member.active else None


async def revoke_tokens(session: AsyncSession, member: Member) -> None:
    rows = await session.exec(
        select(ApiToken).where(ApiToken.member_id == member.id, col(ApiToken.revoked_at).is_(None))
    )
    for token in rows.all():
        token.revoked_at = utcnow()
        session.add(token)
    await session.flush()
