"""Core schema: members, accounts, exchanges, the append-only ledger, the board, sign-in.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-24 22:12:40.020763
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001_core"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The ledger is append-only: the database itself refuses to change or remove a transfer.
_PG_APPEND_ONLY = (
    """
CREATE FUNCTION transfers_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'transfers are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers "
    "FOR EACH ROW EXECUTE FUNCTION transfers_append_only()",
    "CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers "
    "FOR EACH ROW EXECUTE FUNCTION transfers_append_only()",
    "CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers "
    "FOR EACH STATEMENT EXECUTE FUNCTION transfers_append_only()",
)
_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers "
    "BEGIN SELECT RAISE(ABORT, 'transfers are append-only: UPDATE refused'); END",
    "CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers "
    "BEGIN SELECT RAISE(ABORT, 'transfers are append-only: DELETE refused'); END",
)

CATEGORIES = [
    ("shopping", "Einkaufen", "Shopping"),
    ("accompaniment", "Begleitung zu Terminen", "Accompaniment to appointments"),
    ("visits", "Besuche und Gespräche", "Visits and conversation"),
    ("household", "Haushalt", "Household"),
    ("garden", "Garten", "Garden"),
    ("forms", "Formulare und Briefe", "Forms and letters"),
    ("tech", "Telefon und Computer", "Phone and computer"),
    ("transport", "Fahrdienst", "Transport"),
    ("translation", "Übersetzen", "Translation"),
    ("other", "Sonstiges", "Other"),
]
# Minutes; None is unbounded. Everyone may owe up to 20 h and hold up to 100 h; the pool
# can never pay out hours it does not have.
LIMIT_DEFAULTS = [
    ("volunteer", -20 * 60, 100 * 60),
    ("senior", -20 * 60, 100 * 60),
    ("professional", -20 * 60, 100 * 60),
    ("manager", -20 * 60, 100 * 60),
    ("organization", -20 * 60, None),
    ("pool", 0, None),
]


