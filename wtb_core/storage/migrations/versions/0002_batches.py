"""Batch tests and their rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from wtb_core.storage.tables import JSONType

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("matrix", JSONType, nullable=False),
        sa.Column("cases", JSONType, nullable=False),
        sa.Column("evaluators", JSONType, nullable=False),
        sa.Column("repetitions", sa.Integer, nullable=False),
        sa.Column("runner", sa.String(50), nullable=False),
        sa.Column("parallelism", sa.Integer),
        sa.Column("total_cells", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_batches_project", "batches", ["project"])
    op.create_index("ix_batches_created_at", "batches", ["created_at"])
    op.create_table(
        "batch_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("combination_index", sa.Integer, nullable=False),
        sa.Column("combination", sa.String(500), nullable=False),
        sa.Column("case_index", sa.Integer, nullable=False),
        sa.Column("case", sa.String(500), nullable=False),
        sa.Column("repetition", sa.Integer, nullable=False),
        sa.Column("execution_id", sa.String(64)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("scores", JSONType, nullable=False),
        sa.Column("score_errors", JSONType, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("finished_at", TS, nullable=False),
        sa.UniqueConstraint(
            "batch_id", "combination_index", "case_index", "repetition", name="uq_batch_rows_cell"
        ),
    )
    op.create_index("ix_batch_rows_batch_id_combination", "batch_rows", ["batch_id", "combination"])


def downgrade() -> None:
    op.drop_table("batch_rows")
    op.drop_table("batches")
