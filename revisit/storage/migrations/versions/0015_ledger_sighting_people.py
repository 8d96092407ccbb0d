"""How many people each ledger instant was seen with (never who), so that three colleagues in a
date-only export count as three; and the first and last sighting of the entries stored before
0014 kept as counted, so that importing their export again does not count them once more.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_sightings") as batch:
        batch.add_column(sa.Column("people", sa.Integer, nullable=False, server_default="1"))
    for column, only_when in (("first_seen", ""), ("last_seen", " AND e.last_seen <> e.first_seen")):
        op.execute(
            "INSERT INTO ledger_sightings (network, account_id, seen_at, people) "
            f"SELECT e.network, e.account_id, e.{column}, 1 FROM ledger_entries e "
            "WHERE NOT EXISTS (SELECT 1 FROM ledger_sightings s WHERE s.network = e.network "
            f"AND s.account_id = e.account_id AND s.seen_at = e.{column}){only_when}"
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_sightings") as batch:
        batch.drop_column("people")
