"""The board: help requests ("I need help"), the answers to them ("I can help"), standing
offers, and matching a request with the helpers who fit it best.

A request is ``open`` until a helper is accepted (``matched``: it leaves the board and the
requester sees who is coming), it is withdrawn or done (``closed``), or its expiry date
passes (``expired``). Every function checks its actor through ``timebank.access`` and only
flushes; the request or job that calls it owns the transaction.

Signatures (``session`` is an ``AsyncSession``, ``actor`` the signed-in ``Member``;
``today`` defaults to the town's today, ``network.today``, and exists for tests)::

    create_request(session, actor, *, member_id, category_id, title, description=None,
                   district_id=None, needed_on=None, when_text=None, urgency="normal",
                   contact=None, expires_on=None, today=None) -> HelpRequest
    get_request(session, actor, request_id) -> RequestCard
    open_requests(session, actor, *, category_id=None, district_id=None, search=None,
                  include_expired=False, page=1, per_page=20, today=None) -> Page[RequestCard]
    requests_for_helper(session, helper, *, limit=20, today=None) -> list[RequestCard]
    requests_of(session, actor, member_id) -> list[RequestCard]     # a member's own requests
    respond(session, actor, request_id, *, message=None, today=None) -> RequestResponse
    responses_to(session, actor, request_id) -> list[ResponseRow]
    accept_helper(session, actor, request_id, helper_id) -> HelpRequest
    who_is_coming(session, actor, member_id) -> list[RequestCard]  # matched, helper set
    close_request(session, actor, request_id) -> HelpRequest       # withdraw or done
    expire_past(session, *, today=None) -> int                     # requests and offers
    create_offer(session, actor, *, member_id, category_id, title, description=None,
                 district_id=None, expires_on=None, today=None) -> Offer
    open_offers(session, actor, *, category_id=None, district_id=None, search=None,
                include_expired=False, page=1, per_page=20, today=None) -> Page[OfferCard]
    offers_of(session, actor, member_id) -> list[OfferCard]
    close_offer(session, actor, offer_id) -> Offer
    take_up_offer(session, actor, offer_id, *, member_id, today=None) -> HelpRequest  # matched
    withdraw_response(session, actor, request_id) -> None          # take back "I can help"
    offered_help(session, actor, request_ids) -> set[int]          # which the actor answered
    expected_at(session, helper) -> list[RequestCard]              # matched, they are helper
    suggested_helpers(session, actor, request_id, *, limit=5, today=None) -> list[Suggestion]
    matching(session, actor, *, page=1, per_page=10, per_request=5, today=None)
        -> Page[tuple[RequestCard, list[Suggestion]]]

Refusals raise ``Forbidden`` (not allowed), ``NotFound``, ``Invalid`` (bad input; ``field``
names the form field) or ``Conflict`` (e.g. responding twice, or to a closed request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, overload

from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from timebank import access, network, notifications
from timebank.errors import Conflict, Invalid, NotFound
from timebank.i18n import N_
from timebank.members import get_member
from timebank.models import (
    URGENCIES,
    Category,
    District,
    Exchange,
    HelpRequest,
    Member,
    MemberCategory,
    Offer,
    RequestResponse,
    id_of,
    utcnow,
)
from timebank.paging import Page

DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 365
MAX_PER_PAGE = 100
# Helpers are members who give help; staff are paid and are not suggested as helpers.
HELPER_ROLES = ("volunteer", "senior")
# The window of "how much a helper already carries".
RECENT_DAYS = 90


@dataclass(frozen=True)
class RequestCard:
    """A request with what the board shows next to it."""

    request: HelpRequest
    category: Category
    district_name: str | None
    requester_name: str
    helper_name: str | None
    responses: int


@dataclass(frozen=True)
class ResponseRow:
    response: RequestResponse
    helper: Member


@dataclass(frozen=True)
class OfferCard:
    offer: Offer
    category: Category
    district_name: str | None
    member_name: str


@dataclass(frozen=True)
class Suggestion:
    """One suggested helper and the facts their rank comes from."""

    member_id: int
    name: str
    district_name: str | None
    availability: str | None
    fits_category: bool
    same_district: bool
    open_commitments: int
    recent_minutes: int


# --- Input checks ---------------------------------------------------------------------------


@overload
def _text(value: str | None, field: str, limit: int, *, required: Literal[True]) -> str: ...
@overload
def _text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None: ...
def _text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    value = (value or "").strip() or None
    if value is None and required:
        raise Invalid("please fill in this field", field=field)
    if value is not None and len(value) > limit:
        raise Invalid(
            "this is too long (at most {limit} characters)", field=field, params={"limit": limit}
        )
    return value


async def _category(session: AsyncSession, category_id: int | None) -> Category:
    category = await session.get(Category, category_id) if category_id else None
    if category is None or not category.active:
        raise Invalid("choose a kind of help", field="category_id")
    return category


async def _district(session: AsyncSession, district_id: int | None) -> int | None:
    if district_id is None:
        return None
    district = await session.get(District, district_id)
    if district is None or not district.active:
        raise Invalid("choose a district from the list", field="district_id")
    return district.id


def _expiry(expires_on: date | None, today: date, default_days: int = DEFAULT_EXPIRY_DAYS) -> date:
    if expires_on is None:
        return today + timedelta(days=default_days)
    if expires_on < today:
        raise Invalid("the expiry date has already passed", field="expires_on")
    if expires_on > today + timedelta(days=MAX_EXPIRY_DAYS):
        raise Invalid("the expiry date is more than a year away", field="expires_on")
    return expires_on


def _paging(page: int, per_page: int) -> tuple[int, int]:
    return max(1, page), min(max(1, per_page), MAX_PER_PAGE)


# --- Requests -------------------------------------------------------------------------------


async def create_request(
    session: AsyncSession,
    actor: Member,
    *,
    member_id: int,
    category_id: int | None,
    title: str,
    description: str | None = None,
    district_id: int | None = None,
    needed_on: date | None = None,
    when_text: str | None = None,
    urgency: str = "normal",
    contact: str | None = None,
    expires_on: date | None = None,
    today: date | None = None,
) -> HelpRequest:
    """A request for help for ``member_id``. Without a district the requester's own is used;
    without an expiry date it is the day help is needed, else 30 days from today."""
    today = today or await network.today(session)
    requester = await get_member(session, member_id)
    access.require_request_help_for(actor, requester)
    clean_title = _text(title, "title", 200, required=True)
    category = await _category(session, category_id)
    if urgency not in URGENCIES:
        raise Invalid("choose how urgent it is", field="urgency")
    if needed_on is not None and needed_on < today:
        raise Invalid("this date has already passed", field="needed_on")
    if needed_on is not None and needed_on > today + timedelta(days=MAX_EXPIRY_DAYS):
        # Marked at the day asked for: it would become the expiry date, a field the form lacks.
        raise Invalid("this date is more than a year away", field="needed_on")
    if expires_on is None and needed_on is not None:
        expires_on = needed_on
    request = HelpRequest(
        member_id=id_of(requester),
        entered_by_id=id_of(actor),
        category_id=id_of(category),
        district_id=await _district(session, district_id) or requester.district_id,
        title=clean_title,
        description=_text(description, "description", 2000),
        needed_on=needed_on,
        when_text=_text(when_text, "when_text", 200),
        urgency=urgency,
        contact=_text(contact, "contact", 200),
        expires_on=_expiry(expires_on, today),
    )
    session.add(request)
    await session.flush()
    return request


_helper = aliased(Member)


# The request, its category, district name, requester's name, helper's name, responses.
RequestCardRow = tuple[HelpRequest, Category, str | None, str, str | None, int]


def _request_cards() -> Select[*RequestCardRow]:
    responses = (
        select(func.count())
        .select_from(RequestResponse)
        .where(RequestResponse.request_id == HelpRequest.id)
        .correlate(HelpRequest)
        .scalar_subquery()
    )
    return (
        # SQLModel types select() for up to 4 columns.
        select(HelpRequest, Category, District.name, Member.name, _helper.name, responses)  # type: ignore[call-overload]
        .join(Category, col(Category.id) == HelpRequest.category_id)
        .join(Member, col(Member.id) == HelpRequest.member_id)
        .outerjoin(District, col(District.id) == HelpRequest.district_id)
        .outerjoin(_helper, col(_helper.id) == HelpRequest.helper_id)
    )


def _to_request_card(row: Any) -> RequestCard:
    request, category, district_name, requester_name, helper_name, responses = row
    return RequestCard(request, category, district_name, requester_name, helper_name, responses)


def _still_open(today: date) -> ColumnElement[bool]:
    return and_(
        col(HelpRequest.status) == "open",
        or_(col(HelpRequest.expires_on).is_(None), col(HelpRequest.expires_on) >= today),
    )


async def _load_request(
    session: AsyncSession, request_id: int, *, lock: bool = False
) -> HelpRequest:
    query = select(HelpRequest).where(HelpRequest.id == request_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    request = await session.scalar(query)
    if request is None:
        raise NotFound("this help request was not found")
    return request


async def get_request(session: AsyncSession, actor: Member, request_id: int) -> RequestCard:
    access.require_board_reader(actor)
    row = (await session.exec(_request_cards().where(HelpRequest.id == request_id))).first()
    if row is None:
        raise NotFound("this help request was not found")
    return _to_request_card(row)


def _listing_filters(
    model: type[HelpRequest] | type[Offer],
    category_id: int | None,
    district_id: int | None,
    search: str | None,
) -> list[Any]:
    """The board's filters, the same for requests and offers: category, district, and
    words in the title or description."""
    conditions: list[Any] = []
    if category_id:
        conditions.append(model.category_id == category_id)
    if district_id:
        conditions.append(model.district_id == district_id)
    words = (search or "").strip()
    if words:
        conditions.append(
            or_(
                col(model.title).icontains(words, autoescape=True),
                col(model.description).icontains(words, autoescape=True),
            )
        )
    return conditions


async def open_requests(
    session: AsyncSession,
    actor: Member,
    *,
    category_id: int | None = None,
    district_id: int | None = None,
    search: str | None = None,
    include_expired: bool = False,
    page: int = 1,
    per_page: int = 20,
    today: date | None = None,
) -> Page[RequestCard]:
    """The board's requests, newest first. Requests past their expiry date count as expired
    even before ``expire_past`` has marked them."""
    access.require_board_reader(actor)
    today = today or await network.today(session)
    page, per_page = _paging(page, per_page)
    conditions: list[Any] = []
    if include_expired:
        conditions.append(col(HelpRequest.status).in_(("open", "expired")))
    else:
        conditions.append(_still_open(today))
    conditions += _listing_filters(HelpRequest, category_id, district_id, search)
    total = await session.scalar(select(func.count()).select_from(HelpRequest).where(*conditions))
    rows = await session.exec(
        _request_cards()
        .where(*conditions)
        .order_by(col(HelpRequest.created_at).desc(), col(HelpRequest.id).desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page([_to_request_card(r) for r in rows.all()], total or 0, page, per_page)


async def requests_for_helper(
    session: AsyncSession, helper: Member, *, limit: int = 20, today: date | None = None
) -> list[RequestCard]:
    """Open requests that fit ``helper``: one of their categories (any category when they
    chose none) in their district (any district when they, or the request, have none).
    Their own requests are left out; the most urgent and the soonest needed come first."""
    access.require_board_reader(helper)
    today = today or await network.today(session)
    conditions: list[Any] = [_still_open(today), HelpRequest.member_id != helper.id]
    chose_any = exists().where(col(MemberCategory.member_id) == helper.id)
    chose_this = exists().where(
        col(MemberCategory.member_id) == helper.id,
        col(MemberCategory.category_id) == HelpRequest.category_id,
    )
    conditions.append(or_(~chose_any, chose_this))
    if helper.district_id is not None:
        conditions.append(
            or_(
                col(HelpRequest.district_id).is_(None),
                col(HelpRequest.district_id) == helper.district_id,
            )
        )
    urgency_rank = case({"high": 0, "normal": 1, "low": 2}, value=HelpRequest.urgency)
    rows = await session.exec(
        _request_cards()
        .where(*conditions)
        .order_by(
            urgency_rank,
            col(HelpRequest.needed_on).is_(None),
            col(HelpRequest.needed_on),
            col(HelpRequest.id),
        )
        .limit(min(max(1, limit), MAX_PER_PAGE))
    )
    return [_to_request_card(r) for r in rows.all()]


async def requests_of(session: AsyncSession, actor: Member, member_id: int) -> list[RequestCard]:
    """A member's own requests, every status, newest first."""
    member = await get_member(session, member_id)
    access.require_manage_request(actor, member)
    rows = await session.exec(
        _request_cards()
        .where(HelpRequest.member_id == member_id)
        .order_by(col(HelpRequest.created_at).desc(), col(HelpRequest.id).desc())
    )
    return [_to_request_card(r) for r in rows.all()]


