"""The window for a help date (issue 9, point 8).

Revision ID: 0010_help_window
Revises: 0009_clients
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0010_help_window"
down_revision: str | None = "0009_clients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # How many days back a help date may lie; the network's row gets the default.
    op.add_column(
        "network_settings",
        sa.Column("help_days_back", sa.Integer(), nullable=False, server_default="90"),
    )


def downgrade() -> None:
    op.drop_column("network_settings", "help_days_back")
