"""Projects, executions and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from wtb_core.storage.tables import JSONType

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("factory_ref", sa.String(500)),
        sa.Column("settings", JSONType, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("thread_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("head_checkpoint_id", sa.String(64)),
        sa.Column("initial_state", JSONType, nullable=False),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("variant_config", JSONType, nullable=False),
        sa.Column("workflow_variant", sa.String(200)),
        sa.Column("project_version", sa.String(50)),
        sa.Column("breakpoints", JSONType, nullable=False),
        sa.Column("next_nodes", JSONType, nullable=False),
        sa.Column("interrupts", JSONType, nullable=False),
        sa.Column("parent_execution_id", sa.String(64)),
        sa.Column("parent_checkpoint_id", sa.String(64)),
        sa.Column("owner", sa.String(200)),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_executions_project", "executions", ["project"])
    op.create_index("ix_executions_status", "executions", ["status"])
    op.create_index("ix_executions_created_at", "executions", ["created_at"])
    op.create_index("ix_executions_parent_execution_id", "executions", ["parent_execution_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("timestamp", TS, nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("node", sa.String(200)),
        sa.Column("checkpoint_id", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", JSONType, nullable=False),
    )
    op.create_index("ix_audit_events_execution_id_id", "audit_events", ["execution_id", "id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("executions")
    op.drop_table("projects")
