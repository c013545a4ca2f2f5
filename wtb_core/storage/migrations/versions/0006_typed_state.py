"""State kept with its types, and time travel remembered on the execution.

* ``executions.state_blob`` / ``initial_state_blob`` and ``batch_rows.state_blob`` — the
  state as LangGraph's serializer writes it (``storage.state_codec``), so a message or a
  pydantic model reads back as itself. The JSON columns stay, for people and queries.
* ``executions.time_travel`` — set by rollback and fork: the next resume replays from the
  head as ``invoke(None, config_with_checkpoint_id)`` does, instead of continuing the
  thread's newest checkpoint.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as table:
        table.add_column(sa.Column("state_blob", sa.LargeBinary, nullable=True))
        table.add_column(sa.Column("initial_state_blob", sa.LargeBinary, nullable=True))
        table.add_column(
            sa.Column("time_travel", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("batch_rows") as table:
        table.add_column(sa.Column("state_blob", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_rows") as table:
        table.drop_column("state_blob")
    with op.batch_alter_table("executions") as table:
        table.drop_column("time_travel")
        table.drop_column("initial_state_blob")
        table.drop_column("state_blob")
