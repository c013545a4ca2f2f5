"""File commits stored as content-addressed chunks (``storage.file_commits``).

``file_commits.manifest`` (the whole manifest in every commit) becomes ``chunk_ids``, the
ordered list of ``file_chunks`` rows holding it; existing manifests are split into chunks
(their commit ids stay). ``used_at`` on both tables lets garbage collection and writers
meet safely. ``total_bytes`` becomes a BIGINT (trees over 2 GiB).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from wtb_core.storage.file_commits import (
    chunk_list_json,
    encoded_json,
    entry_json,
    split,
)
from wtb_core.storage.tables import JSONType

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

commits = sa.table(
    "file_commits",
    sa.column("id", sa.String),
    sa.column("manifest", JSONType),
    sa.column("chunk_ids", JSONType),
    sa.column("created_at", TS),
    sa.column("used_at", TS),
)
chunks = sa.table(
    "file_chunks",
    sa.column("id", sa.String),
    sa.column("entries", JSONType),
    sa.column("file_count", sa.Integer),
    sa.column("total_bytes", sa.BigInteger),
    sa.column("used_at", TS),
)


def upgrade() -> None:
    op.create_table(
        "file_chunks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("entries", JSONType, nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("total_bytes", sa.BigInteger, nullable=False),
        sa.Column("used_at", TS, nullable=False),
    )
    op.add_column("file_commits", sa.Column("chunk_ids", JSONType))
    op.add_column("file_commits", sa.Column("used_at", TS))
    bind = op.get_bind()
    stored: set[str] = set()
    rows = bind.execute(sa.select(commits.c.id, commits.c.manifest, commits.c.created_at))
    for commit_id, manifest, created_at in rows.all():
        fragments = {path: entry_json(path, entry) for path, entry in manifest.items()}
        parts = split(sorted(fragments), fragments)
        for part in parts:
            if part.id in stored:
                continue
            stored.add(part.id)
            sizes = [manifest[p].get("size", 0) for p in part.paths]
            bind.execute(
                sa.insert(chunks).values(
                    id=part.id,
                    entries=encoded_json(bind.dialect.name, part.text),
                    file_count=len(part.paths),
                    total_bytes=sum(sizes),
                    used_at=created_at,
                )
            )
        listed = encoded_json(bind.dialect.name, chunk_list_json([p.id for p in parts]))
        bind.execute(
            sa.update(commits)
            .where(commits.c.id == commit_id)
            .values(chunk_ids=listed, used_at=created_at)
        )
    with op.batch_alter_table("file_commits") as batch:
        batch.drop_column("manifest")
        batch.alter_column("chunk_ids", nullable=False)
        batch.alter_column("used_at", nullable=False)
        batch.alter_column("total_bytes", type_=sa.BigInteger, existing_nullable=False)


def downgrade() -> None:
    op.add_column("file_commits", sa.Column("manifest", JSONType))
    bind = op.get_bind()
    entries = dict(bind.execute(sa.select(chunks.c.id, chunks.c.entries)).all())
    for commit_id, chunk_ids in bind.execute(sa.select(commits.c.id, commits.c.chunk_ids)).all():
        manifest: dict[str, Any] = {}
        for chunk_id in chunk_ids:
            manifest.update(entries[chunk_id])
        text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
        bind.execute(
            sa.update(commits)
            .where(commits.c.id == commit_id)
            .values(manifest=encoded_json(bind.dialect.name, text))
        )
    with op.batch_alter_table("file_commits") as batch:
        batch.drop_column("chunk_ids")
        batch.drop_column("used_at")
        batch.alter_column("manifest", nullable=False)  # total_bytes stays BIGINT: it may not fit
    op.drop_table("file_chunks")
