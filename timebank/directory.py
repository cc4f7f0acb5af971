"""The network manager's view of the network: the member directory with balances, the
exchanges that wait or were disputed, the transfers to correct, and the lists the manager
keeps (categories, districts) and member details.

Every function here is for the manager (``access.require_manager``) and only flushes.

Signatures (``session`` an ``AsyncSession``, ``actor`` the signed-in manager)::

    list_members(session, actor, *, role=None, organization_id=None, district_id=None,
                 flagged=False, search=None, sort="name", after=None, before=None,
                 per_page=50) -> MemberPage
    pending_exchanges(session, actor, *, page=1, per_page=50) -> Page[ExchangeLine]
    disputed_exchanges(session, actor, *, page=1, per_page=50) -> Page[ExchangeLine]
    transfers(session, actor, *, account_id=None, before_id=None, limit=50)
        -> list[TransferLine]                                   # newest first, keyset
    transfer_line(session, actor, transfer_id) -> TransferLine
    pool(session, actor) -> Account
    update_member(session, actor, member_id, changes: MemberChanges) -> Member
    organizations(session) / all_categories(session) / all_districts(session)
    add_category(session, actor, *, slug, name_de, name_en) -> Category
    rename_category(session, actor, category_id, *, name_de, name_en) -> Category
    set_category_active(session, actor, category_id, active) -> Category
    add_district(session, actor, name) -> District
    rename_district(session, actor, district_id, name) -> District
    set_district_active(session, actor, district_id, active) -> District

Paging the directory is by keyset, not OFFSET: a page starts after the sort value and id
of the last row shown (``after``) or ends before the first (``before``), so page 1,000 of
100,000 members costs what page 1 costs. Each sort has an index that matches its order
(``ix_members_name_id``, ``ix_members_joined_on_id``, ``ix_accounts_balance_member``).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import exists, func, literal, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, ledger
from timebank.errors import Conflict, Invalid, NotFound
from timebank.i18n import N_
from timebank.members import (
    EMAIL_TAKEN,
    LANGUAGE_NOT_LISTED,
    ROLE_NOT_LISTED,
    get_member,
    normalize_email,
    postal_address,
)
from timebank.models import (
    LANGUAGES,
    ROLES,
    Account,
    Category,
    District,
    Exchange,
    Flag,
    Member,
    MemberCategory,
    Organization,
    Transfer,
    id_of,
)
from timebank.paging import Page

SORTS = ("name", "-name", "balance", "-balance", "joined", "-joined")
MAX_PER_PAGE = 200
# A flag counts while it asks for attention; snoozed ones were put aside on purpose.
ATTENTION = ("open", "acknowledged")


# --- The member directory -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    member: Member
    account_id: int
    balance_minutes: int
    organization_name: str | None
    district_name: str | None
    flagged: bool


@dataclass(frozen=True)
class MemberPage:
    rows: list[MemberRow]
    total: int
    sort: str
    # Cursors for the neighbouring pages; None when there is none.
    next_cursor: str | None
    previous_cursor: str | None


def _sort_key(sort: str) -> tuple[Any, Any]:
    """The sort column and its tie-breaker, chosen so an index covers both."""
    name = sort.lstrip("-")
    if name == "balance":
        return Account.balance_minutes, Account.member_id
    if name == "joined":
        return Member.joined_on, Member.id
    return Member.name, Member.id


def encode_cursor(sort: str, row: MemberRow) -> str:
    name = sort.lstrip("-")
    if name == "balance":
        value: Any = row.balance_minutes
    elif name == "joined":
        value = row.member.joined_on.isoformat()
    else:
        value = row.member.name
    return cursor_for(value, id_of(row.member))


def cursor_for(value: str | int, member_id: int) -> str:
    """The cursor of the row with this sort value (a date as ISO text) and member id."""
    raw = json.dumps([value, member_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[Any, int]:
    """The (sort value, member id) a cursor stands for; a damaged cursor is a clear error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, member_id = json.loads(raw)
        name = sort.lstrip("-")
        if name == "balance" and not isinstance(value, int):
            raise ValueError
        if name == "joined":
            value = date.fromisoformat(value)
        if name == "name" and not isinstance(value, str):
            raise ValueError
        if not isinstance(member_id, int) or isinstance(member_id, bool):
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError):
        raise Invalid(
            "this page link is damaged; start again from the first page", field="after"
        ) from None
    return value, member_id


