"""The network office: contact, letters, legal pages (issue 9, points 2 and 9).

Revision ID: 0007_office
Revises: 0006_notices
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0007_office"
down_revision: str | None = "0006_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The office's settings (timebank.models.NetworkSettings): name, server default.
_OFFICE = (
    ("network_name", 120, "Nachbarschafts-Zeitbank"),
    ("office_address", 500, ""),
    ("office_phone", 60, ""),
    ("office_hours", 300, ""),
    ("office_contact", 200, ""),
    ("office_email", 254, ""),
)
_LETTER = "letter_status IN ('none', 'due', 'sent')"
_CALL = "call_status IN ('none', 'due', 'done')"


def upgrade() -> None:
    for name, length, default in _OFFICE:
        op.add_column(
            "network_settings",
            sa.Column(name, sa.String(length), nullable=False, server_default=default),
        )
    op.add_column("network_settings", sa.Column("imprint_text", sa.String(20000), nullable=True))
    op.add_column("network_settings", sa.Column("privacy_text", sa.String(20000), nullable=True))
    op.add_column(
        "network_settings",
        sa.Column("privacy_version", sa.String(20), nullable=False, server_default="2026-11-25"),
    )
    op.add_column("members", sa.Column("street", sa.String(200), nullable=True))
    op.add_column("members", sa.Column("postcode", sa.String(10), nullable=True))
    op.add_column("members", sa.Column("town", sa.String(100), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a CHECK only with its column (no batch copy of the notices).
        op.execute(
            "ALTER TABLE notifications ADD COLUMN letter_status VARCHAR(10) NOT NULL "
            f"DEFAULT 'none' CONSTRAINT ck_notifications_letter_status CHECK ({_LETTER})"
        )
        op.execute(
            "ALTER TABLE notifications ADD COLUMN call_status VARCHAR(10) NOT NULL "
            f"DEFAULT 'none' CONSTRAINT ck_notifications_call_status CHECK ({_CALL})"
        )
    else:
        op.add_column(
            "notifications",
            sa.Column("letter_status", sa.String(10), nullable=False, server_default="none"),
        )
        op.add_column(
            "notifications",
            sa.Column("call_status", sa.String(10), nullable=False, server_default="none"),
        )
        op.create_check_constraint("ck_notifications_letter_status", "notifications", _LETTER)
        op.create_check_constraint("ck_notifications_call_status", "notifications", _CALL)
    op.add_column(
        "notifications", sa.Column("letter_sent_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "notifications", sa.Column("call_done_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_notifications_letter_due", "notifications", ["letter_status", "member_id"])
    op.create_index("ix_notifications_call_due", "notifications", ["call_status", "member_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_call_due", table_name="notifications")
    op.drop_index("ix_notifications_letter_due", table_name="notifications")
    for column in ("call_done_at", "letter_sent_at", "call_status", "letter_status"):
        op.drop_column("notifications", column)
    for column in ("town", "postcode", "street"):
        op.drop_column("members", column)
    for column in ("privacy_version", "privacy_text", "imprint_text"):
        op.drop_column("network_settings", column)
    for name, _length, _default in reversed(_OFFICE):
        op.drop_column("network_settings", name)
