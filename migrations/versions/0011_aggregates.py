"""Per-month aggregates kept with each transfer (issue 11, point 1).

Revision ID: 0011_aggregates
Revises: 0010_help_window
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0011_aggregates"
down_revision: str | None = "0010_help_window"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The booking upsert's columns (timebank.ledger, invariant 7).
_COLUMNS = (
    "given_minutes",
    "received_minutes",
    "pool_paid_minutes",
    "credit_minutes",
    "debit_minutes",
    "transfers",
)


def upgrade() -> None:
    op.create_table(
        "account_months",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in _COLUMNS[:-1]),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "month", "category_id"),
    )
    op.create_index("ix_account_months_month", "account_months", ["month"])
    _backfill()


def _moment(value: object) -> datetime | None:
    """A stored moment as an aware UTC datetime (SQLite hands back naive text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _backfill() -> None:
    """Count the ledger so far with the same rules the booking upsert follows from now on
    (``ledger.recount_months_sql``, which ``ledger verify`` compares with)."""
    from timebank.ledger import recount_months_sql

    bind = op.get_bind()
    timezone = bind.scalar(sa.text("SELECT timezone FROM network_settings WHERE id = 1"))
    timezone = timezone or "Europe/Berlin"
    first, last = bind.execute(
        sa.text("SELECT MIN(created_at), MAX(created_at) FROM transfers")
    ).one()
    recount = recount_months_sql(
        bind.dialect.name, ZoneInfo(timezone), _moment(first), _moment(last)
    )
    columns = ", ".join(_COLUMNS)
    sums = ", ".join(f"SUM({c})" for c in _COLUMNS)
    bind.execute(
        sa.text(
            f"INSERT INTO account_months (account_id, month, category_id, {columns}) "
            f"SELECT account_id, month, category_id, {sums} FROM ({recount}) r "
            "GROUP BY account_id, month, category_id"
        ),
        {"tz": timezone} if bind.dialect.name == "postgresql" else {},
    )


def downgrade() -> None:
    op.drop_index("ix_account_months_month", table_name="account_months")
    op.drop_table("account_months")
