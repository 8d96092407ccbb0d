"""Outbox message keys: every message (alert, thread reply, digest entry, webhook) has an
idempotency key, and a sent row remembers up to which event time its message reported the visit;
each row names its owner, whose daily budget of realtime alerts it counts against.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("message_key", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("covered_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("owner", sa.String(320), nullable=False, server_default=""))
    op.execute("UPDATE deliveries SET message_key = alert_id || ':' || channel")
    op.create_index("ux_deliveries_message_key", "deliveries", ["message_key"], unique=True)
    op.create_index("ix_deliveries_owner", "deliveries", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_owner", "deliveries")
    op.drop_index("ux_deliveries_message_key", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("owner")
        batch.drop_column("covered_until")
        batch.drop_column("message_key")