async def who_is_coming(session: AsyncSession, actor: Member, member_id: int) -> list[RequestCard]:
    """The member's matched requests, each with the accepted helper's name."""
    return [
        c for c in await requests_of(session, actor, member_id) if c.request.status == "matched"
    ]


async def respond(
    session: AsyncSession,
    actor: Member,
    request_id: int,
    *,
    message: str | None = None,
    today: date | None = None,
) -> RequestResponse:
    """The actor says "I can help": once per request, never on their own, only while open."""
    today = today or await network.today(session)
    request = await _load_request(session, request_id)
    access.require_respond_to_request(actor, request)
    if request.status != "open" or (request.expires_on and request.expires_on < today):
        raise Conflict("this request is no longer open", status=request.status)
    already = await session.scalar(
        select(RequestResponse.id).where(
            RequestResponse.request_id == request_id, RequestResponse.helper_id == actor.id
        )
    )
    if already is not None:
        raise Conflict("you have already offered to help with this request")
    response = RequestResponse(
        request_id=request_id,
        helper_id=id_of(actor),
        message=_text(message, "message", 1000),
    )
    session.add(response)
    await session.flush()
    await notifications.helper_offered(session, request, actor)
    return response


async def responses_to(session: AsyncSession, actor: Member, request_id: int) -> list[ResponseRow]:
    """Who offered to help, oldest first: for the requester and staff acting for them."""
    request = await _load_request(session, request_id)
    access.require_manage_request(actor, await get_member(session, request.member_id))
    rows = await session.exec(
        select(RequestResponse, Member)
        .join(Member, col(Member.id) == RequestResponse.helper_id)
        .where(RequestResponse.request_id == request_id)
        .order_by(col(RequestResponse.created_at), col(RequestResponse.id))
    )
    return [ResponseRow(response, helper) for response, helper in rows.all()]


