"""RDAP answers cached per registered network.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_registrations",
        sa.Column("network", sa.String(49), primary_key=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False, server_default=""),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_network_registrations_expires_at", "network_registrations", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_network_registrations_expires_at", "network_registrations")
    op.drop_table("network_registrations")
