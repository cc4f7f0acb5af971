"""Organisations, exports and audit (issue 11).

Revision ID: 0012_organisations
Revises: 0011_aggregates
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_organisations"
down_revision: str | None = "0011_aggregates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The kinds of organisation (timebank.models.ORGANIZATION_KINDS).
_KINDS = "kind IN ('welfare', 'care', 'city', 'other')"
_ACTIONS = "action IN ('export', 'login_sheet', 'erasure', 'personal_export')"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    # Contact details of an organisation, and whether it is still active.
    op.add_column("organizations", sa.Column("contact_person", _text(200), nullable=True))
    op.add_column("organizations", sa.Column("address", _text(500), nullable=True))
    op.add_column("organizations", sa.Column("phone", _text(60), nullable=True))
    op.add_column("organizations", sa.Column("email", _text(254), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a CHECK only with a column (no batch copy of a table other tables point
        # at); a column's own CHECK may name another column.
        op.execute(
            "ALTER TABLE organizations ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1 "
            f"CONSTRAINT ck_organizations_kind CHECK ({_KINDS})"
        )
    else:
        op.add_column(
            "organizations",
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        )
        op.create_check_constraint("ck_organizations_kind", "organizations", _KINDS)

    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", _text(20), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.CheckConstraint(_ACTIONS, name="ck_audit_entries_action"),
        sa.ForeignKeyConstraint(["actor_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_entries_created_id", "audit_entries", ["created_at", "id"])
    op.create_index("ix_audit_entries_actor_id", "audit_entries", ["actor_id"])
    op.create_index("ix_audit_entries_member_id", "audit_entries", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_member_id", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor_id", table_name="audit_entries")
    op.drop_index("ix_audit_entries_created_id", table_name="audit_entries")
    op.drop_table("audit_entries")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_organizations_kind", "organizations", type_="check")
    # On SQLite the kind's CHECK goes with the column that carries it.
    op.drop_column("organizations", "active")
    op.drop_column("organizations", "email")
    op.drop_column("organizations", "phone")
    op.drop_column("organizations", "address")
    op.drop_column("organizations", "contact_person")
