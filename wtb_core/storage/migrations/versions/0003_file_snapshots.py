"""File commits, their links to checkpoints, and each execution's workspace.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from wtb_core.storage.tables import JSONType

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("executions", sa.Column("workspace", sa.String(1000)))
    op.create_table(
        "file_commits",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("manifest", JSONType, nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("total_bytes", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "file_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("checkpoint_id", sa.String(64), nullable=False),
        sa.Column("commit_id", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("execution_id", "checkpoint_id", name="uq_file_snapshots_checkpoint"),
    )
    op.create_index("ix_file_snapshots_commit_id", "file_snapshots", ["commit_id"])


def downgrade() -> None:
    op.drop_table("file_snapshots")
    op.drop_table("file_commits")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("workspace")
