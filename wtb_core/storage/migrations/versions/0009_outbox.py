"""Cross-store consistency: the outbox, claim heartbeats and the batch a cell ran for.

* ``outbox`` — one row per operation that writes more than one store (rollback with files,
  fork, update_state, delete): its intent, written before the operation's first write to
  another store and closed in the transaction of its last metadata write
  (``wtb_core.integrity.outbox``).
* ``executions.heartbeat_at`` — when the owner of a ``running`` execution last renewed its
  claim; running rows get their ``updated_at``, the last time their owner wrote them.
* ``executions.batch_id`` — the batch a cell's execution was created for, so the cells a
  killed batch left without rows can be found.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("executions") as table:
        table.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("batch_id", sa.String(64), nullable=True))
    op.create_index("ix_executions_batch_id", "executions", ["batch_id"])
    op.execute("UPDATE executions SET heartbeat_at = updated_at WHERE status = 'running'")
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("checkpoint_id", sa.String(64), nullable=True),
        sa.Column("file_commit", sa.String(64), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbox_execution_id", "outbox", ["execution_id"])
    op.create_index("ix_outbox_state", "outbox", ["state"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state", table_name="outbox")
    op.drop_index("ix_outbox_execution_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_executions_batch_id", table_name="executions")
    with op.batch_alter_table("executions") as table:
        table.drop_column("batch_id")
        table.drop_column("heartbeat_at")
