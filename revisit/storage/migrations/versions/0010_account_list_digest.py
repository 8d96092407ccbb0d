"""The imported account list's content digest, and a fingerprint per account: an unchanged list is
not imported again, a changed one is applied as a difference; an account that left the list is
marked ``delisted_at`` (it stops matching, its history stays).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_lists",
        sa.Column("list_id", sa.Integer, primary_key=True),  # one row: the list last imported
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("account_count", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("accounts", sa.Column("fingerprint", sa.String(32), nullable=True))
    op.add_column("accounts", sa.Column("delisted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "delisted_at")
    op.drop_column("accounts", "fingerprint")
    op.drop_table("account_lists")
