"""Indexes only PostgreSQL has: GIN on queried JSONB, BRIN on time-ordered tables.

* ``executions.variant_config`` — GIN (jsonb_path_ops): ``list_executions(variant_config=…)``
  filters with ``@>``.
* ``audit_events.timestamp`` — BRIN: rows arrive in time order, so a tiny block-range index
  serves time-window queries on a table that grows fastest.
* B-tree on the columns other tables point through (``file_snapshots.execution_id``,
  ``batch_rows.execution_id``); ``(batch_id, combination)`` exists since 0002.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_file_snapshots_execution_id", "file_snapshots", ["execution_id"])
    op.create_index("ix_batch_rows_execution_id", "batch_rows", ["execution_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_executions_variant_config",
        "executions",
        ["variant_config"],
        postgresql_using="gin",
        postgresql_ops={"variant_config": "jsonb_path_ops"},
    )
    op.create_index(
        "ix_audit_events_timestamp_brin",
        "audit_events",
        ["timestamp"],
        postgresql_using="brin",
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_audit_events_timestamp_brin", "audit_events")
        op.drop_index("ix_executions_variant_config", "executions")
    op.drop_index("ix_batch_rows_execution_id", "batch_rows")
    op.drop_index("ix_file_snapshots_execution_id", "file_snapshots")
