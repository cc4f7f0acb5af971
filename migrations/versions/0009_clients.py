"""Staff and their clients, paper consent (issue 9, points 5 and 6).

Revision ID: 0009_clients
Revises: 0008_disputes
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0009_clients"
down_revision: str | None = "0008_disputes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_CONSENT = "consent_how IS NULL OR consent_how IN ('paper', 'online')"
_TAKEN = "offer_id IS NOT NULL AND status IN ('open', 'matched')"


def upgrade() -> None:
    # Consent recorded for a member added by staff (when, by whom, how), and the offer a
    # request took up. Plain ALTERs on SQLite too (no batch copies): SQLite adds a column with
    # its REFERENCES and CHECK inline, never a constraint on its own.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE members ADD COLUMN consent_at DATETIME")
        op.execute("ALTER TABLE members ADD COLUMN consent_by_id INTEGER REFERENCES members (id)")
        op.execute(
            "ALTER TABLE members ADD COLUMN consent_how VARCHAR(10) "
            f"CONSTRAINT ck_members_consent_how CHECK ({_CONSENT})"
        )
        op.execute("ALTER TABLE help_requests ADD COLUMN offer_id INTEGER REFERENCES offers (id)")
    else:
        op.add_column("members", sa.Column("consent_at", sa.DateTime(timezone=True)))
        op.add_column(
            "members", sa.Column("consent_by_id", sa.Integer(), sa.ForeignKey("members.id"))
        )
        op.add_column("members", sa.Column("consent_how", sa.String(length=10)))
        op.create_check_constraint("ck_members_consent_how", "members", _CONSENT)
        op.add_column(
            "help_requests", sa.Column("offer_id", sa.Integer(), sa.ForeignKey("offers.id"))
        )
    op.create_index("ix_help_requests_offer_id", "help_requests", ["offer_id"])
    op.create_index(
        "uq_help_requests_offer_taken",
        "help_requests",
        ["offer_id", "member_id"],
        unique=True,
        postgresql_where=sa.text(_TAKEN),
        sqlite_where=sa.text(_TAKEN),
    )


def downgrade() -> None:
    op.drop_index("uq_help_requests_offer_taken", table_name="help_requests")
    op.drop_index("ix_help_requests_offer_id", table_name="help_requests")
    columns = (
        ("help_requests", "offer_id"),
        ("members", "consent_how"),
        ("members", "consent_by_id"),
        ("members", "consent_at"),
    )
    for table, column in columns:
        # A plain DROP COLUMN on SQLite (3.35+) too, which takes the column's own REFERENCES
        # and CHECK with it: a batch copy of members would trip the foreign keys pointing at
        # it, which no migration may switch off inside its transaction.
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