async def accept_helper(
    session: AsyncSession, actor: Member, request_id: int, helper_id: int
) -> HelpRequest:
    """The requester (or staff for them) accepts a helper: the request is matched and leaves
    the board. The requester accepts one who responded; staff may also assign a suggested
    helper who has not, which records the response for them."""
    request = await _load_request(session, request_id, lock=True)
    requester = await get_member(session, request.member_id)
    access.require_manage_request(actor, requester)
    if request.status != "open":
        raise Conflict("this request is no longer open", status=request.status)
    helper = await session.get(Member, helper_id)
    if helper is None or not helper.active:
        raise Invalid("this helper is not an active member", field="helper_id")
    if helper.id == request.member_id:
        raise Invalid("nobody can be their own helper", field="helper_id")
    response = await session.scalar(
        select(RequestResponse).where(
            RequestResponse.request_id == request_id, RequestResponse.helper_id == helper_id
        )
    )
    if response is None:
        if not (actor.is_staff and access.acts_for(actor, requester)):
            raise Invalid("this person has not offered to help", field="helper_id")
        response = RequestResponse(request_id=request_id, helper_id=helper_id)
    response.accepted = True
    session.add(response)
    request.status = "matched"
    request.helper_id = helper_id
    request.closed_at = utcnow()
    session.add(request)
    await session.flush()
    await notifications.helper_chosen(session, request, actor)
    return request


