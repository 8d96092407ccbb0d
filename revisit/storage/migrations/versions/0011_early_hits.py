"""A hit is stored as soon as it is matched, before its visit is known: ``hits.session_id`` is empty
until the event-time order has taken the hit (README, "Event time"), then set once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hits") as batch:
        batch.alter_column("session_id", existing_type=sa.String(40), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM hits WHERE session_id IS NULL")
    with op.batch_alter_table("hits") as batch:
        batch.alter_column("session_id", existing_type=sa.String(40), nullable=False)
