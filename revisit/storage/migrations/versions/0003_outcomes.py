"""Outcomes recorded against alerts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outcomes_alert_id", "outcomes", ["alert_id"])
    op.create_index("ix_outcomes_account_id", "outcomes", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_outcomes_account_id", "outcomes")
    op.drop_index("ix_outcomes_alert_id", "outcomes")
    op.drop_table("outcomes")
