"""Every table of timebank (the API's schemas are in ``timebank.schemas``).

The Alembic migrations are the only source of the real schema; ``tests/test_migrations.py``
checks that these models and the migrated database agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

ROLES = ("volunteer", "senior", "professional", "manager")
STAFF_ROLES = ("professional", "manager")
LANGUAGES = ("de", "en", "tr", "ru", "ar")
# How a member with an email address wants their notices: each one, a daily summary, none.
EMAIL_NOTICES = ("each", "daily", "none")
# The town's time zone until the network sets its own (network_settings.timezone).
DEFAULT_TIMEZONE = "Europe/Berlin"
ACCOUNT_KINDS = ("member", "organization", "pool")
# "disputed": the receiver said it was not right; a Dispute row says why, until settled.
# "held": confirmed, but booking it would cross a balance limit, so nothing is booked until
# the network office settles it (timebank.held; issue 9, point 1).
EXCHANGE_STATUSES = ("pending", "confirmed", "rejected", "reversed", "held", "disputed")
# Which limit held an exchange: the receiver's minimum or the giver's maximum.
HELD_FOR = ("minimum", "maximum")
# How help beyond a limit was booked after all: the pool covered it by the network's
# monthly allowance, the office paid it from the pool or booked it with an override
# reason, or the hours went to the pool because the giver's account was full.
SETTLEMENTS = ("pool_cover", "pool", "override", "to_pool")
# What confirming does when the giver's account would go above its maximum.
GIVER_FULL_ACTIONS = ("hold", "pool")
TRANSFER_KINDS = ("exchange", "donation", "pool_payment", "reversal", "adjustment")
# Holders of network-wide default balance limits: one per member role, plus the two
# kinds of account that belong to no member.
LIMIT_HOLDERS = (*ROLES, "organization", "pool")


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Keyed(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _Keyed) -> int:
    """The primary key of a row that was read from the database or flushed to it.

    Tables type ``id`` as optional only because a new row has none before its first flush."""
    if row.id is None:
        raise ValueError(f"this {type(row).__name__} has no id yet: flush it first")
    return row.id


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and handed back as aware UTC, and code never compares naive with aware datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timebank.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check_in(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name)


# --- The network: organisations, districts, categories -------------------------------------


# Welfare associations, care providers, the city's senior office, anyone else (issue 11).
ORGANIZATION_KINDS = ("welfare", "care", "city", "other")


class Organization(SQLModel, table=True):
    """A member organisation: its professionals (staff) act for its clients; it has an
    account of its own. Deactivated, it is kept with its books but offered for no new
    member (``timebank.organizations``)."""

    __tablename__ = "organizations"
    __table_args__ = (_check_in("kind", ORGANIZATION_KINDS, "ck_organizations_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(default="welfare", max_length=40)
    contact_person: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=60)
    email: str | None = Field(default=None, max_length=254)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class District(SQLModel, table=True):
    __tablename__ = "districts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    active: bool = Field(default=True)


class Category(SQLModel, table=True):
    """A kind of help; ``slug`` is the stable name the API uses."""

    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True)
    name_de: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    position: int = Field(default=0)
    active: bool = Field(default=True)


# --- Members and their accounts --------------------------------------------------------------


class Member(SQLModel, table=True):
    __tablename__ = "members"
    __table_args__ = (
        _check_in("role", ROLES, "ck_members_role"),
        _check_in("language", LANGUAGES, "ck_members_language"),
        _check_in("email_notices", EMAIL_NOTICES, "ck_members_email_notices"),
        sa.CheckConstraint(
            "consent_how IS NULL OR consent_how IN ('paper', 'online')",
            name="ck_members_consent_how",
        ),
        # The manager's directory pages through members by keyset in these orders.
        sa.Index("ix_members_name_id", "name", "id"),
        sa.Index("ix_members_joined_on_id", "joined_on", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Stored lower-case; optional because many seniors have no email.
    email: str | None = Field(default=None, max_length=254, unique=True)
    phone: str | None = Field(default=None, max_length=60)
    role: str = Field(max_length=20, index=True)
    organization_id: int | None = Field(default=None, foreign_key="organizations.id", index=True)
    district_id: int | None = Field(default=None, foreign_key="districts.id", index=True)
    language: str = Field(default="de", max_length=5)
    # Notices by email: "each", "daily" (one summary a day) or "none" (timebank.notifications).
    email_notices: str = Field(default="each", max_length=5)
    active: bool = Field(default=True)
    joined_on: date = Field(default_factory=date.today)
    password_hash: str | None = Field(default=None, max_length=255)
    # Free text a helper offers: "weekday mornings", "not on Fridays".
    availability: str | None = Field(default=None, max_length=200)
    # A postal address, for letters to members without email (issue 9, point 2).
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=10)
    town: str | None = Field(default=None, max_length=100)
    # When the member likes to be phoned ("mornings until 11"): shown with their phone to the
    # other side of a matched request only (issue 9, point 3).
    best_time_to_call: str | None = Field(default=None, max_length=200)
    # Consent to keeping their details, for members added by staff without a login: when,
    # by whom, and how it was given (issue 9, point 6; see timebank.clients).
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    consent_by_id: int | None = Field(default=None, foreign_key="members.id")
    consent_how: str | None = Field(default=None, max_length=10)
    # When their personal data was erased (timebank.privacy); the row stays for the books.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def can_log_in(self) -> bool:
        return self.active and bool(self.email) and bool(self.password_hash)


class MemberCategory(SQLModel, table=True):
    """The kinds of help a member likes to give (used to match open requests)."""

    __tablename__ = "member_categories"

    member_id: int = Field(foreign_key="members.id", primary_key=True)
    category_id: int = Field(foreign_key="categories.id", primary_key=True)


class Account(SQLModel, table=True):
    """A time account: one per member, one per organisation, and the community pool.

    ``balance_minutes`` is a cache of the transfers, updated in the same transaction;
    ``min_minutes``/``max_minutes`` override the network default of the holder when set.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        _check_in("kind", ACCOUNT_KINDS, "ck_accounts_kind"),
        sa.CheckConstraint(
            "(kind = 'member' AND member_id IS NOT NULL AND organization_id IS NULL)"
            " OR (kind = 'organization' AND organization_id IS NOT NULL AND member_id IS NULL)"
            " OR (kind = 'pool' AND member_id IS NULL AND organization_id IS NULL)",
            name="ck_accounts_owner",
        ),
        sa.CheckConstraint(
            "min_minutes IS NULL OR max_minutes IS NULL OR min_minutes <= max_minutes",
            name="ck_accounts_limits_order",
        ),
        # The directory's sort by balance (member accounts; member_id breaks ties).
        sa.Index("ix_accounts_balance_member", "balance_minutes", "member_id"),
        sa.Index(
            "uq_accounts_single_pool",
            "kind",
            unique=True,
            postgresql_where=sa.text("kind = 'pool'"),
            sqlite_where=sa.text("kind = 'pool'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    member_id: int | None = Field(default=None, foreign_key="members.id", unique=True)
    organization_id: int | None = Field(default=None, foreign_key="organizations.id", unique=True)
    balance_minutes: int = Field(default=0)
    min_minutes: int | None = Field(default=None)
    max_minutes: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class LimitDefault(SQLModel, table=True):
    """Network-wide balance limits per holder (a role, ``organization`` or ``pool``).

    ``None`` means unbounded on that side.
    """

    __tablename__ = "limit_defaults"
    __table_args__ = (_check_in("holder", LIMIT_HOLDERS, "ck_limit_defaults_holder"),)

    holder: str = Field(max_length=20, primary_key=True)
    min_minutes: int | None = Field(default=None)
    max_minutes: int | None = Field(default=None)


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)


# --- Exchanges and the ledger ----------------------------------------------------------------


class Exchange(SQLModel, table=True):
    """One piece of help: who gave it to whom, when, for how long.

    Its status changes (pending → confirmed/rejected/disputed, disputed → pending/confirmed/
    rejected through ``timebank.disputes``, confirmed → reversed); the hours
    themselves live only in the append-only ``transfers``.
    """

    __tablename__ = "exchanges"
    __table_args__ = (
        _check_in("status", EXCHANGE_STATUSES, "ck_exchanges_status"),
        sa.CheckConstraint("minutes > 0 AND minutes <= 1440", name="ck_exchanges_minutes"),
        sa.CheckConstraint("giver_id <> receiver_id", name="ck_exchanges_two_people"),
        sa.UniqueConstraint("entered_by_id", "idempotency_key", name="uq_exchanges_idempotency"),
        _check_in("held_for", HELD_FOR, "ck_exchanges_held_for"),
        _check_in("settled_as", SETTLEMENTS, "ck_exchanges_settled_as"),
    )

    id: int | None = Field(default=None, primary_key=True)
    giver_id: int = Field(foreign_key="members.id", index=True)
    receiver_id: int = Field(foreign_key="members.id", index=True)
    performed_on: date
    minutes: int
    category_id: int = Field(foreign_key="categories.id")
    note: str | None = Field(default=None, max_length=1000)
    status: str = Field(default="pending", max_length=20, index=True)
    entered_by_id: int = Field(foreign_key="members.id")
    assisted: bool = Field(default=False)
    paid_by_pool: bool = Field(default=False)
    request_id: int | None = Field(default=None, foreign_key="help_requests.id", index=True)
    idempotency_key: str | None = Field(default=None, max_length=100)
    decided_by_id: int | None = Field(default=None, foreign_key="members.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    reject_reason: str | None = Field(default=None, max_length=500)
    # Help beyond a balance limit (timebank.held): which limit held it, and how it was booked.
    held_for: str | None = Field(default=None, max_length=10)
    settled_as: str | None = Field(default=None, max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


DISPUTE_REASONS = ("did_not_happen", "length", "other")
# accepted: the giver took the receiver's length; confirmed / corrected / rejected: the
# manager's settlement; withdrawn: the receiver took the dispute back.
DISPUTE_OUTCOMES = ("accepted", "confirmed", "corrected", "rejected", "withdrawn")


class Dispute(SQLModel, table=True):
    """The receiver's "No, that is not right" about a pending exchange, and how it ended.

    At most one open dispute (``outcome`` NULL) per exchange; a withdrawn one may be
    followed by another. ``entered_minutes`` keeps the length as it was entered, since a
    settlement may correct ``Exchange.minutes`` before it is booked.
    """

    __tablename__ = "disputes"
    __table_args__ = (
        _check_in("reason", DISPUTE_REASONS, "ck_disputes_reason"),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN (" + ", ".join(f"'{o}'" for o in DISPUTE_OUTCOMES) + ")",
            name="ck_disputes_outcome",
        ),
        sa.CheckConstraint(
            "proposed_minutes IS NULL OR (proposed_minutes > 0 AND proposed_minutes <= 1440)",
            name="ck_disputes_proposed_minutes",
        ),
        sa.CheckConstraint(
            "reason <> 'length' OR proposed_minutes IS NOT NULL", name="ck_disputes_length_given"
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (settled_at IS NULL)", name="ck_disputes_settled_when"
        ),
        sa.Index(
            "uq_disputes_one_open",
            "exchange_id",
            unique=True,
            postgresql_where=sa.text("outcome IS NULL"),
            sqlite_where=sa.text("outcome IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    exchange_id: int = Field(foreign_key="exchanges.id", index=True)
    reason: str = Field(max_length=20)
    entered_minutes: int
    proposed_minutes: int | None = Field(default=None)
    note: str | None = Field(default=None, max_length=500)
    opened_by_id: int = Field(foreign_key="members.id")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    outcome: str | None = Field(default=None, max_length=10, index=True)
    settled_minutes: int | None = Field(default=None)
    settled_by_id: int | None = Field(default=None, foreign_key="members.id")
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    settlement_note: str | None = Field(default=None, max_length=500)


class Transfer(SQLModel, table=True):
    """An entry of the ledger: ``minutes`` move from one account to another.

    Never updated or deleted (database triggers refuse it); see ``timebank.ledger``.
    """

    __tablename__ = "transfers"
    __table_args__ = (
        _check_in("kind", TRANSFER_KINDS, "ck_transfers_kind"),
        sa.CheckConstraint("minutes > 0", name="ck_transfers_minutes_positive"),
        sa.CheckConstraint("from_account_id <> to_account_id", name="ck_transfers_two_accounts"),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name="ck_transfers_reversal"
        ),
        # Only a reversal or a manager's override may leave an account beyond a limit, and
        # the limit recorded is one the balance after really is beyond.
        sa.CheckConstraint(
            "(from_min_crossed IS NULL AND to_max_crossed IS NULL)"
            " OR kind = 'reversal' OR override_reason IS NOT NULL",
            name="ck_transfers_crossing_allowed",
        ),
        sa.CheckConstraint(
            "from_min_crossed IS NULL OR from_balance_after < from_min_crossed",
            name="ck_transfers_from_min_crossed",
        ),
        sa.CheckConstraint(
            "to_max_crossed IS NULL OR to_balance_after > to_max_crossed",
            name="ck_transfers_to_max_crossed",
        ),
        # An exchange is booked at most once (its reversal carries the same exchange_id).
        sa.Index(
            "uq_transfers_exchange_booked",
            "exchange_id",
            unique=True,
            postgresql_where=sa.text("reverses_id IS NULL"),
            sqlite_where=sa.text("reverses_id IS NULL"),
        ),
        sa.Index("ix_transfers_from_account", "from_account_id", "id"),
        sa.Index("ix_transfers_to_account", "to_account_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    from_account_id: int = Field(foreign_key="accounts.id")
    to_account_id: int = Field(foreign_key="accounts.id")
    minutes: int
    kind: str = Field(max_length=20)
    exchange_id: int | None = Field(default=None, foreign_key="exchanges.id")
    reason: str | None = Field(default=None, max_length=500)
    # The member who caused this entry; None only for the scheduler acting by network policy.
    actor_id: int | None = Field(default=None, foreign_key="members.id")
    override_reason: str | None = Field(default=None, max_length=500)
    # A transfer is reversed at most once: the unique constraint is the proof.
    reverses_id: int | None = Field(default=None, foreign_key="transfers.id", unique=True)
    idempotency_key: str | None = Field(default=None, max_length=100, unique=True)
    from_balance_after: int
    to_balance_after: int
    # The limit this transfer took an account beyond, if any (minutes): the paying account's
    # minimum, the receiving account's maximum. Only a payer can fall below a minimum and only
    # a payee rise above a maximum, so the side names the account and the limit.
    from_min_crossed: int | None = Field(default=None)
    to_max_crossed: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


# --- The board: help requests, responses, offers (web issue) ----------------------------------

URGENCIES = ("low", "normal", "high")
REQUEST_STATUSES = ("open", "matched", "closed", "expired")


class HelpRequest(SQLModel, table=True):
    """A senior's "I need help", entered by them or by staff for them."""

    __tablename__ = "help_requests"
    __table_args__ = (
        _check_in("status", REQUEST_STATUSES, "ck_help_requests_status"),
        _check_in("urgency", URGENCIES, "ck_help_requests_urgency"),
        # An offer is taken up once per member while that request runs: a double click
        # makes one request (timebank.board.take_up_offer).
        sa.Index(
            "uq_help_requests_offer_taken",
            "offer_id",
            "member_id",
            unique=True,
            postgresql_where=sa.text("offer_id IS NOT NULL AND status IN ('open', 'matched')"),
            sqlite_where=sa.text("offer_id IS NOT NULL AND status IN ('open', 'matched')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    entered_by_id: int = Field(foreign_key="members.id")
    category_id: int = Field(foreign_key="categories.id", index=True)
    district_id: int | None = Field(default=None, foreign_key="districts.id", index=True)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    needed_on: date | None = Field(default=None)
    when_text: str | None = Field(default=None, max_length=200)
    urgency: str = Field(default="normal", max_length=10)
    contact: str | None = Field(default=None, max_length=200)
    status: str = Field(default="open", max_length=10, index=True)
    expires_on: date | None = Field(default=None, index=True)
    helper_id: int | None = Field(default=None, foreign_key="members.id")
    # The offer this request took up ("Das möchte ich"), matched to its helper at once.
    offer_id: int | None = Field(default=None, foreign_key="offers.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)


class RequestResponse(SQLModel, table=True):
    """A helper's "I can help" on a request."""

    __tablename__ = "request_responses"
    __table_args__ = (sa.UniqueConstraint("request_id", "helper_id", name="uq_responses_once"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="help_requests.id", index=True)
    helper_id: int = Field(foreign_key="members.id", index=True)
    message: str | None = Field(default=None, max_length=1000)
    accepted: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class Offer(SQLModel, table=True):
    """A standing offer of help ("I can do small repairs on weekday mornings")."""

    __tablename__ = "offers"
    __table_args__ = (_check_in("status", ("open", "closed", "expired"), "ck_offers_status"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    category_id: int = Field(foreign_key="categories.id", index=True)
    district_id: int | None = Field(default=None, foreign_key="districts.id", index=True)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    status: str = Field(default="open", max_length=10, index=True)
    expires_on: date | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


# --- Sign-in (web issue) --------------------------------------------------------------------


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored,
    so sessions survive restarts and are shared by every app process."""

    __tablename__ = "web_sessions"

    token_hash: str = Field(max_length=64, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    expires_at: datetime = Field(sa_type=UTCDateTime(), index=True)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins of one email from one address (``account`` ``""``: of every email
    from that address). One row per pair, locked while an attempt on it is judged, so that
    parallel guesses are counted one after another (see ``timebank.signin``)."""

    __tablename__ = "login_throttles"
    __table_args__ = (sa.CheckConstraint("failures >= 0", name="ck_login_throttles_failures"),)

    account: str = Field(max_length=254, primary_key=True)
    address: str = Field(max_length=64, primary_key=True)
    # Failures since the last success (or since they were forgiven by time).
    failures: int = Field(default=0)
    # No attempt of this pair is judged before then.
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    last_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    # This email signed in from this address before: a familiar place.
    signed_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


# --- Scheduler and flags (issue 4) ----------------------------------------------------------

# The kinds of flag the balance review opens and clears; the other kinds come from the
# daily follow-ups.
BALANCE_KINDS = ("takes_without_giving", "gives_without_taking", "near_limit", "inactive")
FLAG_KINDS = (*BALANCE_KINDS, "unconfirmed_exchange", "unanswered_request")
FLAG_STATUSES = ("open", "acknowledged", "snoozed", "resolved")
FLAG_RESOLUTIONS = ("review", "manager")
FLAG_ACTIONS = ("open", "acknowledge", "note", "snooze", "wake", "resolve")
JOB_OUTCOMES = ("ok", "failed")
JOB_TRIGGERS = ("schedule", "catch_up", "manual")
UNCONFIRMED_ACTIONS = ("confirm", "flag")
# "daily": waits for the member's daily summary; "summary": in the summary being sent now.
EMAIL_STATUSES = ("none", "pending", "retry", "sent", "failed", "daily", "summary")
# Paper for members without email (issue 9, point 2): a letter is due until the office marks
# it sent; a call is due until the office marks it done.
LETTER_STATUSES = ("none", "due", "sent")
CALL_STATUSES = ("none", "due", "done")


class NetworkSettings(SQLModel, table=True):
    """The network's one row of job settings: schedules, review thresholds, reminder policy.

    Schedules are cron expressions (five fields, or six with leading seconds) in ``timezone``;
    all amounts are minutes. The first migration of the scheduler seeds the defaults.
    """

    __tablename__ = "network_settings"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="ck_network_settings_single_row"),
        _check_in("unconfirmed_action", UNCONFIRMED_ACTIONS, "ck_network_settings_action"),
        _check_in("giver_full_action", GIVER_FULL_ACTIONS, "ck_network_settings_giver_full"),
    )

    id: int = Field(default=1, primary_key=True)
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=60)
    review_cron: str = Field(default="30 2 * * *", max_length=100)
    unconfirmed_cron: str = Field(default="0 9 * * *", max_length=100)
    unanswered_cron: str = Field(default="5 9 * * *", max_length=100)
    expiry_cron: str = Field(default="15 0 * * *", max_length=100)
    digest_cron: str = Field(default="0 7 * * 1", max_length=100)
    # The members' daily summary of notices (those who chose "daily"), in the evening.
    summary_cron: str = Field(default="0 18 * * *", max_length=100)
    # The weekly list of long-inactive members for the office (timebank.privacy).
    retention_cron: str = Field(default="0 6 * * 1", max_length=100)
    # Owners of a request are told this many days before it expires.
    expiry_notice_days: int = Field(default=2)
    # Balance review (window for the ratios, in days).
    review_window_days: int = Field(default=90)
    takes_balance_below: int = Field(default=-600)
    takes_ratio: int = Field(default=4)
    takes_min_received: int = Field(default=300)
    gives_balance_above: int = Field(default=2400)
    gives_ratio: int = Field(default=4)
    gives_min_given: int = Field(default=600)
    near_limit_percent: int = Field(default=10)
    inactive_days: int = Field(default=90)
    # Unconfirmed exchanges and unanswered requests.
    remind_after_days: int = Field(default=3)
    unconfirmed_after_days: int = Field(default=14)
    unconfirmed_action: str = Field(default="flag", max_length=10)
    unanswered_after_days: int = Field(default=3)
    # Help held at a limit (timebank.held): how much the pool covers by itself per member
    # and month (0 = the office decides each), and what a giver's full account does.
    pool_cover_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    giver_full_action: str = Field(
        default="hold", max_length=10, sa_column_kwargs={"server_default": "hold"}
    )
    # How many days back a help date may lie (issue 9, point 8): network.earliest_help_day.
    help_days_back: int = Field(default=90)
    # After how many days without help, booking or sign-in a member is listed for the office
    # to consider erasing their data (DSGVO storage limitation; nothing is erased unasked).
    retention_days: int = Field(default=3 * 365)
    # The network office (issue 9, point 9): its letterhead on every page, letter and sheet
    # (timebank.network.office). Empty means "not given"; the manager fills them in.
    network_name: str = Field(default="Nachbarschafts-Zeitbank", max_length=120)
    office_address: str = Field(default="", max_length=500)
    office_phone: str = Field(default="", max_length=60)
    office_hours: str = Field(default="", max_length=300)
    office_contact: str = Field(default="", max_length=200)
    office_email: str = Field(default="", max_length=254)
    # The legal pages' own text; None shows the default in the reader's language
    # (timebank.office). The privacy text's version is what a consent cites.
    imprint_text: str | None = Field(default=None, max_length=20000)
    privacy_text: str | None = Field(default=None, max_length=20000)
    privacy_version: str = Field(default="2026-11-25", max_length=20)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class ReviewPolicy(SQLModel, table=True):
    """How the balance review treats a role: whether it is reviewed at all, and whether help
    the community pool paid for counts as the receiver's own taking."""

    __tablename__ = "review_policies"
    __table_args__ = (_check_in("role", ROLES, "ck_review_policies_role"),)

    role: str = Field(max_length=20, primary_key=True)
    reviewed: bool = Field(default=True)
    pool_help_counts: bool = Field(default=True)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job. ``(job, scheduled_for)`` is unique: claiming the row is
    what lets exactly one process run a tick."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.UniqueConstraint("job", "scheduled_for", name="uq_job_runs_tick"),
        _check_in("outcome", JOB_OUTCOMES, "ck_job_runs_outcome"),
        _check_in("trigger", JOB_TRIGGERS, "ck_job_runs_trigger"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=40)
    scheduled_for: datetime = Field(sa_type=UTCDateTime())
    trigger: str = Field(default="schedule", max_length=10)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    outcome: str = Field(default="ok", max_length=10)
    counts: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON())
    error: str | None = Field(default=None, max_length=4000)
    # host:pid of the process that ran it, so a take-over is visible in the history.
    runner: str | None = Field(default=None, max_length=200)


class Flag(SQLModel, table=True):
    """Something the manager should look at, with the figures that raised it.

    At most one unresolved flag per member, kind and subject (the partial unique index);
    ``subject_id`` is the exchange or help request the flag is about, 0 for balance flags.
    """

    __tablename__ = "flags"
    __table_args__ = (
        _check_in("kind", FLAG_KINDS, "ck_flags_kind"),
        _check_in("status", FLAG_STATUSES, "ck_flags_status"),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('review', 'manager')", name="ck_flags_resolution"
        ),
        sa.Index(
            "uq_flags_one_open",
            "member_id",
            "kind",
            "subject_id",
            unique=True,
            postgresql_where=sa.text("status <> 'resolved'"),
            sqlite_where=sa.text("status <> 'resolved'"),
        ),
        sa.Index("ix_flags_status_kind", "status", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    kind: str = Field(max_length=30)
    subject_id: int = Field(default=0)
    status: str = Field(default="open", max_length=15)
    # Which part of the rule matched: balance, ratio, min, max, inactive, waiting.
    rule: str | None = Field(default=None, max_length=20)
    balance_minutes: int | None = Field(default=None)
    given_minutes: int | None = Field(default=None)
    received_minutes: int | None = Field(default=None)
    limit_minutes: int | None = Field(default=None)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    district_id: int | None = Field(default=None, foreign_key="districts.id")
    category_id: int | None = Field(default=None, foreign_key="categories.id")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    snoozed_until: date | None = Field(default=None)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    resolution: str | None = Field(default=None, max_length=10)
    resolved_by_id: int | None = Field(default=None, foreign_key="members.id")


class FlagEvent(SQLModel, table=True):
    """The history of a flag: opened, acknowledged, noted, snoozed, woken, resolved.
    ``actor_id`` is None when the review itself acted."""

    __tablename__ = "flag_events"
    __table_args__ = (_check_in("action", FLAG_ACTIONS, "ck_flag_events_action"),)

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flags.id", index=True)
    action: str = Field(max_length=15)
    actor_id: int | None = Field(default=None, foreign_key="members.id")
    note: str | None = Field(default=None, max_length=2000)
    snoozed_until: date | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class Notification(SQLModel, table=True):
    """A message to one member, shown in the app and, when they have an address and SMTP is
    configured, sent by email. Subject and body are already in the member's language.
    ``key`` makes a job's notification idempotent (a re-run does not tell anyone twice)."""

    __tablename__ = "notifications"
    __table_args__ = (
        _check_in("email_status", EMAIL_STATUSES, "ck_notifications_email_status"),
        sa.Index("ix_notifications_member_read", "member_id", "read_at"),
        sa.Index("ix_notifications_email_due", "email_status", "next_attempt_at"),
        _check_in("letter_status", LETTER_STATUSES, "ck_notifications_letter_status"),
        _check_in("call_status", CALL_STATUSES, "ck_notifications_call_status"),
        # The post page reads what is due, member by member.
        sa.Index("ix_notifications_letter_due", "letter_status", "member_id"),
        sa.Index("ix_notifications_call_due", "call_status", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id")
    kind: str = Field(max_length=40)
    key: str | None = Field(default=None, max_length=200, unique=True)
    subject: str = Field(max_length=300)
    body: str = Field(max_length=8000)
    # The language subject and body were written in (the member's when it was written).
    language: str = Field(default="de", max_length=5)
    link: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    email_status: str = Field(default="none", max_length=10)
    email_attempts: int = Field(default=0)
    email_last_error: str | None = Field(default=None, max_length=1000)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    email_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    letter_status: str = Field(default="none", max_length=10)
    letter_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    call_status: str = Field(default="none", max_length=10)
    call_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)


# --- Accountability: the audit log (issue 11) ------------------------------------------------

# What the office did with people's data. A new action is a name here (the CHECK lists them)
# and a line in timebank/audit.py's ACTION_NAMES: "erasure" is a member's data erased (issue
# 11, point 6), "personal_export" a member's own data handed out (access and portability).
AUDIT_ACTIONS = ("export", "login_sheet", "erasure", "personal_export")


class AuditEntry(SQLModel, table=True):
    """One thing done with people's data: who (``actor_id``; None for the operator at the
    command line), when, what (``action``), about whom (``member_id``) and the rest
    (``details``: the export's name and period, ...). Written in the transaction of the
    act itself, so an entry exists exactly when the act happened; never updated."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        _check_in("action", AUDIT_ACTIONS, "ck_audit_entries_action"),
        # The manager's log, newest first, one page at a time.
        sa.Index("ix_audit_entries_created_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    actor_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    action: str = Field(max_length=20)
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    details: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON())


# --- Per-month aggregates of the ledger (issue 11) -------------------------------------------


class AccountMonth(SQLModel, table=True):
    """What one account gave, received and moved in one month, by kind of help: kept exact by
    ``timebank.ledger`` in the transaction of every transfer (one upsert), checked by
    ``ledger.verify``. The dashboard, the reports and the review read these, never the
    transfers.

    ``month`` is the first day of the month of the *help* (the exchange's ``performed_on``)
    for a transfer that books an exchange, else of the booking in the town's time zone; a
    reversal counts negatively in the month and category of what it reverses, so every row
    is what still stands. ``category_id`` is 0 for a transfer without an exchange.

    - ``given_minutes``: help given (credited by an ``exchange`` or ``pool_payment``);
    - ``received_minutes``: help received (debited by an ``exchange``, and on the receiver's
      row the help the pool paid for them), of which ``pool_paid_minutes`` the pool paid;
    - ``credit_minutes`` / ``debit_minutes``: every minute in and out (donations and
      adjustments too), so the rows of an account add up to its balance;
    - ``transfers``: how many transfers the row counts (a reversed one no longer counts).
    """

    __tablename__ = "account_months"
    __table_args__ = (sa.Index("ix_account_months_month", "month"),)

    account_id: int = Field(foreign_key="accounts.id", primary_key=True)
    month: date = Field(primary_key=True)
    # No foreign key: 0 stands for "no kind of help" (a donation, an adjustment).
    category_id: int = Field(default=0, primary_key=True)
    given_minutes: int = Field(default=0, sa_type=sa.BigInteger())
    received_minutes: int = Field(default=0, sa_type=sa.BigInteger())
    pool_paid_minutes: int = Field(default=0, sa_type=sa.BigInteger())
    credit_minutes: int = Field(default=0, sa_type=sa.BigInteger())
    debit_minutes: int = Field(default=0, sa_type=sa.BigInteger())
    transfers: int = Field(default=0)


# --- The front door (issue 11, point 5) ---------------------------------------------------------

INTAKE_KINDS = ("help", "give", "organization")
INTAKE_STATUSES = ("new", "called", "accepted", "declined")


class Intake(SQLModel, table=True):
    """What a visitor without an account sent through ``/join``: they need help, want to
    help, or their organisation wants to take part. The office calls back, then accepts it
    (``member_id`` / ``organization_id`` is what was created) or declines it with a note.
    ``consent_version`` is the privacy text's version they agreed to, at ``created_at``;
    ``sender_hash`` (a keyed hash of their address, never the address) limits how many one
    sender may send."""

    __tablename__ = "intakes"
    __table_args__ = (
        _check_in("kind", INTAKE_KINDS, "ck_intakes_kind"),
        _check_in("status", INTAKE_STATUSES, "ck_intakes_status"),
        sa.Index("ix_intakes_sender_created", "sender_hash", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=15)
    status: str = Field(default="new", max_length=10, index=True)
    name: str = Field(max_length=200)
    organization_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254)
    district_id: int | None = Field(default=None, foreign_key="districts.id")
    language: str = Field(default="de", max_length=5)
    best_time_to_call: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=2000)
    consent_version: str = Field(max_length=20)
    sender_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    called_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    called_by_id: int | None = Field(default=None, foreign_key="members.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    decided_by_id: int | None = Field(default=None, foreign_key="members.id")
    decision_note: str | None = Field(default=None, max_length=1000)
    member_id: int | None = Field(default=None, foreign_key="members.id")
    organization_id: int | None = Field(default=None, foreign_key="organizations.id")
