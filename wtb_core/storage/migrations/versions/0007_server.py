"""What the server keeps: batch events in the event log, and LangGraph API threads and runs.

* ``audit_events.batch_id`` — the batch an event belongs to (a cell's execution events
  and the batch's own progress events), so ``batch:<id>`` subscribers are served from
  the stored log. ``audit_events.id`` is the log's ``seq`` (on SQLite the table becomes
  ``AUTOINCREMENT``, so deleting the newest rows never lets their ids be used again).
* ``api_threads`` — threads of the LangGraph Agent Server API: created before their first
  run (``POST /threads``) with metadata; ``execution_id`` is set by that run.
* ``api_runs`` — runs on those threads (each is a run or a resume of the execution).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    # On SQLite the table is rebuilt AUTOINCREMENT: a plain rowid table hands the ids of
    # deleted newest rows out again, and a seq must never repeat.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "audit_events",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as table:
        table.add_column(sa.Column("batch_id", sa.String(64), nullable=True))
    op.create_index("ix_audit_events_batch_id_id", "audit_events", ["batch_id", "id"])
    op.create_table(
        "api_threads",
        sa.Column("thread_id", sa.String(64), primary_key=True),
        sa.Column("execution_id", sa.String(64), nullable=True),
        sa.Column("project", sa.String(200), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_api_threads_created_at", "api_threads", ["created_at"])
    op.create_table(
        "api_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("assistant_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("multitask_strategy", sa.String(20), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_api_runs_thread_id_created_at", "api_runs", ["thread_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_api_runs_thread_id_created_at", table_name="api_runs")
    op.drop_table("api_runs")
    op.drop_index("ix_api_threads_created_at", table_name="api_threads")
    op.drop_table("api_threads")
    op.drop_index("ix_audit_events_batch_id_id", table_name="audit_events")
    with op.batch_alter_table("audit_events") as table:
        table.drop_column("batch_id")
