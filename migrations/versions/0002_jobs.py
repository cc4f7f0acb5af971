"""Scheduler and flags: network settings, review policies, job runs, flags, notifications.

Revision ID: 0002_jobs
Revises: 0001_core
Create Date: 2026-11-24 22:25:23.791985
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_jobs"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Who the balance review looks at. Seniors' help paid by the community pool is not their own
# taking; staff are reviewed only if the manager turns it on.
REVIEW_POLICIES = [
    ("volunteer", True, True),
    ("senior", True, False),
    ("professional", False, True),
    ("manager", False, True),
]


def _seed() -> None:
    op.execute(
        "INSERT INTO network_settings (id, timezone, review_cron, unconfirmed_cron, "
        "unanswered_cron, expiry_cron, digest_cron, review_window_days, takes_balance_below, "
        "takes_ratio, takes_min_received, gives_balance_above, gives_ratio, gives_min_given, "
        "near_limit_percent, inactive_days, remind_after_days, unconfirmed_after_days, "
        "unconfirmed_action, unanswered_after_days, updated_at) VALUES (1, 'Europe/Berlin', "
        "'30 2 * * *', '0 9 * * *', '5 9 * * *', '15 0 * * *', '0 7 * * 1', 90, -600, 4, 300, "
        "2400, 4, 600, 10, 90, 3, 14, 'flag', 3, CURRENT_TIMESTAMP)"
    )
    policies = sa.table(
        "review_policies",
        sa.column("role", sa.String),
        sa.column("reviewed", sa.Boolean),
        sa.column("pool_help_counts", sa.Boolean),
    )
    op.bulk_insert(
        policies,
        [{"role": r, "reviewed": rv, "pool_help_counts": pc} for r, rv, pc in REVIEW_POLICIES],
    )


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("runner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.CheckConstraint("outcome IN ('ok', 'failed')", name="ck_job_runs_outcome"),
        sa.CheckConstraint(
            "trigger IN ('schedule', 'catch_up', 'manual')", name="ck_job_runs_trigger"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job", "scheduled_for", name="uq_job_runs_tick"),
    )
    op.create_table(
        "network_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("review_cron", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("unconfirmed_cron", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("unanswered_cron", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("expiry_cron", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("digest_cron", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("review_window_days", sa.Integer(), nullable=False),
        sa.Column("takes_balance_below", sa.Integer(), nullable=False),
        sa.Column("takes_ratio", sa.Integer(), nullable=False),
        sa.Column("takes_min_received", sa.Integer(), nullable=False),
        sa.Column("gives_balance_above", sa.Integer(), nullable=False),
        sa.Column("gives_ratio", sa.Integer(), nullable=False),
        sa.Column("gives_min_given", sa.Integer(), nullable=False),
        sa.Column("near_limit_percent", sa.Integer(), nullable=False),
        sa.Column("inactive_days", sa.Integer(), nullable=False),
        sa.Column("remind_after_days", sa.Integer(), nullable=False),
        sa.Column("unconfirmed_after_days", sa.Integer(), nullable=False),
        sa.Column(
            "unconfirmed_action", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column("unanswered_after_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "unconfirmed_action IN ('confirm', 'flag')", name="ck_network_settings_action"
        ),
        sa.CheckConstraint("id = 1", name="ck_network_settings_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "review_policies",
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("pool_help_counts", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('volunteer', 'senior', 'professional', 'manager')",
            name="ck_review_policies_role",
        ),
        sa.PrimaryKeyConstraint("role"),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("balance_minutes", sa.Integer(), nullable=True),
        sa.Column("given_minutes", sa.Integer(), nullable=True),
        sa.Column("received_minutes", sa.Integer(), nullable=True),
        sa.Column("limit_minutes", sa.Integer(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('takes_without_giving', 'gives_without_taking', 'near_limit', 'inactive', 'unconfirmed_exchange', 'unanswered_request')",
            name="ck_flags_kind",
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('review', 'manager')", name="ck_flags_resolution"
        ),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'snoozed', 'resolved')", name="ck_flags_status"
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flags_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_flags_status_kind", ["status", "kind"], unique=False)
        batch_op.create_index(
            "uq_flags_one_open",
            ["member_id", "kind", "subject_id"],
            unique=True,
            postgresql_where=sa.text("status <> 'resolved'"),
            sqlite_where=sa.text("status <> 'resolved'"),
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("email_last_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "email_status IN ('none', 'pending', 'retry', 'sent', 'failed')",
            name="ck_notifications_email_status",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_email_due", ["email_status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_member_read", ["member_id", "read_at"], unique=False
        )

    op.create_table(
        "flag_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('open', 'acknowledge', 'note', 'snooze', 'wake', 'resolve')",
            name="ck_flag_events_action",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["flags.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flag_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_events_flag_id"), ["flag_id"], unique=False)

    _seed()


def downgrade() -> None:
    with op.batch_alter_table("flag_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_events_flag_id"))

    op.drop_table("flag_events")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_member_read")
        batch_op.drop_index("ix_notifications_email_due")

    op.drop_table("notifications")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_flags_one_open",
            postgresql_where=sa.text("status <> 'resolved'"),
            sqlite_where=sa.text("status <> 'resolved'"),
        )
        batch_op.drop_index("ix_flags_status_kind")
        batch_op.drop_index(batch_op.f("ix_flags_member_id"))

    op.drop_table("flags")
    op.drop_table("review_policies")
    op.drop_table("network_settings")
    op.drop_table("job_runs")
