"""File commits in chunks: identical content stored once, a small change stores a small
chunk, every manifest reads back exactly, garbage collection keeps what is listed, and
migration 0005 carries commits stored whole by earlier versions."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, delete, func, select, text

from wtb_core.errors import StorageError
from wtb_core.storage.database import MIGRATIONS, Database
from wtb_core.storage.file_commits import entry_json
from wtb_core.storage.metadata import MetadataStore
from wtb_core.storage.tables import FileChunkRecord


def manifest_of(count: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    return {
        f"out/d{i % 17}/f{i:05}.bin": {
            "hash": hashlib.sha256(str(rng.random()).encode()).hexdigest(),
            "size": rng.randrange(1 << 20),
            "mode": 0o644,
        }
        for i in range(count)
    }


def fragments_of(manifest: dict) -> dict:
    return {path: entry_json(path, entry) for path, entry in manifest.items()}


@pytest.fixture
def store(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite'}")
    db.migrate()
    store = MetadataStore(db)
    yield store
    store.close()
    db.close()


def chunk_rows(store: MetadataStore) -> int:
    with store.db.reader() as session:
        return session.scalar(select(func.count()).select_from(FileChunkRecord))


def test_one_changed_file_stores_one_small_chunk(store):
    manifest = manifest_of(5000)
    first = store.save_file_snapshot("e1", "cp1", manifest)
    stored = chunk_rows(store)
    assert stored > 30  # about 64 entries per chunk

    changed = dict(manifest)
    path = sorted(changed)[1234]
    changed[path] = {**changed[path], "hash": "f" * 64}
    second = store.save_file_snapshot("e1", "cp2", changed)
    assert second != first
    assert chunk_rows(store) == stored + 1
    assert store.file_commit(first) == manifest
    assert store.file_commit(second) == changed
    [a, b] = store.file_snapshots("e1")
    assert (a.checkpoint_id, a.commit.id, b.commit.id) == ("cp1", first, second)
    assert b.commit.file_count == 5000
    assert b.commit.total_bytes == sum(e["size"] for e in changed.values())


def test_identical_trees_share_one_commit_across_executions(store):
    manifest = manifest_of(300)
    one = store.save_file_snapshot("e1", "cp1", manifest)
    rows = chunk_rows(store)
    two = store.save_file_snapshot("e2", "cp9", dict(reversed(list(manifest.items()))))
    assert one == two and chunk_rows(store) == rows
    assert store.file_snapshot_links("e2") == {"cp9": one}
    assert store.save_file_snapshot("e3", "cp1", {}) != one  # an empty tree is a commit too
    assert store.file_commit(store.file_snapshot_links("e3")["cp1"]) == {}


def test_garbage_collection_keeps_every_chunk_a_commit_lists(store):
    kept, dropped = manifest_of(400, seed=1), manifest_of(400, seed=2)
    shared = sorted(kept)[:100]
    for path in shared:
        dropped[path] = kept[path]  # chunks of these paths are listed by both commits
    keep = store.save_file_snapshot("keep", "cp", kept)
    drop = store.save_file_snapshot("drop", "cp", dropped)
    with store.db.connection() as connection:
        connection.execute(text("DELETE FROM file_snapshots WHERE execution_id = 'drop'"))

    recently = datetime.now(UTC) - timedelta(hours=1)
    assert store.delete_unreferenced_file_commits(used_before=recently) == 0  # in use lately
    assert store.file_commit(drop) == dropped
    assert store.delete_unreferenced_file_commits() == 1
    assert store.file_commit(drop) is None
    assert store.file_commit(keep) == kept
    assert store.file_blob_digests() == {e["hash"] for e in kept.values()}


def test_a_missing_chunk_is_a_storage_error_naming_the_commit(store):
    commit = store.save_file_snapshot("e1", "cp1", manifest_of(200))
    with store.db.connection() as connection:
        victim = connection.execute(select(FileChunkRecord.id).limit(1)).scalar()
        connection.execute(delete(FileChunkRecord).where(FileChunkRecord.id == victim))
    with pytest.raises(StorageError, match=f"file commit {commit} lists chunk {victim}"):
        store.file_commit(commit)


def alembic(connection: Connection, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


def check_migration_0005(url: str) -> None:
    """Commits stored whole (before 0005) read back the same after it, and before it
    again after a downgrade."""
    manifest = manifest_of(700)
    legacy_id = "c" * 64
    db = Database(url)
    with db.write_engine.begin() as connection:
        alembic(connection, "upgrade", "0004")
        connection.execute(
            text(
                "INSERT INTO file_commits (id, manifest, file_count, total_bytes, created_at) "
                "VALUES (:id, :manifest, :count, :total, :at)"
            ),
            {
                "id": legacy_id,
                "manifest": json.dumps(manifest),
                "count": len(manifest),
                "total": sum(e["size"] for e in manifest.values()),
                "at": datetime(2026, 11, 1, tzinfo=UTC),
            },
        )
        connection.execute(
            text(
                "INSERT INTO file_snapshots (execution_id, checkpoint_id, commit_id, created_at) "
                "VALUES ('e1', 'cp1', :id, :at)"
            ),
            {"id": legacy_id, "at": datetime(2026, 11, 1, tzinfo=UTC)},
        )
    db.migrate()
    store = MetadataStore(db)
    assert store.file_commit(legacy_id) == manifest
    [snapshot] = store.file_snapshots("e1")
    assert (snapshot.commit.id, snapshot.commit.file_count) == (legacy_id, 700)
    big = {"out/huge.bin": {"hash": "a" * 64, "size": 5 << 30, "mode": 0o644}}
    assert store.file_snapshots("e2") == []
    store.save_file_snapshot("e2", "cp1", big)
    assert store.file_snapshots("e2")[0].commit.total_bytes == 5 << 30  # BIGINT now

    with db.write_engine.begin() as connection:
        alembic(connection, "downgrade", "0004")
        stored = connection.execute(
            text("SELECT manifest FROM file_commits WHERE id = :id"), {"id": legacy_id}
        ).scalar()
    assert (json.loads(stored) if isinstance(stored, str) else stored) == manifest
    store.close()
    db.close()


def test_migration_0005_keeps_commits_stored_whole(tmp_path):
    check_migration_0005(f"sqlite:///{tmp_path / 'm.sqlite'}")
