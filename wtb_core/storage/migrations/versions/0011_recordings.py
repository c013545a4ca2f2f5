"""Recorded node outputs (record / replay).

* ``recordings`` — one row per named recording: the project it was made for and what made
  it (a batch, an execution, an imported file).
* ``recording_entries`` — a recorded node's writes for one input: keyed by recording, node
  and LangGraph's cache key (the hash of the node's variant and a stable digest of its
  input), the writes as LangGraph's serializer wrote them, beside a JSON rendering.
* ``batches.recording`` — how a batch records or replays (mode, recording, nodes,
  on_missing), so a resumed batch does the same.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("project", sa.String(200), nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "recording_entries",
        sa.Column("recording", sa.String(200), primary_key=True),
        sa.Column("node", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("variant", sa.String(400), nullable=False),
        sa.Column("encoding", sa.String(50), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("rendered", JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("batches") as table:
        table.add_column(sa.Column("recording", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.drop_column("recording")
    op.drop_table("recording_entries")
    op.drop_table("recordings")
