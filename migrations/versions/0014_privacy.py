"""Data protection: erasure mark, retention period and its weekly job (issue 11, point 6).

Revision ID: 0014_privacy
Revises: 0013_intake
Create Date: 2026-11-25 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_privacy"
down_revision: str | None = "0013_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("members", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "network_settings",
        sa.Column(
            "retention_cron", sa.String(length=100), nullable=False, server_default="0 6 * * 1"
        ),
    )
    op.add_column(
        "network_settings",
        sa.Column("retention_days", sa.Integer(), nullable=False, server_default="1095"),
    )


def downgrade() -> None:
    op.drop_column("network_settings", "retention_days")
    op.drop_column("network_settings", "retention_cron")
    op.drop_column("members", "erased_at")
