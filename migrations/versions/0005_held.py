"""Held confirmations and the pool's cover (issue 9, point 1).

Revision ID: 0005_held
Revises: 0004_reversal_limits
Create Date: 2026-11-25 14:30:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_held"
down_revision: str | None = "0004_reversal_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The exchange statuses after this migration and before it.
_WITH_HELD = ("pending", "confirmed", "rejected", "reversed", "held")
_WITHOUT_HELD = ("pending", "confirmed", "rejected", "reversed")
# The checks of the new columns (the model's, timebank.models).
_HELD_FOR = "held_for IN ('minimum', 'maximum')"
_SETTLED_AS = "settled_as IN ('pool_cover', 'pool', 'override', 'to_pool')"
_GIVER_FULL = "giver_full_action IN ('hold', 'pool')"


def _status_check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _set_status_check(statuses: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint("ck_exchanges_status", "exchanges", type_="check")
        op.create_check_constraint("ck_exchanges_status", "exchanges", _status_check(statuses))
        return
    # SQLite cannot drop a CHECK, and copying the table (a batch migration) would need every
    # transfer's foreign key to let go of it. SQLite documents this way for a change that
    # leaves the stored rows valid (ALTER TABLE, "making other kinds of table schema
    # changes"): the table's CREATE statement is rewritten in place. (Going down, the held
    # rows are made pending first, so the narrower check holds too.)
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
    _set_status_check(_WITH_HELD)
    if op.get_bind().dialect.name == "sqlite":
        # Plain ALTER TABLE, no batch copy: a column's own CHECK is allowed in SQLite.
        op.execute(
            "ALTER TABLE exchanges ADD COLUMN held_for VARCHAR(10) "
            f"CONSTRAINT ck_exchanges_held_for CHECK ({_HELD_FOR})"
        )
        op.execute(
            "ALTER TABLE exchanges ADD COLUMN settled_as VARCHAR(12) "
            f"CONSTRAINT ck_exchanges_settled_as CHECK ({_SETTLED_AS})"
        )
        op.execute(
            "ALTER TABLE network_settings ADD COLUMN pool_cover_minutes INTEGER DEFAULT 0 NOT NULL"
        )
        op.execute(
            "ALTER TABLE network_settings ADD COLUMN giver_full_action VARCHAR(10) "
            f"DEFAULT 'hold' NOT NULL CONSTRAINT ck_network_settings_giver_full CHECK ({_GIVER_FULL})"
        )
        return
    op.add_column("exchanges", sa.Column("held_for", sa.String(length=10), nullable=True))
    op.add_column("exchanges", sa.Column("settled_as", sa.String(length=12), nullable=True))
    op.create_check_constraint("ck_exchanges_held_for", "exchanges", _HELD_FOR)
    op.create_check_constraint("ck_exchanges_settled_as", "exchanges", _SETTLED_AS)
    op.add_column(
        "network_settings",
        sa.Column("pool_cover_minutes", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "network_settings",
        sa.Column("giver_full_action", sa.String(length=10), server_default="hold", nullable=False),
    )
    op.create_check_constraint("ck_network_settings_giver_full", "network_settings", _GIVER_FULL)


def downgrade() -> None:
    # Held help was confirmed but never booked: going back, it waits for confirmation again.
    op.execute("UPDATE exchanges SET status = 'pending' WHERE status = 'held'")
    # The constraints go with their columns.
    op.drop_column("network_settings", "giver_full_action")
    op.drop_column("network_settings", "pool_cover_minutes")
    op.drop_column("exchanges", "settled_as")
    op.drop_column("exchanges", "held_for")
    _set_status_check(_WITHOUT_HELD)