async def close_request(session: AsyncSession, actor: Member, request_id: int) -> HelpRequest:
    """Withdraw an open request or mark a matched one done. Closing twice is harmless."""
    request = await _load_request(session, request_id, lock=True)
    access.require_manage_request(actor, await get_member(session, request.member_id))
    if request.status == "closed":
        return request
    request.status = "closed"
    request.closed_at = utcnow()
    session.add(request)
    await session.flush()
    return request


async def expire_past(session: AsyncSession, *, today: date | None = None) -> int:
    """Mark open requests and offers whose expiry date has passed as expired (network policy,
    no actor: the scheduler's job). Returns how many rows changed."""
    today = today or await network.today(session)
    requests = await session.exec(
        update(HelpRequest)
        .where(col(HelpRequest.status) == "open", col(HelpRequest.expires_on) < today)
        .values(status="expired", closed_at=utcnow())
    )
    offers = await session.exec(
        update(Offer)
        .where(col(Offer.status) == "open", col(Offer.expires_on) < today)
        .values(status="expired")
    )
    await session.flush()
    return (requests.rowcount or 0) + (offers.rowcount or 0)


@dataclass(frozen=True)
class Contact:
    """How to reach one side of a matched request."""

    name: str
    phone: str | None
    email: str | None
    best_time_to_call: str | None