def _seed() -> None:
    categories = sa.table(
        "categories",
        sa.column("slug", sa.String),
        sa.column("name_de", sa.String),
        sa.column("name_en", sa.String),
        sa.column("position", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        categories,
        [
            {"slug": slug, "name_de": de, "name_en": en, "position": i, "active": True}
            for i, (slug, de, en) in enumerate(CATEGORIES)
        ],
    )
    limits = sa.table(
        "limit_defaults",
        sa.column("holder", sa.String),
        sa.column("min_minutes", sa.Integer),
        sa.column("max_minutes", sa.Integer),
    )
    op.bulk_insert(
        limits,
        [{"holder": h, "min_minutes": lo, "max_minutes": hi} for h, lo, hi in LIMIT_DEFAULTS],
    )
    # The community pool (Solidaritätskonto): exactly one account of kind 'pool'.
    op.execute(
        "INSERT INTO accounts (kind, balance_minutes, created_at) "
        "VALUES ('pool', 0, CURRENT_TIMESTAMP)"
    )


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name_de", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "districts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "limit_defaults",
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("min_minutes", sa.Integer(), nullable=True),
        sa.Column("max_minutes", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "holder IN ('volunteer', 'senior', 'professional', 'manager', 'organization', 'pool')",
            name="ck_limit_defaults_holder",
        ),
        sa.PrimaryKeyConstraint("holder"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_key_at", ["key", "attempted_at"], unique=False)

    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("availability", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "language IN ('de', 'en', 'tr', 'ru', 'ar')", name="ck_members_language"
        ),
        sa.CheckConstraint(
            "role IN ('volunteer', 'senior', 'professional', 'manager')", name="ck_members_role"
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_district_id"), ["district_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_members_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_members_role"), ["role"], unique=False)
        # Keyset paging of the manager's directory (timebank.directory).
        batch_op.create_index("ix_members_name_id", ["name", "id"], unique=False)
        batch_op.create_index("ix_members_joined_on_id", ["joined_on", "id"], unique=False)

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("balance_minutes", sa.Integer(), nullable=False),
        sa.Column("min_minutes", sa.Integer(), nullable=True),
        sa.Column("max_minutes", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'member' AND member_id IS NOT NULL AND organization_id IS NULL) OR (kind = 'organization' AND organization_id IS NOT NULL AND member_id IS NULL) OR (kind = 'pool' AND member_id IS NULL AND organization_id IS NULL)",
            name="ck_accounts_owner",
        ),
        sa.CheckConstraint("kind IN ('member', 'organization', 'pool')", name="ck_accounts_kind"),
        sa.CheckConstraint(
            "min_minutes IS NULL OR max_minutes IS NULL OR min_minutes <= max_minutes",
            name="ck_accounts_limits_order",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id"),
        sa.UniqueConstraint("organization_id"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_accounts_balance_member", ["balance_minutes", "member_id"], unique=False
        )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_member_id"), ["member_id"], unique=False)

    op.create_table(
        "help_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("needed_on", sa.Date(), nullable=True),
        sa.Column("when_text", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("urgency", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("helper_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'matched', 'closed', 'expired')", name="ck_help_requests_status"
        ),
        sa.CheckConstraint("urgency IN ('low', 'normal', 'high')", name="ck_help_requests_urgency"),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["helper_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_help_requests_category_id"), ["category_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_help_requests_district_id"), ["district_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_help_requests_expires_on"), ["expires_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_help_requests_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_help_requests_status"), ["status"], unique=False)

    op.create_table(
        "member_categories",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("member_id", "category_id"),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed', 'expired')", name="ck_offers_status"),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_district_id"), ["district_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_expires_on"), ["expires_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_status"), ["status"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_web_sessions_member_id"), ["member_id"], unique=False)

    op.create_table(
        "exchanges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("giver_id", sa.Integer(), nullable=False),
        sa.Column("receiver_id", sa.Integer(), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column("assisted", sa.Boolean(), nullable=False),
        sa.Column("paid_by_pool", sa.Boolean(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'rejected', 'reversed')", name="ck_exchanges_status"
        ),
        sa.CheckConstraint("giver_id <> receiver_id", name="ck_exchanges_two_people"),
        sa.CheckConstraint("minutes > 0 AND minutes <= 1440", name="ck_exchanges_minutes"),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["giver_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receiver_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["help_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entered_by_id", "idempotency_key", name="uq_exchanges_idempotency"),
    )
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchanges_giver_id"), ["giver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchanges_receiver_id"), ["receiver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchanges_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchanges_status"), ["status"], unique=False)

    op.create_table(
        "request_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("helper_id", sa.Integer(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["helper_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["help_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "helper_id", name="uq_responses_once"),
    )
    with op.batch_alter_table("request_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_responses_helper_id"), ["helper_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_request_responses_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_account_id", sa.Integer(), nullable=False),
        sa.Column("to_account_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("override_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("from_balance_after", sa.Integer(), nullable=False),
        sa.Column("to_balance_after", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name="ck_transfers_reversal"
        ),
        sa.CheckConstraint(
            "kind IN ('exchange', 'donation', 'pool_payment', 'reversal', 'adjustment')",
            name="ck_transfers_kind",
        ),
        sa.CheckConstraint("from_account_id <> to_account_id", name="ck_transfers_two_accounts"),
        sa.CheckConstraint("minutes > 0", name="ck_transfers_minutes_positive"),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
        ),
        sa.ForeignKeyConstraint(
            ["from_account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["transfers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("reverses_id"),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index("ix_transfers_from_account", ["from_account_id", "id"], unique=False)
        batch_op.create_index("ix_transfers_to_account", ["to_account_id", "id"], unique=False)
        batch_op.create_index(
            "uq_transfers_exchange_booked",
            ["exchange_id"],
            unique=True,
            postgresql_where=sa.text("reverses_id IS NULL"),
            sqlite_where=sa.text("reverses_id IS NULL"),
        )
    # Only one pool account can exist.
    op.create_index(
        "uq_accounts_single_pool",
        "accounts",
        ["kind"],
        unique=True,
        postgresql_where=sa.text("kind = 'pool'"),
        sqlite_where=sa.text("kind = 'pool'"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _PG_APPEND_ONLY if postgres else _SQLITE_APPEND_ONLY:
        op.execute(statement)
    _seed()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER transfers_no_truncate ON transfers")
        op.execute("DROP TRIGGER transfers_no_delete ON transfers")
        op.execute("DROP TRIGGER transfers_no_update ON transfers")
        op.execute("DROP FUNCTION transfers_append_only()")
    else:
        op.execute("DROP TRIGGER transfers_no_delete")
        op.execute("DROP TRIGGER transfers_no_update")
    op.drop_index("uq_accounts_single_pool", table_name="accounts")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_transfers_exchange_booked",
            postgresql_where=sa.text("reverses_id IS NULL"),
            sqlite_where=sa.text("reverses_id IS NULL"),
        )
        batch_op.drop_index("ix_transfers_to_account")
        batch_op.drop_index("ix_transfers_from_account")

    op.drop_table("transfers")
    with op.batch_alter_table("request_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_responses_request_id"))
        batch_op.drop_index(batch_op.f("ix_request_responses_helper_id"))

    op.drop_table("request_responses")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchanges_status"))
        batch_op.drop_index(batch_op.f("ix_exchanges_request_id"))
        batch_op.drop_index(batch_op.f("ix_exchanges_receiver_id"))
        batch_op.drop_index(batch_op.f("ix_exchanges_giver_id"))

    op.drop_table("exchanges")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_member_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_expires_at"))

    op.drop_table("web_sessions")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_status"))
        batch_op.drop_index(batch_op.f("ix_offers_member_id"))
        batch_op.drop_index(batch_op.f("ix_offers_expires_on"))
        batch_op.drop_index(batch_op.f("ix_offers_district_id"))
        batch_op.drop_index(batch_op.f("ix_offers_category_id"))

    op.drop_table("offers")
    op.drop_table("member_categories")
    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_requests_status"))
        batch_op.drop_index(batch_op.f("ix_help_requests_member_id"))
        batch_op.drop_index(batch_op.f("ix_help_requests_expires_on"))
        batch_op.drop_index(batch_op.f("ix_help_requests_district_id"))
        batch_op.drop_index(batch_op.f("ix_help_requests_category_id"))

    op.drop_table("help_requests")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_member_id"))

    op.drop_table("api_tokens")
    op.drop_table("accounts")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_role"))
        batch_op.drop_index(batch_op.f("ix_members_organization_id"))
        batch_op.drop_index(batch_op.f("ix_members_district_id"))

    op.drop_table("members")
    op.drop_table("organizations")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key_at")

    op.drop_table("login_attempts")
    op.drop_table("limit_defaults")
    op.drop_table("districts")
    op.drop_table("categories")
