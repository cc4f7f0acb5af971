"""The front door: intakes sent through /join (issue 11, point 5).

Revision ID: 0013_intake
Revises: 0012_organisations
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0013_intake"
down_revision: str | None = "0012_organisations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intakes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organization_name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("district_id", sa.Integer(), sa.ForeignKey("districts.id"), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("best_time_to_call", sa.String(length=200), nullable=True),
        sa.Column("message", sa.String(length=2000), nullable=True),
        sa.Column("consent_version", sa.String(length=20), nullable=False),
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("called_by_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organizations.id"), nullable=True
        ),
        sa.CheckConstraint("kind IN ('help', 'give', 'organization')", name="ck_intakes_kind"),
        sa.CheckConstraint(
            "status IN ('new', 'called', 'accepted', 'declined')", name="ck_intakes_status"
        ),
    )
    op.create_index("ix_intakes_status", "intakes", ["status"])
    op.create_index("ix_intakes_sender_created", "intakes", ["sender_hash", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_intakes_sender_created", table_name="intakes")
    op.drop_index("ix_intakes_status", table_name="intakes")
    op.drop_table("intakes")
