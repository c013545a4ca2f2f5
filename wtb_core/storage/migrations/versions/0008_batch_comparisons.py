"""A batch keeps its default comparison.

* ``batches.comparison`` — the JSON of the batch's comparison against its default baseline,
  worked out when the batch finishes (or on first read), so any process — a server that
  did not run the batch, the CLI — answers it at once.
* ``batches.comparison_rows`` — the fingerprint of the rows it was worked out from; a
  comparison whose fingerprint is not the rows' current one is never answered.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.add_column(sa.Column("comparison", sa.Text, nullable=True))
        table.add_column(sa.Column("comparison_rows", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.drop_column("comparison_rows")
        table.drop_column("comparison")
