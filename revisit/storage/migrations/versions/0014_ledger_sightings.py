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
        sa.Column("people", sa.Integer, nullable=False, server_default="1"),
    )
    # what is known of the entries stored before: their first and last sighting (exact for those
    # seen once or twice), so that importing the same export once more does not count them again
    op.execute(
        "INSERT INTO ledger_sightings (network, account_id, seen_at, people) "
        "SELECT network, account_id, first_seen, 1 FROM ledger_entries"
    )
    op.execute(
        "INSERT INTO ledger_sightings (network, account_id, seen_at, people) "
        "SELECT network, account_id, last_seen, 1 FROM ledger_entries WHERE last_seen <> first_seen"
    )


def downgrade() -> None:
    op.drop_table("ledger_sightings")
