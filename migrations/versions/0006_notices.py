"""Notices by email per preference (issue 9, point 2).

Revision ID: 0006_notices
Revises: 0005_held
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_notices"
down_revision: str | None = "0005_held"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EMAIL_NOTICES = "email_notices IN ('each', 'daily', 'none')"
_OLD_STATUSES = "email_status IN ('none', 'pending', 'retry', 'sent', 'failed')"
_NEW_STATUSES = "email_status IN ('none', 'pending', 'retry', 'sent', 'failed', 'daily', 'summary')"


def _notifications(statuses: str, *, language: bool) -> None:
    """The notifications' email statuses, with or without their ``language`` column. SQLite
    cannot change a CHECK in place: the table (no triggers, not the ledger) is copied, with
    its reflected constraints and the check replaced."""
    with op.batch_alter_table("notifications", recreate="auto") as batch:
        batch.drop_constraint("ck_notifications_email_status", type_="check")
        batch.create_check_constraint("ck_notifications_email_status", statuses)
        if language:
            # The language a notice was written in (the inbox marks it, e.g. lang="de").
            batch.add_column(
                sa.Column(
                    "language",
                    sqlmodel.sql.sqltypes.AutoString(length=5),
                    nullable=False,
                    server_default="de",
                )
            )
        else:
            batch.drop_column("language")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE members ADD COLUMN email_notices VARCHAR(5) NOT NULL DEFAULT 'each' "
            f"CONSTRAINT ck_members_email_notices CHECK ({_EMAIL_NOTICES})"
        )
    else:
        op.add_column(
            "members",
            sa.Column(
                "email_notices",
                sqlmodel.sql.sqltypes.AutoString(length=5),
                nullable=False,
                server_default="each",
            ),
        )
        op.create_check_constraint("ck_members_email_notices", "members", _EMAIL_NOTICES)
    op.add_column(
        "network_settings",
        sa.Column(
            "summary_cron",
            sqlmodel.sql.sqltypes.AutoString(length=100),
            nullable=False,
            server_default="0 18 * * *",
        ),
    )
    op.add_column(
        "network_settings",
        sa.Column("expiry_notice_days", sa.Integer(), nullable=False, server_default="2"),
    )
    _notifications(_NEW_STATUSES, language=True)


def downgrade() -> None:
    op.execute(
        "UPDATE notifications SET email_status = 'none' WHERE email_status IN ('daily', 'summary')"
    )
    _notifications(_OLD_STATUSES, language=False)
    op.drop_column("network_settings", "expiry_notice_days")
    op.drop_column("network_settings", "summary_cron")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_members_email_notices", "members", type_="check")
    op.drop_column("members", "email_notices")
