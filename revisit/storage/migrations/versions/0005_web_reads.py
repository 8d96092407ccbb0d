"""What the analysts' web UI reads: sort and search forms of account names, and the indexes its
pages filter and sort by (visits of an account in time order, recent alerts, outcomes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("sort_name", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("search_text", sa.Text, nullable=False, server_default=""))
    _fill_name_forms()
    op.create_index("ix_accounts_sort_name", "accounts", ["sort_name"])
    op.create_index("ix_sessions_account_started", "sessions", ["account_id", "started_at"])
    op.create_index(
        "ix_sessions_started_cover",
        "sessions",
        ["started_at"],
        postgresql_include=["account_id", "page_count", "score", "last_seen"],
    )
    op.create_index("ix_hits_account_occurred", "hits", ["account_id", "occurred_at"])
    op.create_index("ix_alerts_account_triggered", "alerts", ["account_id", "triggered_at"])
    op.create_index("ix_outcomes_recorded_at", "outcomes", ["recorded_at"])
    op.create_index("ix_deliveries_sent_at", "deliveries", ["sent_at"])


def _fill_name_forms() -> None:
    """Accounts imported before this revision get their sort and search forms now."""
    from revisit.enrichment.normalize import search_text, sort_key

    accounts = sa.table(
        "accounts",
        sa.column("account_id"),
        sa.column("name"),
        sa.column("aliases", sa.JSON),
        sa.column("attributes", sa.JSON),
        sa.column("sort_name"),
        sa.column("search_text"),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(accounts.c.account_id, accounts.c.name, accounts.c.aliases, accounts.c.attributes)
    ).all()
    for account_id, name, aliases, attributes in rows:
        reading = (attributes or {}).get("name_kana", "")
        connection.execute(
            accounts.update()
            .where(accounts.c.account_id == account_id)
            .values(sort_name=sort_key(name, reading), search_text=search_text(name, *(aliases or []), reading))
        )


def downgrade() -> None:
    for table, name in (
        ("deliveries", "ix_deliveries_sent_at"),
        ("outcomes", "ix_outcomes_recorded_at"),
        ("alerts", "ix_alerts_account_triggered"),
        ("hits", "ix_hits_account_occurred"),
        ("sessions", "ix_sessions_started_cover"),
        ("sessions", "ix_sessions_account_started"),
        ("accounts", "ix_accounts_sort_name"),
    ):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("search_text")
        batch.drop_column("sort_name")
