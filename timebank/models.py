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
# The town's time zone until the network sets its own (network_settings.timezone).
DEFAULT_TIMEZONE = "Europe/Berlin"
ACCOUNT_KINDS = ("member", "organization", "pool")
EXCHANGE_STATUSES = ("pending", "confirmed", "rejected", "reversed")
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


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(default="welfare", max_length=40)
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
    active: bool = Field(default=True)
    joined_on: date = Field(default_factory=date.today)
    password_hash: str | None = Field(default=None, max_length=255)
    # Free text a helper offers: "weekday mornings", "not on Fridays".
    availability: str | None = Field(default=None, max_length=200)
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

    Its status changes (pending → confirmed/rejected, confirmed → reversed); the hours
    themselves live only in the append-only ``transfers``.
    """

    __tablename__ = "exchanges"
    __table_args__ = (
        _check_in("status", EXCHANGE_STATUSES, "ck_exchanges_status"),
        sa.CheckConstraint("minutes > 0 AND minutes <= 1440", name="ck_exchanges_minutes"),
        sa.CheckConstraint("giver_id <> receiver_id", name="ck_exchanges_two_people"),
        sa.UniqueConstraint("entered_by_id", "idempotency_key", name="uq_exchanges_idempotency"),
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
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


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
EMAIL_STATUSES = ("none", "pending", "retry", "sent", "failed")


class NetworkSettings(SQLModel, table=True):
    """The network's one row of job settings: schedules, review thresholds, reminder policy.

    Schedules are cron expressions (five fields, or six with leading seconds) in ``timezone``;
    all amounts are minutes. The first migration of the scheduler seeds the defaults.
    """

    __tablename__ = "network_settings"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="ck_network_settings_single_row"),
        _check_in("unconfirmed_action", UNCONFIRMED_ACTIONS, "ck_network_settings_action"),
    )

    id: int = Field(default=1, primary_key=True)
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=60)
    review_cron: str = Field(default="30 2 * * *", max_length=100)
    unconfirmed_cron: str = Field(default="0 9 * * *", max_length=100)
    unanswered_cron: str = Field(default="5 9 * * *", max_length=100)
    expiry_cron: str = Field(default="15 0 * * *", max_length=100)
    digest_cron: str = Field(default="0 7 * * 1", max_length=100)
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
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id")
    kind: str = Field(max_length=40)
    key: str | None = Field(default=None, max_length=200, unique=True)
    subject: str = Field(max_length=300)
    body: str = Field(max_length=8000)
    link: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    email_status: str = Field(default="none", max_length=10)
    email_attempts: int = Field(default=0)
    email_last_error: str | None = Field(default=None, max_length=1000)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    email_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
