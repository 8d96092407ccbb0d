"""The first schema: accounts, resolution cache, sessions, hits of matched accounts, alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("domains", sa.JSON, nullable=False),
        sa.Column("networks", sa.JSON, nullable=False),
        sa.Column("owner_name", sa.Text, nullable=False),
        sa.Column("owner_email", sa.Text, nullable=False),
        sa.Column("owner_slack", sa.Text, nullable=False),
        sa.Column("last_deal_at", sa.Date),
        sa.Column("last_contact_at", sa.Date),
        sa.Column("lost_deal_at", sa.Date),
        sa.Column("lifetime_value", sa.Numeric(18, 2)),
        sa.Column("dormancy_reason", sa.String(32), nullable=False),
        sa.Column("industry", sa.Text, nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("imported_at", _utc(), nullable=False),
    )
    op.create_table(
        "organizations",
        sa.Column("ip", sa.String(45), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("domain", sa.Text),
        sa.Column("asn", sa.Integer),
        sa.Column("network", sa.String(49)),
        sa.Column("access_provider", sa.Text),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("resolved_at", _utc(), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(128), nullable=False, index=True),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("last_seen", _utc(), nullable=False),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
    )
    op.create_table(
        "hits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("hit_key", sa.String(64), nullable=False, unique=True),
        sa.Column("account_id", sa.String(128), nullable=False, index=True),
        sa.Column("session_id", sa.String(40), nullable=False, index=True),
        sa.Column("occurred_at", _utc(), nullable=False, index=True),
        sa.Column("client_ip", sa.String(45), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("referrer", sa.Text, nullable=False),
        sa.Column("user_agent", sa.Text, nullable=False),
        sa.Column("page_label", sa.String(64)),
        sa.Column("match_method", sa.String(16), nullable=False),
        sa.Column("organization_name", sa.Text),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(128), nullable=False, index=True),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("delivery", sa.String(16), nullable=False),
        sa.Column("first_seen", _utc(), nullable=False),
        sa.Column("triggered_at", _utc(), nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("alerts", "hits", "sessions", "organizations", "accounts"):
        op.drop_table(table)
