"""The instants each ledger entry was seen at, so that a sighting imported or replayed again is
not counted again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_sightings",
        sa.Column("network", sa.String(49), primary_key=True),
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("ledger_sightings")
