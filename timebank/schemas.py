"""The JSON API's input and output schemas (the tables are in ``timebank.models``).

Input schemas check shape, type and bounds (a wrong one is a 400 naming the field): ids and
numbers PostgreSQL can hold, minutes of one exchange 1–1440, text no longer than its column
and without NUL characters, dates written as ``YYYY-MM-DD``, no unknown fields. The OpenAPI
schema shows exactly these bounds. The rules (no future date, enough balance, ...) live in
the domain functions, which answer 422 naming the field.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

import annotated_types
import pydantic
from sqlmodel import Field, SQLModel

from timebank.exchanges import MAX_KEY, MAX_MINUTES
from timebank.models import (
    Category,
    Dispute,
    District,
    Exchange,
    Member,
    Organization,
    Transfer,
)

# PostgreSQL integers are 32-bit: bounding ids and amounts here turns an absurd number into
# a clear 400 instead of a database error.
MAX_INT = 2_147_483_647
# How deeply a JSON body may nest. Every input here is a flat object; the bound keeps a
# hostile body (10,000 nested brackets) from reaching the parser at all.
MAX_JSON_DEPTH = 32
# A password has no column (only its hash is stored); the bound keeps hashing cheap.
MAX_PASSWORD = 200


def column_length(model: type[SQLModel], name: str) -> int:
    """The length of a text column, as models.py declares it: the API and the forms refuse
    longer text before the database would fail on it."""
    for meta in model.model_fields[name].metadata:
        if isinstance(meta, annotated_types.MaxLen):
            return meta.max_length
    raise LookupError(f"{model.__name__}.{name} has no maximum length")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests arrays and objects deeper than ``limit``. A plain scan of
    the bytes, so it is safe on any input: brackets inside strings do not count."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


# The validators' English is not shown as it is: web/errors.py reads each report by its key
# words ("whole number", "date", "NUL") into a sentence in the caller's language, so keep
# them (tests/test_schemas.py checks that every message here is read).


def _whole_number(value: object) -> object:
    # JSON true, 60.0 or "60" is not a number of minutes. A validator rather than
    # pydantic's strict mode, which the web framework switches off when it validates.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _plain_date(value: object) -> object:
    # Lax validation would take "2026-03-31T00:00:00" (a datetime) or a number of seconds
    # as a date; a day of help is written as a day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _PLAIN_DATE.fullmatch(value):
        raise ValueError("must be a date like 2026-03-31")
    return value


ApiId = Annotated[int, pydantic.Field(ge=1, le=MAX_INT), pydantic.BeforeValidator(_whole_number)]
ApiMinutes = Annotated[
    int, pydantic.Field(ge=-MAX_INT, le=MAX_INT), pydantic.BeforeValidator(_whole_number)
]
# One exchange: 1 minute to 24 hours (the domain's rule, stated where the schema shows it).
ExchangeMinutes = Annotated[
    int, pydantic.Field(ge=1, le=MAX_MINUTES), pydantic.BeforeValidator(_whole_number)
]
ApiDate = Annotated[date, pydantic.BeforeValidator(_plain_date)]


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL characters in text; refuse them before they get there.
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


ApiText = Annotated[str, pydantic.AfterValidator(_no_nul)]

# Text lengths: the columns the values end up in.
NAME = column_length(Member, "name")
ROLE = column_length(Member, "role")
EMAIL = column_length(Member, "email")
PHONE = column_length(Member, "phone")
LANGUAGE = column_length(Member, "language")
DISTRICT = column_length(District, "name")
CATEGORY = column_length(Category, "slug")
NOTE = column_length(Exchange, "note")
REASON = column_length(Transfer, "reason")
OVERRIDE_REASON = column_length(Transfer, "override_reason")


class ApiInput(SQLModel):
    # A misspelt field is an error, not silently ignored. (A plain dict: SQLModel types
    # model_config as its own SQLModelConfig, which pydantic.ConfigDict is not.)
    model_config = {"extra": "forbid"}


class ErrorOut(SQLModel):
    """Every error the API returns."""

    status_code: int
    code: str = Field(description="stable: validation, not_found, forbidden, balance_limit, ...")
    detail: str
    field: str | None = Field(default=None, description="the input at fault, when there is one")


class MeOut(SQLModel):
    id: int
    name: str
    role: str
    account_id: int
    balance_minutes: int


class MemberIn(ApiInput):
    name: ApiText = Field(max_length=NAME)
    role: ApiText = Field(max_length=ROLE, description="volunteer, senior, professional or manager")
    email: ApiText | None = Field(default=None, max_length=EMAIL)
    phone: ApiText | None = Field(default=None, max_length=PHONE)
    password: ApiText | None = Field(
        default=None, max_length=MAX_PASSWORD, description="at least 8 characters"
    )
    organization_id: ApiId | None = Field(default=None, description="required for professionals")
    district: ApiText | None = Field(
        default=None, max_length=DISTRICT, description="a district's name or id"
    )
    language: ApiText = Field(default="de", max_length=LANGUAGE, description="de, en, tr, ru or ar")


class MemberOut(SQLModel):
    id: int
    account_id: int
    name: str
    role: str
    email: str | None
    phone: str | None
    organization_id: int | None
    district_id: int | None
    language: str
    active: bool
    joined_on: date


class AccountOut(SQLModel):
    id: int
    kind: str
    member_id: int | None
    organization_id: int | None
    balance_minutes: int
    min_minutes: int | None = Field(description="effective minimum (None: unbounded)")
    max_minutes: int | None = Field(description="effective maximum (None: unbounded)")
    own_min_minutes: int | None = Field(description="this account's override, else None")
    own_max_minutes: int | None = Field(description="this account's override, else None")


class AccountLimitsIn(ApiInput):
    """Set an account's own limits. A field left out stays as it is; null returns that side
    to the network default of the account's holder."""

    min_minutes: ApiMinutes | None = None
    max_minutes: ApiMinutes | None = None