def _flagged() -> Any:
    return exists().where(col(Flag.member_id) == Member.id, col(Flag.status).in_(ATTENTION))


async def list_members(
    session: AsyncSession,
    actor: Member,
    *,
    role: str | None = None,
    organization_id: int | None = None,
    district_id: int | None = None,
    flagged: bool = False,
    search: str | None = None,
    sort: str = "name",
    after: str | None = None,
    before: str | None = None,
    per_page: int = 50,
) -> MemberPage:
    """Members with their balances, filtered and sorted, one keyset page at a time."""
    access.require_manager(actor)
    if sort not in SORTS:
        raise Invalid("choose a sort order from the list", field="sort", allowed=list(SORTS))
    if role is not None and role not in ROLES:
        raise Invalid(ROLE_NOT_LISTED, field="role", allowed=list(ROLES))
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    conditions: list[Any] = []
    if role:
        conditions.append(Member.role == role)
    if organization_id:
        conditions.append(Member.organization_id == organization_id)
    if district_id:
        conditions.append(Member.district_id == district_id)
    if flagged:
        conditions.append(_flagged())
    words = (search or "").strip()
    if words:
        conditions.append(col(Member.name).icontains(words, autoescape=True))

    # Every member has exactly one account and the filters are on members only, so the
    # count needs no join.
    total = await session.scalar(select(func.count(col(Member.id))).where(*conditions))

    column, tie = _sort_key(sort)
    descending = sort.startswith("-")
    backwards = before is not None and after is None
    cursor = before if backwards else after
    # Walking back means reading the order reversed and turning the rows round afterwards.
    reverse = descending != backwards
    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to 4 columns
            Member,
            Account.id,
            Account.balance_minutes,
            Organization.name,
            District.name,
            _flagged(),
        )
        .join(Account, Account.member_id == Member.id)
        .outerjoin(Organization, Organization.id == Member.organization_id)
        .outerjoin(District, District.id == Member.district_id)
        .where(*conditions)
    )
    if cursor:
        value, member_id = decode_cursor(sort, cursor)
        key = tuple_(column, tie)
        query = query.where(
            key < tuple_(value, member_id) if reverse else key > tuple_(value, member_id)
        )
    order = (column.desc(), tie.desc()) if reverse else (column, tie)
    rows = (await session.exec(query.order_by(*order).limit(per_page + 1))).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows = list(reversed(rows))
    page = [
        MemberRow(member, account_id, balance, org, district, bool(flag))
        for member, account_id, balance, org, district, flag in rows
    ]
    has_next = (more and not backwards) or (backwards and bool(page))
    has_previous = (more and backwards) or (after is not None and bool(page))
    return MemberPage(
        rows=page,
        total=total or 0,
        sort=sort,
        next_cursor=encode_cursor(sort, page[-1]) if page and has_next else None,
        previous_cursor=encode_cursor(sort, page[0]) if page and has_previous else None,
    )


# --- Exchanges that wait, and disputed ones ---------------------------------------------------


@dataclass(frozen=True)
class ExchangeLine:
    exchange: Exchange
    giver_name: str
    receiver_name: str
    entered_by_name: str
    category: Category


