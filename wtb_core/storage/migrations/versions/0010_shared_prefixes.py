"""Shared-prefix batches (``run_batch_test(..., reuse_prefix=True)``) and batches forked
from a checkpoint (``bench.fork_batch``).

* ``executions.prefix_key`` — set on the trunk executions of a shared-prefix batch (the
  runs every branch forks from): which (case, repetition, workflow variant, fork path) it
  ran, so a resumed batch finds and reuses it; listings hide executions that have one.
* ``batches.reuse_prefix`` — whether the batch asked for shared prefixes;
  ``batches.warning`` — why it ran its cells independently instead, when it did.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as table:
        table.add_column(sa.Column("prefix_key", sa.String(500), nullable=True))
    op.create_index("ix_executions_prefix_key", "executions", ["prefix_key"])
    with op.batch_alter_table("batches") as table:
        table.add_column(
            sa.Column("reuse_prefix", sa.Boolean, nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("warning", sa.Text, nullable=True))
        table.add_column(sa.Column("source_execution_id", sa.String(64), nullable=True))
        table.add_column(sa.Column("source_checkpoint_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.drop_column("source_checkpoint_id")
        table.drop_column("source_execution_id")
        table.drop_column("warning")
        table.drop_column("reuse_prefix")
    op.drop_index("ix_executions_prefix_key", table_name="executions")
    with op.batch_alter_table("executions") as table:
        table.drop_column("prefix_key")