class StatementLineOut(SQLModel):
    transfer_id: int
    created_at: datetime
    kind: str
    minutes: int = Field(description="positive: received; negative: paid")
    balance_after: int
    other_account_id: int
    exchange_id: int | None
    reason: str | None
    actor_id: int | None
    override_reason: str | None = Field(description="set when a manager overrode a limit")
    reverses_id: int | None
    assisted: bool = Field(description="the exchange was entered by staff for the member")
    paid_by_pool: bool


class StatementOut(SQLModel):
    account_id: int
    balance_minutes: int
    lines: list[StatementLineOut]
    next_before_id: int | None = Field(description="pass as before_id for the next page")


class ExchangeIn(ApiInput):
    giver_id: ApiId
    receiver_id: ApiId
    minutes: ExchangeMinutes = Field(description="1 to 1440")
    performed_on: ApiDate = Field(
        description="YYYY-MM-DD; not in the future, and not more than a year back"
    )
    category: ApiText = Field(
        max_length=CATEGORY, description="a category slug, e.g. shopping, visits"
    )
    note: ApiText | None = Field(default=None, max_length=NOTE)
    idempotency_key: ApiText | None = Field(
        default=None,
        max_length=MAX_KEY,
        description=(
            "a retry with the same key and the same body returns the first result; "
            "the same key with a different body is a 409 `idempotency_conflict`"
        ),
    )
    override_reason: ApiText | None = Field(
        default=None,
        max_length=OVERRIDE_REASON,
        description="manager only: book an assisted entry beyond a limit",
    )


# --- Disputes (issue 9, point 4) ---------------------------------------------------------------

DISPUTE_NOTE = column_length(Dispute, "note")
DISPUTE_WHY = "did_not_happen, length (give `minutes`) or other (give `reason`)"


class DisputeOut(SQLModel):
    id: int
    why: str = Field(description=DISPUTE_WHY)
    entered_minutes: int = Field(description="the length as it was entered")
    proposed_minutes: int | None = Field(description="the length the receiver gave")
    note: str | None
    opened_by_id: int
    opened_at: datetime
    outcome: str | None = Field(
        description="null while open; accepted (by the giver), confirmed, corrected, "
        "rejected (by the network manager) or withdrawn (by the receiver)"
    )
    settled_minutes: int | None
    settled_by_id: int | None
    settled_at: datetime | None
    settlement_note: str | None


class ExchangeOut(SQLModel):
    id: int
    status: str = Field(
        description="pending, confirmed, rejected, reversed, disputed (the receiver says it "
        "is not right: see `dispute`), or held: confirmed, but beyond "
        "a balance limit, so nothing is booked until the network office settles it"
    )
    giver_id: int
    receiver_id: int
    minutes: int
    performed_on: date
    category: str
    note: str | None
    assisted: bool
    paid_by_pool: bool
    entered_by_id: int
    reject_reason: str | None
    transfer_id: int | None = Field(description="the transfer that booked it, once confirmed")
    dispute: DisputeOut | None = Field(
        default=None, description="the latest dispute about it (`status` disputed while open)"
    )
    settled_as: str | None = Field(
        default=None,
        description="help beyond a limit, as it was booked: pool_cover (the pool's monthly "
        "allowance), pool (the office paid it from the pool), override (the office booked it "
        "with a reason) or to_pool (the giver's account was full: the hours went to the pool)",
    )


