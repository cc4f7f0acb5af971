"""Disputes with reasons and settlements (issue 9, point 4); a member's best time to call
(issue 9, point 3).

Revision ID: 0008_disputes
Revises: 0007_office
Create Date: 2026-11-25 14:30:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import timebank.models

revision: str = "0008_disputes"
down_revision: str | None = "0007_office"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The exchange statuses after this migration and before it ("held" comes from 0005_held).
_WITH_DISPUTED = ("pending", "confirmed", "rejected", "reversed", "held", "disputed")
_WITHOUT_DISPUTED = ("pending", "confirmed", "rejected", "reversed", "held")


def _status_check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _set_status_check(statuses: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_exchanges_status", "exchanges", type_="check")
        op.create_check_constraint("ck_exchanges_status", "exchanges", _status_check(statuses))
        return
    # SQLite cannot drop a CHECK, and copying the table (a batch migration) would need every
    # transfer's foreign key to let go of it. SQLite documents this way for a change that
    # leaves the stored rows valid (ALTER TABLE, "making other kinds of table schema
    # changes"): the table's CREATE statement is rewritten in place, its CHECK widened.
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'exchanges'"
    ).scalar_one()
    pattern = re.compile(r"CONSTRAINT ck_exchanges_status CHECK \(status IN \([^)]*\)\)")
    if not pattern.search(sql):
        raise RuntimeError("exchanges: the status CHECK was not found")
    new_sql = pattern.sub(f"CONSTRAINT ck_exchanges_status CHECK ({_status_check(statuses)})", sql)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'exchanges'",
        (new_sql,),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.add_column(
        "members",
        sa.Column("best_time_to_call", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("entered_minutes", sa.Integer(), nullable=False),
        sa.Column("proposed_minutes", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", timebank.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("settled_minutes", sa.Integer(), nullable=True),
        sa.Column("settled_by_id", sa.Integer(), nullable=True),
        sa.Column("settled_at", timebank.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("settlement_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.CheckConstraint(
            "reason IN ('did_not_happen', 'length', 'other')", name="ck_disputes_reason"
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN "
            "('accepted', 'confirmed', 'corrected', 'rejected', 'withdrawn')",
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
        sa.ForeignKeyConstraint(["exchange_id"], ["exchanges.id"]),
        sa.ForeignKeyConstraint(["opened_by_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["settled_by_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disputes_exchange_id", "disputes", ["exchange_id"], unique=False)
    op.create_index("ix_disputes_outcome", "disputes", ["outcome"], unique=False)
    op.create_index(
        "uq_disputes_one_open",
        "disputes",
        ["exchange_id"],
        unique=True,
        postgresql_where=sa.text("outcome IS NULL"),
        sqlite_where=sa.text("outcome IS NULL"),
    )
    _set_status_check(_WITH_DISPUTED)


def downgrade() -> None:
    # A disputed exchange goes back to waiting for its receiver, as a withdrawn dispute does.
    op.execute("UPDATE exchanges SET status = 'pending' WHERE status = 'disputed'")
    _set_status_check(_WITHOUT_DISPUTED)
    op.drop_index("uq_disputes_one_open", table_name="disputes")
    op.drop_index("ix_disputes_outcome", table_name="disputes")
    op.drop_index("ix_disputes_exchange_id", table_name="disputes")
    op.drop_table("disputes")
    op.drop_column("members", "best_time_to_call")