@dataclass(frozen=True)
class Contacts:
    """What the request page may show the actor: the requester's way to be reached (to the
    chosen helper and the office), the helper's (to the requester's side and the office),
    and the contact the requester gave, to their own side as theirs."""

    requester: Contact | None
    helper: Contact | None
    own: str | None


async def contacts(session: AsyncSession, actor: Member, request: HelpRequest) -> Contacts:
    """Each side of a request sees the other's name, phone and best time to call once a
    helper is chosen; before that nobody but the office (``access``)."""
    requester = await get_member(session, request.member_id)
    helper = await session.get(Member, request.helper_id) if request.helper_id else None
    theirs = None
    if access.can_see_request_contact(actor, request, requester):
        phone = request.contact or requester.phone
        theirs = Contact(requester.name, phone, requester.email, requester.best_time_to_call)
    helpers = None
    if helper is not None and access.can_see_helper_contact(actor, request, requester):
        helpers = Contact(helper.name, helper.phone, helper.email, helper.best_time_to_call)
    own = request.contact if access.can_act_as(actor, requester) else None
    return Contacts(theirs, helpers, own)


# --- Offers ---------------------------------------------------------------------------------


async def create_offer(
    session: AsyncSession,
    actor: Member,
    *,
    member_id: int,
    category_id: int | None,
    title: str,
    description: str | None = None,
    district_id: int | None = None,
    expires_on: date | None = None,
    today: date | None = None,
) -> Offer:
    """A standing offer of help, 90 days unless another expiry date is given."""
    today = today or await network.today(session)
    member = await get_member(session, member_id)
    access.require_offer_for(actor, member)
    clean_title = _text(title, "title", 200, required=True)
    category = await _category(session, category_id)
    offer = Offer(
        member_id=id_of(member),
        category_id=id_of(category),
        district_id=await _district(session, district_id) or member.district_id,
        title=clean_title,
        description=_text(description, "description", 2000),
        expires_on=_expiry(expires_on, today, default_days=90),
    )
    session.add(offer)
    await session.flush()
    return offer


