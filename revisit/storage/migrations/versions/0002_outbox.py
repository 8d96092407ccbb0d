"""The delivery outbox and account snoozes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("alert_id", sa.String(36), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("not_before", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("sent_at", _utc()),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("provider_ref", sa.Text, nullable=False),
    )
    op.create_index("ix_deliveries_status", "deliveries", ["status"])
    op.create_index("ix_deliveries_not_before", "deliveries", ["not_before"])
    op.create_table(
        "snoozes",
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("until", _utc(), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("snoozes")
    op.drop_index("ix_deliveries_not_before", "deliveries")
    op.drop_index("ix_deliveries_status", "deliveries")
    op.drop_table("deliveries")