async def _exchange_lines(
    session: AsyncSession, status: str, newest_first: bool, page: int, per_page: int
) -> Page[ExchangeLine]:
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    giver, receiver, enterer = aliased(Member), aliased(Member), aliased(Member)
    total = await session.scalar(
        select(func.count()).select_from(Exchange).where(Exchange.status == status)
    )
    order = (col(Exchange.id).desc(),) if newest_first else (col(Exchange.id),)
    rows = await session.exec(
        # SQLModel types select() for up to 4 columns.
        select(Exchange, giver.name, receiver.name, enterer.name, Category)  # type: ignore[call-overload]
        .join(giver, giver.id == Exchange.giver_id)
        .join(receiver, receiver.id == Exchange.receiver_id)
        .join(enterer, enterer.id == Exchange.entered_by_id)
        .join(Category, Category.id == Exchange.category_id)
        .where(Exchange.status == status)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page([ExchangeLine(*r) for r in rows.all()], total or 0, page, per_page)


async def pending_exchanges(
    session: AsyncSession, actor: Member, *, page: int = 1, per_page: int = 50
) -> Page[ExchangeLine]:
    """Help logged but not yet confirmed, the longest waiting first."""
    access.require_manager(actor)
    return await _exchange_lines(session, "pending", False, page, per_page)


async def disputed_exchanges(
    session: AsyncSession, actor: Member, *, page: int = 1, per_page: int = 50
) -> Page[ExchangeLine]:
    """Help the receiver rejected, the newest first, with their reason."""
    access.require_manager(actor)
    return await _exchange_lines(session, "rejected", True, page, per_page)


# --- Transfers, for corrections ----------------------------------------------------------------


@dataclass(frozen=True)
class TransferLine:
    transfer: Transfer
    from_name: str
    to_name: str
    # The reversal of this transfer, when it has been reversed.
    reversed_by_id: int | None

    @property
    def reversible(self) -> bool:
        return self.reversed_by_id is None and self.transfer.reverses_id is None


def _holder_name(member: Any, organization: Any) -> Any:
    return func.coalesce(member.name, organization.name, literal("pool"))


async def transfers(
    session: AsyncSession,
    actor: Member,
    *,
    account_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[TransferLine]:
    """Transfers, newest first (of one account when given); ``before_id`` pages on."""
    access.require_manager(actor)
    limit = min(max(1, limit), MAX_PER_PAGE)
    src, dst = aliased(Account), aliased(Account)
    src_member, dst_member = aliased(Member), aliased(Member)
    src_org, dst_org = aliased(Organization), aliased(Organization)
    reversal = aliased(Transfer)
    query = (
        select(
            Transfer,
            _holder_name(src_member, src_org),
            _holder_name(dst_member, dst_org),
            col(reversal.id),
        )
        .join(src, col(src.id) == Transfer.from_account_id)
        .join(dst, col(dst.id) == Transfer.to_account_id)
        .outerjoin(src_member, col(src_member.id) == src.member_id)
        .outerjoin(dst_member, col(dst_member.id) == dst.member_id)
        .outerjoin(src_org, col(src_org.id) == src.organization_id)
        .outerjoin(dst_org, col(dst_org.id) == dst.organization_id)
        .outerjoin(reversal, col(reversal.reverses_id) == Transfer.id)
    )
    if account_id is not None:
        query = query.where(
            (Transfer.from_account_id == account_id) | (Transfer.to_account_id == account_id)
        )
    if before_id is not None:
        query = query.where(col(Transfer.id) < before_id)
    rows = await session.exec(query.order_by(col(Transfer.id).desc()).limit(limit))
    return [TransferLine(*r) for r in rows.all()]


async def transfer_line(session: AsyncSession, actor: Member, transfer_id: int) -> TransferLine:
    lines = await transfers(session, actor, before_id=transfer_id + 1, limit=1)
    if not lines or lines[0].transfer.id != transfer_id:
        raise NotFound("this booking was not found")
    return lines[0]


async def pool(session: AsyncSession, actor: Member) -> Account:
    access.require_manager(actor)
    return await ledger.pool_account(session)


# --- Member details ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberChanges:
    """A manager's edit of a member. Every field is set as given (the edit form sends them
    all); ``category_ids`` replaces the kinds of help the member likes to give."""

    name: str
    role: str
    email: str | None = None
    phone: str | None = None
    organization_id: int | None = None
    district_id: int | None = None
    language: str = "de"
    availability: str | None = None
    best_time_to_call: str | None = None
    active: bool = True
    category_ids: tuple[int, ...] = field(default_factory=tuple)
    street: str | None = None
    postcode: str | None = None
    town: str | None = None


async def update_member(
    session: AsyncSession, actor: Member, member_id: int, changes: MemberChanges
) -> Member:
    access.require_manager(actor)
    member = await get_member(session, member_id)
    name = changes.name.strip()
    if not name:
        raise Invalid("a name is required", field="name")
    if len(name) > 200:
        raise Invalid("the name is too long (at most 200 characters)", field="name")
    if changes.role not in ROLES:
        raise Invalid(ROLE_NOT_LISTED, field="role", allowed=list(ROLES))
    if changes.language not in LANGUAGES:
        raise Invalid(LANGUAGE_NOT_LISTED, field="language", allowed=list(LANGUAGES))
    if changes.role == "professional" and changes.organization_id is None:
        raise Invalid("a professional belongs to a member organisation", field="organization_id")
    if changes.organization_id is not None and (
        await session.get(Organization, changes.organization_id) is None
    ):
        raise Invalid("choose an organisation from the list", field="organization_id")
    if changes.district_id is not None and await session.get(District, changes.district_id) is None:
        raise Invalid("choose a district from the list", field="district_id")
    if member.id == actor.id and (changes.role != "manager" or not changes.active):
        raise Invalid("you cannot take away your own manager role", field="role")
    email = normalize_email(changes.email)
    if email and await session.scalar(
        select(Member.id).where(Member.email == email, Member.id != member.id)
    ):
        raise Conflict(EMAIL_TAKEN, field="email")
    if email is None and member.password_hash:
        raise Invalid("a member who logs in needs an email address", field="email")
    known = set((await session.exec(select(Category.id))).all())
    if not set(changes.category_ids) <= known:
        raise Invalid("choose kinds of help from the list", field="category_ids")
    member.street, member.postcode, member.town = postal_address(
        changes.street, changes.postcode, changes.town
    )

    member.name = name
    member.role = changes.role
    member.email = email
    member.phone = (changes.phone or "").strip() or None
    member.organization_id = changes.organization_id
    member.district_id = changes.district_id
    member.language = changes.language
    member.availability = (changes.availability or "").strip()[:200] or None
    member.best_time_to_call = (changes.best_time_to_call or "").strip()[:200] or None
    member.active = changes.active
    session.add(member)
    chosen = (
        await session.exec(select(MemberCategory).where(MemberCategory.member_id == member.id))
    ).all()
    for row in chosen:
        if row.category_id not in changes.category_ids:
            await session.delete(row)
    have = {row.category_id for row in chosen}
    for category_id in dict.fromkeys(changes.category_ids):
        if category_id not in have:
            session.add(MemberCategory(member_id=id_of(member), category_id=category_id))
    await session.flush()
    return member


async def category_ids_of(session: AsyncSession, member_id: int) -> list[int]:
    rows = await session.exec(
        select(MemberCategory.category_id).where(MemberCategory.member_id == member_id)
    )
    return list(rows.all())


# --- Categories and districts ----------------------------------------------------------------

_SLUG = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


async def organizations(session: AsyncSession) -> list[Organization]:
    return list((await session.exec(select(Organization).order_by(Organization.name))).all())


# The kinds of help every network starts with (migration 0001 seeds them with a German and
# an English name). Their English names are catalogue ids, so Turkish, Russian and Arabic
# readers see them in their language; a kind the office adds later has only the two names
# it was given, and readers of other languages see the German one, the office's own word.
SEEDED_CATEGORY_NAMES = (
    N_("Shopping"),
    N_("Accompaniment to appointments"),
    N_("Visits and conversation"),
    N_("Household"),
    N_("Garden"),
    N_("Forms and letters"),
    N_("Phone and computer"),
    N_("Transport"),
    N_("Translation"),
    N_("Other"),
)


async def all_categories(session: AsyncSession) -> list[Category]:
    """Every category, the inactive ones too (for the manager's list)."""
    rows = await session.exec(select(Category).order_by(col(Category.position), col(Category.id)))
    return list(rows.all())


async def all_districts(session: AsyncSession) -> list[District]:
    return list((await session.exec(select(District).order_by(District.name))).all())


def _name(value: str | None, field_name: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid("please fill in this field", field=field_name)
    if len(value) > limit:
        raise Invalid(
            "this is too long (at most {limit} characters)",
            field=field_name,
            params={"limit": limit},
        )
    return value


async def add_category(
    session: AsyncSession, actor: Member, *, slug: str, name_de: str, name_en: str
) -> Category:
    access.require_manager(actor)
    slug = (slug or "").strip().lower()
    if not _SLUG.match(slug):
        raise Invalid(
            "use 2–40 small letters, digits, - or _, starting with a letter", field="slug"
        )
    if await session.scalar(select(Category.id).where(Category.slug == slug)):
        raise Conflict(
            "a kind of help with the short name '{slug}' exists already",
            field="slug",
            params={"slug": slug},
        )
    position = await session.scalar(select(func.coalesce(func.max(Category.position), 0)))
    category = Category(
        slug=slug,
        name_de=_name(name_de, "name_de", 120),
        name_en=_name(name_en, "name_en", 120),
        position=(position or 0) + 1,
    )
    session.add(category)
    await session.flush()
    return category


async def _category(session: AsyncSession, category_id: int) -> Category:
    category = await session.get(Category, category_id)
    if category is None:
        raise NotFound("this kind of help was not found")
    return category


async def rename_category(
    session: AsyncSession, actor: Member, category_id: int, *, name_de: str, name_en: str
) -> Category:
    access.require_manager(actor)
    category = await _category(session, category_id)
    category.name_de = _name(name_de, "name_de", 120)
    category.name_en = _name(name_en, "name_en", 120)
    session.add(category)
    await session.flush()
    return category


async def set_category_active(
    session: AsyncSession, actor: Member, category_id: int, active: bool
) -> Category:
    """Deactivated categories stay on past exchanges but are offered for nothing new."""
    access.require_manager(actor)
    category = await _category(session, category_id)
    category.active = active
    session.add(category)
    await session.flush()
    return category


async def _district(session: AsyncSession, district_id: int) -> District:
    district = await session.get(District, district_id)
    if district is None:
        raise NotFound("this district was not found")
    return district


async def _unique_district_name(session: AsyncSession, name: str, own_id: int | None) -> str:
    name = _name(name, "name", 120)
    clash = await session.scalar(
        select(District.id).where(func.lower(District.name) == name.lower())
    )
    if clash is not None and clash != own_id:
        raise Conflict(
            "a district named '{name}' exists already", field="name", params={"name": name}
        )
    return name


async def add_district(session: AsyncSession, actor: Member, name: str) -> District:
    access.require_manager(actor)
    district = District(name=await _unique_district_name(session, name, None))
    session.add(district)
    await session.flush()
    return district


async def rename_district(
    session: AsyncSession, actor: Member, district_id: int, name: str
) -> District:
    access.require_manager(actor)
    district = await _district(session, district_id)
    district.name = await _unique_district_name(session, name, district.id)
    session.add(district)
    await session.flush()
    return district


async def set_district_active(
    session: AsyncSession, actor: Member, district_id: int, active: bool
) -> District:
    access.require_manager(actor)
    district = await _district(session, district_id)
    district.active = active
    session.add(district)
    await session.flush()
    return district
