"""The evidence of a learned network and of an RDAP answer as a phrase (its English template and
values), so that it is said in the reader's language; the English text stays beside it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("ledger_entries", "network_registrations"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("evidence_said", sa.JSON, nullable=True))


def downgrade() -> None:
    for table in ("ledger_entries", "network_registrations"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("evidence_said")
