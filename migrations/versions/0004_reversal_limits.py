"""Limits crossed by reversals, recorded on the transfer (issue 8).

Revision ID: 0004_reversal_limits
Revises: 0003_signin
Create Date: 2026-11-25 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0004_reversal_limits"
down_revision: str | None = "0003_signin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Which limit a transfer took an account beyond (see timebank.ledger, invariant 4). The checks
# are the model's (timebank.models.Transfer); SQLite can only add them with the columns.
_FROM_MIN = "from_min_crossed IS NULL OR from_balance_after < from_min_crossed"
_TO_MAX = "to_max_crossed IS NULL OR to_balance_after > to_max_crossed"
_ALLOWED = (
    "(from_min_crossed IS NULL AND to_max_crossed IS NULL)"
    " OR kind = 'reversal' OR override_reason IS NOT NULL"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Not a batch (copy and rename) migration: that would drop the append-only triggers
        # and copy the whole ledger. A column's own CHECK may name other columns in SQLite.
        op.execute(
            "ALTER TABLE transfers ADD COLUMN from_min_crossed INTEGER "
            f"CONSTRAINT ck_transfers_from_min_crossed CHECK ({_FROM_MIN})"
        )
        op.execute(
            "ALTER TABLE transfers ADD COLUMN to_max_crossed INTEGER "
            f"CONSTRAINT ck_transfers_to_max_crossed CHECK ({_TO_MAX}) "
            f"CONSTRAINT ck_transfers_crossing_allowed CHECK ({_ALLOWED})"
        )
        return
    op.add_column("transfers", sa.Column("from_min_crossed", sa.Integer(), nullable=True))
    op.add_column("transfers", sa.Column("to_max_crossed", sa.Integer(), nullable=True))
    op.create_check_constraint("ck_transfers_from_min_crossed", "transfers", _FROM_MIN)
    op.create_check_constraint("ck_transfers_to_max_crossed", "transfers", _TO_MAX)
    op.create_check_constraint("ck_transfers_crossing_allowed", "transfers", _ALLOWED)


def downgrade() -> None:
    # The constraints go with their columns; to_max_crossed first, as its checks name both.
    op.drop_column("transfers", "to_max_crossed")
    op.drop_column("transfers", "from_min_crossed")