def _offer_cards() -> Select[Offer, Category, str, str]:
    return (
        select(Offer, Category, District.name, Member.name)
        .join(Category, col(Category.id) == Offer.category_id)
        .join(Member, col(Member.id) == Offer.member_id)
        .outerjoin(District, col(District.id) == Offer.district_id)
    )


async def open_offers(
    session: AsyncSession,
    actor: Member,
    *,
    category_id: int | None = None,
    district_id: int | None = None,
    search: str | None = None,
    include_expired: bool = False,
    page: int = 1,
    per_page: int = 20,
    today: date | None = None,
) -> Page[OfferCard]:
    access.require_board_reader(actor)
    today = today or await network.today(session)
    page, per_page = _paging(page, per_page)
    conditions: list[Any] = [col(Member.active).is_(True)]
    if include_expired:
        conditions.append(col(Offer.status).in_(("open", "expired")))
    else:
        conditions.append(Offer.status == "open")
        conditions.append(or_(col(Offer.expires_on).is_(None), col(Offer.expires_on) >= today))
    conditions += _listing_filters(Offer, category_id, district_id, search)
    total = await session.scalar(
        select(func.count())
        .select_from(Offer)
        .join(Member, col(Member.id) == Offer.member_id)
        .where(*conditions)
    )
    rows = await session.exec(
        _offer_cards()
        .where(*conditions)
        .order_by(col(Offer.created_at).desc(), col(Offer.id).desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page([OfferCard(*r) for r in rows.all()], total or 0, page, per_page)


async def get_offer(session: AsyncSession, actor: Member, offer_id: int) -> OfferCard:
    access.require_board_reader(actor)
    row = (await session.exec(_offer_cards().where(Offer.id == offer_id))).first()
    if row is None:
        raise NotFound("this offer was not found")
    return OfferCard(*row)


async def offers_of(session: AsyncSession, actor: Member, member_id: int) -> list[OfferCard]:
    member = await get_member(session, member_id)
    access.require_manage_offer(actor, member)
    rows = await session.exec(
        _offer_cards()
        .where(Offer.member_id == member_id)
        .order_by(col(Offer.created_at).desc(), col(Offer.id).desc())
    )
    return [OfferCard(*r) for r in rows.all()]


async def close_offer(session: AsyncSession, actor: Member, offer_id: int) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise NotFound("this offer was not found")
    owner = await get_member(session, offer.member_id)
    access.require_manage_offer(actor, owner)
    offer.status = "closed"
    session.add(offer)
    await session.flush()
    return offer


# --- Taking up an offer, taking back an offer of help (issue 9, point 5) ---------------------

# What the member who offered help is told (or the staff who act for them).
OFFER_TAKEN_SUBJECT = N_("Your offer was taken up: {title}")
OFFER_TAKEN_BODY = N_(
    "{name} would like the help {helper} offered: „{title}“. "
    "Please get in touch with {name} to agree on a time."
)


async def take_up_offer(
    session: AsyncSession,
    actor: Member,
    offer_id: int,
    *,
    member_id: int,
    today: date | None = None,
) -> HelpRequest:
    """``member_id`` takes up an offer ("Das möchte ich"), themselves or through the staff
    who act for them: a request in the offer's kind of help and the receiver's district,
    matched at once to the member who offered it, who is told. Taken up again while that
    request runs (a double click), the same request is returned and nobody is told twice;
    the offer itself stays on the board for others."""
    today = today or await network.today(session)
    offer = await session.scalar(
        select(Offer)
        .where(Offer.id == offer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if offer is None:
        raise NotFound("this offer was not found")
    receiver = await get_member(session, member_id)
    access.require_request_help_for(actor, receiver)
    if receiver.id == offer.member_id:
        raise Conflict("nobody can take up their own offer")
    running = await session.scalar(
        select(HelpRequest).where(
            HelpRequest.offer_id == offer_id,
            HelpRequest.member_id == receiver.id,
            col(HelpRequest.status).in_(("open", "matched")),
        )
    )
    if running is not None:
        return running
    helper = await get_member(session, offer.member_id)
    if (
        offer.status != "open"
        or (offer.expires_on is not None and offer.expires_on < today)
        or not helper.active
    ):
        raise Conflict("this offer is no longer open", status=offer.status)
    request = HelpRequest(
        member_id=id_of(receiver),
        entered_by_id=id_of(actor),
        category_id=offer.category_id,
        district_id=receiver.district_id,
        title=offer.title,
        description=offer.description,
        contact=receiver.phone,
        expires_on=_expiry(None, today),
        status="matched",
        helper_id=id_of(helper),
        offer_id=offer_id,
        closed_at=utcnow(),
    )
    session.add(request)
    await session.flush()
    session.add(RequestResponse(request_id=id_of(request), helper_id=id_of(helper), accepted=True))
    await session.flush()
    for person in await notifications.people_to_tell(session, helper):
        await notifications.notify(
            session,
            person,
            kind="offer_taken_up",
            subject=OFFER_TAKEN_SUBJECT,
            body=OFFER_TAKEN_BODY,
            params={"name": receiver.name, "helper": helper.name, "title": offer.title},
            key=f"offer_taken_up:{request.id}:{person.id}",
            link=notifications.request_path(request.id),
        )
    return request


async def withdraw_response(session: AsyncSession, actor: Member, request_id: int) -> None:
    """The helper takes back their "I can help" while they are not the chosen helper;
    taking back what is not there is harmless (a second click)."""
    access.require_active(actor)
    await _load_request(session, request_id, lock=True)
    response = await session.scalar(
        select(RequestResponse).where(
            RequestResponse.request_id == request_id, RequestResponse.helper_id == actor.id
        )
    )
    if response is None:
        return
    if response.accepted:
        raise Conflict(
            "you are the chosen helper: if you cannot come, please tell the person "
            "or the network office"
        )
    await session.delete(response)
    await session.flush()


async def offered_help(session: AsyncSession, actor: Member, request_ids: list[int]) -> set[int]:
    """Which of these requests the actor has offered to help with (the board marks them)."""
    if not request_ids:
        return set()
    rows = await session.exec(
        select(RequestResponse.request_id).where(
            RequestResponse.helper_id == actor.id,
            col(RequestResponse.request_id).in_(request_ids),
        )
    )
    return set(rows.all())


async def expected_at(session: AsyncSession, helper: Member) -> list[RequestCard]:
    """Matched requests the member is the chosen helper of: where they are expected."""
    access.require_board_reader(helper)
    rows = await session.exec(
        _request_cards()
        .where(HelpRequest.helper_id == helper.id, HelpRequest.status == "matched")
        .order_by(
            col(HelpRequest.needed_on).is_(None),
            col(HelpRequest.needed_on),
            col(HelpRequest.id),
        )
    )
    return [_to_request_card(r) for r in rows.all()]


# --- Matching -------------------------------------------------------------------------------


async def suggested_helpers(
    session: AsyncSession,
    actor: Member,
    request_id: int,
    *,
    limit: int = 5,
    today: date | None = None,
) -> list[Suggestion]:
    """Helpers to ask for an open request, best first.

    Who is considered: active volunteers and seniors (staff are paid, not suggested), not
    the requester, not anyone who has already responded to this request (they are listed as
    responses; an accepted or turned-down answer needs no second ask), and only people who
    either chose the request's kind of help or live in its district.

    How they are ranked, one key after the other (a tie on a key goes to the next):

    1. category fit: they chose the request's category in their profile;
    2. same district as the request;
    3. fewer open commitments: requests they were accepted for that are still ``matched``;
    4. fewer minutes given in the last 90 days (confirmed exchanges as giver), so the work
       spreads instead of landing on the same few reliable people;
    5. name, then id, so the order is stable.

    One query: the workload figures are grouped subqueries joined to the members, so the
    cost does not grow with a Python loop over members.
    """
    today = today or await network.today(session)
    request = await _load_request(session, request_id)
    access.require_suggest_helpers(actor, await get_member(session, request.member_id))
    rows = await session.exec(_ranking_query(request, limit=limit, today=today))
    return [_suggestion(row) for row in rows.all()]


def _suggestion(row: Any) -> Suggestion:
    member_id, name, district_name, availability, fits, same, commitments, minutes = row
    return Suggestion(
        member_id, name, district_name, availability, bool(fits), bool(same), commitments, minutes
    )


# Member id, name, district name, availability, the two flags, commitments, recent minutes.
SuggestionRow = tuple[int, str, str | None, str | None, int, int, int, int]


def _ranking_query(request: HelpRequest, *, limit: int, today: date) -> Select[*SuggestionRow]:
    since = today - timedelta(days=RECENT_DAYS)
    given = (
        select(Exchange.giver_id, func.sum(Exchange.minutes).label("minutes"))
        .where(Exchange.status == "confirmed", Exchange.performed_on >= since)
        .group_by(col(Exchange.giver_id))
        .subquery()
    )
    commitments = (
        select(HelpRequest.helper_id, func.count().label("open"))
        .where(HelpRequest.status == "matched")
        .group_by(col(HelpRequest.helper_id))
        .subquery()
    )
    fits = exists().where(
        col(MemberCategory.member_id) == Member.id,
        col(MemberCategory.category_id) == request.category_id,
    )
    responded = exists().where(
        col(RequestResponse.request_id) == request.id, col(RequestResponse.helper_id) == Member.id
    )
    same_district: Any = (
        Member.district_id == request.district_id if request.district_id else false()
    )
    fit_flag = case((fits, 1), else_=0)
    district_flag = case((same_district, 1), else_=0)
    open_count = func.coalesce(commitments.c.open, 0)
    recent = func.coalesce(given.c.minutes, 0)
    return (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to 4 columns
            Member.id,
            Member.name,
            District.name,
            Member.availability,
            fit_flag,
            district_flag,
            open_count,
            recent,
        )
        .outerjoin(District, District.id == Member.district_id)
        .outerjoin(given, given.c.giver_id == Member.id)
        .outerjoin(commitments, commitments.c.helper_id == Member.id)
        .where(
            col(Member.active).is_(True),
            col(Member.role).in_(HELPER_ROLES),
            Member.id != request.member_id,
            ~responded,
            or_(fits, same_district),
        )
        .order_by(
            fit_flag.desc(),
            district_flag.desc(),
            open_count,
            recent,
            Member.name,
            Member.id,
        )
        .limit(min(max(1, limit), MAX_PER_PAGE))
    )


async def matching(
    session: AsyncSession,
    actor: Member,
    *,
    page: int = 1,
    per_page: int = 10,
    per_request: int = 5,
    today: date | None = None,
) -> Page[tuple[RequestCard, list[Suggestion]]]:
    """The manager's matching page: open requests (most urgent, then oldest first), each
    with its ranked suggested helpers (see ``suggested_helpers``). One ranking query per
    request on the page, never one per member."""
    access.require_manager(actor)
    today = today or await network.today(session)
    page, per_page = _paging(page, per_page)
    condition = _still_open(today)
    total = await session.scalar(select(func.count()).select_from(HelpRequest).where(condition))
    urgency_rank = case({"high": 0, "normal": 1, "low": 2}, value=HelpRequest.urgency)
    rows = await session.exec(
        _request_cards()
        .where(condition)
        .order_by(urgency_rank, col(HelpRequest.created_at), col(HelpRequest.id))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    cards = [_to_request_card(r) for r in rows.all()]
    items = []
    for card in cards:
        ranked = await session.exec(_ranking_query(card.request, limit=per_request, today=today))
        items.append((card, [_suggestion(row) for row in ranked.all()]))
    return Page(items, total or 0, page, per_page)
