"""The JSON API's input and output schemas (the tables are in ``timebank.models``).

Input schemas only check shape and type (a wrong one is a 400); the rules (at most 24 h, no
future date, ...) live in the domain functions, which answer 422 naming the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import pydantic
from sqlmodel import Field, SQLModel

# PostgreSQL integers are 32-bit: bounding ids and amounts here turns an absurd number into
# a clear 400 instead of a database error.
MAX_INT = 2_147_483_647


def _whole_number(value: object) -> object:
    # JSON true, 60.0 or "60" is not a number of minutes. A validator rather than
    # pydantic's strict mode, which the web framework switches off when it validates.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


ApiId = Annotated[int, pydantic.Field(ge=1, le=MAX_INT), pydantic.BeforeValidator(_whole_number)]
ApiMinutes = Annotated[
    int, pydantic.Field(ge=-MAX_INT, le=MAX_INT), pydantic.BeforeValidator(_whole_number)
]


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL characters in text; refuse them before they get there.
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


ApiText = Annotated[str, pydantic.AfterValidator(_no_nul)]


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
    name: ApiText
    role: ApiText = Field(description="volunteer, senior, professional or manager")
    email: ApiText | None = None
    phone: ApiText | None = None
    password: ApiText | None = Field(default=None, description="at least 8 characters")
    organization_id: ApiId | None = Field(default=None, description="required for professionals")
    district: ApiText | None = Field(default=None, description="a district's name or id")
    language: ApiText = Field(default="de", description="de, en, tr, ru or ar")


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
    minutes: ApiMinutes = Field(description="1 to 1440")
    performed_on: date = Field(description="not in the future")
    category: ApiText = Field(description="a category slug, e.g. shopping, visits")
    note: ApiText | None = None
    idempotency_key: ApiText | None = Field(
        default=None, description="a retry with the same key returns the first result"
    )
    override_reason: ApiText | None = Field(
        default=None, description="manager only: book an assisted entry beyond a limit"
    )


class ExchangeOut(SQLModel):
    id: int
    status: str
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


class ConfirmIn(ApiInput):
    override_reason: ApiText | None = Field(
        default=None, description="manager only: confirm beyond a balance limit, with a reason"
    )


class ReasonIn(ApiInput):
    reason: ApiText


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
    created_at: datetime


class DonationIn(ApiInput):
    minutes: ApiMinutes
    idempotency_key: ApiText | None = None


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