class ConfirmIn(ApiInput):
    override_reason: ApiText | None = Field(
        default=None,
        max_length=OVERRIDE_REASON,
        description="manager only: confirm beyond a balance limit, with a reason",
    )


class ReasonIn(ApiInput):
    reason: ApiText = Field(max_length=REASON)


class DisputeIn(ApiInput):
    """Why logged help is not right. A body with only ``reason`` (as before disputes had
    kinds) is ``why: other`` with that text."""

    why: ApiText = Field(default="other", max_length=20, description=DISPUTE_WHY)
    minutes: ExchangeMinutes | None = Field(
        default=None, description="for `why: length`: how long it really took (1 to 1440)"
    )
    reason: ApiText | None = Field(
        default=None,
        max_length=DISPUTE_NOTE,
        description="a few words; needed for `why: other`",
    )


class SettleIn(ApiInput):
    outcome: ApiText = Field(
        max_length=20,
        description="confirmed (as entered), corrected (with `minutes`) or rejected",
    )
    note: ApiText = Field(max_length=DISPUTE_NOTE, description="told to both sides")
    minutes: ExchangeMinutes | None = Field(
        default=None, description="for `outcome: corrected`: the length to book"
    )


class ReverseIn(ReasonIn):
    override_reason: ApiText | None = Field(
        default=None,
        max_length=OVERRIDE_REASON,
        description="needed only when the reversal would take the community pool below zero",
    )


class TransferOut(SQLModel):
    id: int
    from_account_id: int
    to_account_id: int
    minutes: int
    kind: str
    exchange_id: int | None
    reason: str | None
    actor_id: int | None
    override_reason: str | None
    reverses_id: int | None
    from_min_crossed: int | None = Field(
        default=None, description="the paying account's minimum this transfer went below"
    )
    to_max_crossed: int | None = Field(
        default=None, description="the receiving account's maximum this transfer went above"
    )
    created_at: datetime


class DonationIn(ApiInput):
    minutes: ApiMinutes
    idempotency_key: ApiText | None = Field(default=None, max_length=MAX_KEY)


class PoolPaymentIn(ApiInput):
    exchange_id: ApiId


class MismatchOut(SQLModel):
    account_id: int
    cached_minutes: int
    computed_minutes: int


class VerifyOut(SQLModel):
    ok: bool
    accounts: int
    transfers: int
    total_minutes: int = Field(description="sum of all balances; 0 when the books balance")
    mismatches: list[MismatchOut]


# --- Organisations (issue 11) ----------------------------------------------------------------

ORGANIZATION_NAME = column_length(Organization, "name")
CONTACT_PERSON = column_length(Organization, "contact_person")
ADDRESS = column_length(Organization, "address")
ORGANIZATION_KIND = column_length(Organization, "kind")
_KIND_HELP = "welfare, care, city or other"


class OrganizationIn(ApiInput):
    name: ApiText = Field(max_length=ORGANIZATION_NAME)
    kind: ApiText = Field(default="welfare", max_length=ORGANIZATION_KIND, description=_KIND_HELP)
    contact_person: ApiText | None = Field(default=None, max_length=CONTACT_PERSON)
    address: ApiText | None = Field(default=None, max_length=ADDRESS)
    phone: ApiText | None = Field(default=None, max_length=PHONE)
    email: ApiText | None = Field(default=None, max_length=EMAIL)


class OrganizationChangesIn(ApiInput):
    """A field left out stays as it is; null empties an optional one. ``active: false``
    deactivates: refused (409) while the organisation has active staff."""

    name: ApiText | None = Field(default=None, max_length=ORGANIZATION_NAME)
    kind: ApiText | None = Field(default=None, max_length=ORGANIZATION_KIND, description=_KIND_HELP)
    contact_person: ApiText | None = Field(default=None, max_length=CONTACT_PERSON)
    address: ApiText | None = Field(default=None, max_length=ADDRESS)
    phone: ApiText | None = Field(default=None, max_length=PHONE)
    email: ApiText | None = Field(default=None, max_length=EMAIL)
    active: bool | None = None


class OrganizationOut(SQLModel):
    id: int
    account_id: int
    name: str
    kind: str
    contact_person: str | None
    address: str | None
    phone: str | None
    email: str | None
    active: bool
