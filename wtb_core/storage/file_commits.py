"""File commits (the manifests file trackers record per checkpoint), stored in chunks.

A manifest maps a workspace-relative path to an entry (``{"hash", "size", "mode"}`` or
``{"link"}``). It is stored as *chunks*: runs of consecutive paths in sorted order, each
row named by the SHA-256 of its canonical JSON and stored once, whichever commit lists it.
Where a chunk ends depends on the paths alone (after a path whose CRC-32 has its low six
bits clear, so about 64 entries; at most ``MAX_CHUNK``), so a snapshot that changes ten
files of ten thousand stores about ten small chunks rather than the whole manifest again.
A commit lists its chunks in order; its id is the SHA-256 of that list, so identical trees
share one commit.

Garbage collection and writers meet on ``used_at``: a writer that reuses a chunk or commit
not used lately marks it used (and stores it again if a collection took it meanwhile); a
collection while executions run keeps what was used within its grace period.

Where this lives: the tables (``file_commits``, ``file_chunks``, ``file_snapshots``), this
storage API and the chunk format (``is_end``, ``split``, ``run_chunks``) are the kernel's;
keeping a manifest's chunks current as files change (``wtb_filetrack.chunks``) is the file
tracker's. The tables stay in the kernel's migrations rather than a plugin's own Alembic
branch because the kernel itself uses them: ``delete_execution`` drops an execution's
snapshot links, fork copies them, ``FileSnapshot`` is part of the SDK, and wtb-postgres
stores them in the same database (JSONB). Every data directory made so far has them at the
kernel's head revision, so moving them would mean a branch migration that recognises
tables it did not create — for no gain. The chunk format stays here with them because
commit ids are derived from it: migration 0005 splits old manifests with it, a tracker
that passes no chunks gets ``split``, and a tracker that keeps its own must produce the
same chunks, or identical trees would stop sharing commits.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from typing import cast as typed

from sqlalchemy import Table, Text, cast, delete, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB

from wtb_core.errors import StorageError
from wtb_core.storage.database import Database, as_utc, insert_ignoring_duplicates, utcnow
from wtb_core.storage.tables import FileChunkRecord, FileCommitRecord, FileSnapshotRecord

Entry = dict[str, Any]
Manifest = dict[str, Entry]

BOUNDARY_MASK = 0x3F
MAX_CHUNK = 1024
FRESHEN = timedelta(minutes=10)
"""A reused chunk or commit last marked used longer ago than this is marked again."""
BATCH = 500
"""Ids per ``IN (…)`` list."""

_COMMITS = typed(Table, FileCommitRecord.__table__)
_CHUNKS = typed(Table, FileChunkRecord.__table__)
_LINKS = typed(Table, FileSnapshotRecord.__table__)


def entry_json(path: str, entry: Entry) -> str:
    """``"path":{…}``: one entry exactly as the canonical JSON of a manifest has it."""
    return json.dumps({path: entry}, sort_keys=True, separators=(",", ":"))[1:-1]


@dataclass(frozen=True)
class Chunk:
    """Consecutive sorted ``paths`` of a manifest and their canonical JSON."""

    id: str
    text: str
    paths: Sequence[str]


def is_end(path: str) -> bool:
    """Whether a chunk ends after ``path`` (whatever else the manifest holds)."""
    return not zlib.crc32(path.encode()) & BOUNDARY_MASK


def split(paths: Sequence[str], fragments: Mapping[str, str]) -> list[Chunk]:
    """The chunks of the manifest whose sorted ``paths`` have the entry JSON
    ``fragments``: runs of paths up to and including an end (``is_end``), each cut into
    pieces of ``MAX_CHUNK``."""
    chunks, start = [], 0
    for i, path in enumerate(paths):
        if is_end(path):
            chunks += run_chunks(paths[start : i + 1], fragments)
            start = i + 1
    return chunks + run_chunks(paths[start:], fragments)


def run_chunks(run: Sequence[str], fragments: Mapping[str, str]) -> list[Chunk]:
    """The chunks of one run (sorted paths, only its last one an end): pieces of
    ``MAX_CHUNK`` paths."""
    chunks = []
    for start in range(0, len(run), MAX_CHUNK):
        paths = run[start : start + MAX_CHUNK]
        text = "{" + ",".join([fragments[p] for p in paths]) + "}"
        chunks.append(Chunk(hashlib.sha256(text.encode()).hexdigest(), text, paths))
    return chunks


def chunk_list_json(chunk_ids: Sequence[str]) -> str:
    return json.dumps(list(chunk_ids), separators=(",", ":"))


def commit_id_of(chunk_ids: Sequence[str]) -> str:
    """A commit's id: the SHA-256 of the JSON list of its chunk ids."""
    return hashlib.sha256(chunk_list_json(chunk_ids).encode()).hexdigest()


@dataclass(frozen=True)
class StoredCommit:
    """A file commit as stored: its id, manifest and totals."""

    id: str
    manifest: Manifest
    file_count: int
    total_bytes: int


@dataclass(frozen=True)
class StoredFileSnapshot:
    """One snapshot link of an execution, with its commit."""

    checkpoint_id: str
    created_at: datetime
    commit: StoredCommit


def encoded_json(dialect: str, encoded: str) -> Any:
    """Already-encoded JSON as a JSON column value (not encoded a second time)."""
    if dialect == "postgresql":
        return cast(literal(encoded, Text), JSONB)
    return literal(encoded, Text)


def _batches(ids: Iterable[str]) -> Iterator[list[str]]:
    ids = list(ids)
    for i in range(0, len(ids), BATCH):
        yield ids[i : i + BATCH]


class FileCommitQueries:
    """The file-snapshot part of ``MetadataStore`` (written by file-tracker plugins)."""

    db: Database

    def save_file_snapshot(
        self,
        execution_id: str,
        checkpoint_id: str,
        manifest: Manifest,
        chunks: Sequence[Chunk] | None = None,
    ) -> str:
        """Store the manifest as a commit (its new chunks only) linked to the checkpoint;
        returns the commit id. ``chunks``: the manifest's chunks when the caller keeps them
        (they must equal ``split`` of the whole manifest); otherwise it is split here."""
        if chunks is None:
            fragments = {path: entry_json(path, entry) for path, entry in manifest.items()}
            chunks = split(sorted(fragments), fragments)
        chunk_ids = [c.id for c in chunks]
        commit_id = commit_id_of(chunk_ids)
        now = utcnow()
        with self.db.connection() as connection:
            dialect = connection.dialect.name
            known = connection.execute(
                select(_COMMITS.c.used_at).where(_COMMITS.c.id == commit_id)
            ).first()
            stale = known is not None and as_utc(known.used_at) < now - FRESHEN
            if known is None or (stale and not _mark_used(connection, _COMMITS, [commit_id], now)):
                # new, or a garbage collection took it since we looked: store it
                total = _store_chunks(connection, chunks, manifest, now)
                connection.execute(
                    insert_ignoring_duplicates(connection, _COMMITS).values(
                        id=commit_id,
                        chunk_ids=encoded_json(dialect, chunk_list_json(chunk_ids)),
                        file_count=len(manifest),
                        total_bytes=total,
                        created_at=now,
                        used_at=now,
                    )
                )
            linked = connection.execute(
                update(_LINKS)
                .where(_LINKS.c.execution_id == execution_id)
                .where(_LINKS.c.checkpoint_id == checkpoint_id)
                .values(commit_id=commit_id)
            ).rowcount
            if not linked:
                connection.execute(
                    insert(_LINKS).values(
                        execution_id=execution_id,
                        checkpoint_id=checkpoint_id,
                        commit_id=commit_id,
                        created_at=now,
                    )
                )
        return commit_id

    def file_snapshots(self, execution_id: str) -> list[StoredFileSnapshot]:
        """An execution's snapshots with their manifests, oldest first (each distinct
        chunk read once)."""
        query = (
            select(_LINKS.c.checkpoint_id, _LINKS.c.commit_id, _LINKS.c.created_at)
            .where(_LINKS.c.execution_id == execution_id)
            .order_by(_LINKS.c.id)
        )
        with self.db.reader() as session:
            links = session.execute(query).all()
            commits = _commits(session, {link.commit_id for link in links})
        return [
            StoredFileSnapshot(cp, as_utc(created), commits[commit])
            for cp, commit, created in links
            if commit in commits
        ]

    def file_snapshot_links(self, execution_id: str) -> dict[str, str]:
        """An execution's snapshots as ``{checkpoint_id: commit_id}`` (no manifests)."""
        query = select(_LINKS.c.checkpoint_id, _LINKS.c.commit_id).where(
            _LINKS.c.execution_id == execution_id
        )
        with self.db.reader() as session:
            return {checkpoint: commit for checkpoint, commit in session.execute(query)}

    def file_commit(self, commit_id: str) -> Manifest | None:
        """One commit's manifest, or ``None`` if it is not stored."""
        with self.db.reader() as session:
            commit = _commits(session, {commit_id}).get(commit_id)
        return commit.manifest if commit is not None else None

    def delete_file_snapshots(self, execution_id: str, keep_newest: int) -> int:
        """Drop an execution's snapshot links older than its newest ``keep_newest``;
        returns how many (their commits and chunks go at the next garbage collection)."""
        older = (
            select(_LINKS.c.id)
            .where(_LINKS.c.execution_id == execution_id)
            .order_by(_LINKS.c.id.desc())
            .offset(keep_newest)
        )
        with self.db.reader() as session:
            ids = list(session.scalars(older))
        if ids:  # a read first: most snapshots are within the limit and need no write
            with self.db.connection() as connection:
                connection.execute(delete(_LINKS).where(_LINKS.c.id.in_(ids)))
        return len(ids)

    def copy_file_snapshots(
        self, source_execution_id: str, target_execution_id: str, checkpoint_ids: Sequence[str]
    ) -> None:
        """Link the target execution to the source's commits at these checkpoints."""
        wanted = set(checkpoint_ids)
        now = utcnow()
        with self.db.connection() as connection:
            links = connection.execute(
                select(_LINKS.c.checkpoint_id, _LINKS.c.commit_id)
                .where(_LINKS.c.execution_id == source_execution_id)
                .order_by(_LINKS.c.id)
            ).all()
            rows = [
                {
                    "execution_id": target_execution_id,
                    "checkpoint_id": checkpoint,
                    "commit_id": commit,
                    "created_at": now,
                }
                for checkpoint, commit in links
                if checkpoint in wanted
            ]
            if rows:
                connection.execute(insert(_LINKS), rows)

    def delete_unreferenced_file_commits(self, used_before: datetime | None = None) -> int:
        """Delete the commits no snapshot links to, then the chunks no commit lists;
        ``used_before``: only those last used before then. Returns the commits deleted."""
        with self.db.connection() as connection:
            linked = select(_LINKS.c.commit_id).distinct()
            doomed = delete(_COMMITS).where(_COMMITS.c.id.not_in(linked))
            if used_before is not None:
                doomed = doomed.where(_COMMITS.c.used_at < used_before)
            commits = connection.execute(doomed).rowcount
            listed: set[str] = set()
            for (ids,) in connection.execute(select(_COMMITS.c.chunk_ids)):
                listed.update(ids)
            candidates = select(_CHUNKS.c.id)
            if used_before is not None:
                candidates = candidates.where(_CHUNKS.c.used_at < used_before)
            unlisted = [c for c in connection.execute(candidates).scalars() if c not in listed]
            for batch in _batches(unlisted):
                gone = delete(_CHUNKS).where(_CHUNKS.c.id.in_(batch))
                if used_before is not None:  # a writer may have reused it since we looked
                    gone = gone.where(_CHUNKS.c.used_at < used_before)
                connection.execute(gone)
        return commits

    def file_blob_commits(self) -> dict[str, set[str]]:
        """Every blob hash some snapshot's commit lists, with the commits listing it."""
        linked = select(_COMMITS.c.id, _COMMITS.c.chunk_ids).where(
            _COMMITS.c.id.in_(select(_LINKS.c.commit_id).distinct())
        )
        found: dict[str, set[str]] = {}
        with self.db.reader() as session:
            commits_of: dict[str, set[str]] = {}
            for commit, ids in session.execute(linked):
                for chunk in ids:
                    commits_of.setdefault(chunk, set()).add(commit)
            for batch in _batches(commits_of):
                query = select(_CHUNKS.c.id, _CHUNKS.c.entries).where(_CHUNKS.c.id.in_(batch))
                for chunk, entries in session.execute(query):
                    for entry in entries.values():
                        if "hash" in entry:
                            found.setdefault(entry["hash"], set()).update(commits_of[chunk])
        return found

    def file_blob_digests(self) -> set[str]:
        """Every blob hash some snapshot's commit lists (what garbage collection keeps)."""
        linked = select(_COMMITS.c.chunk_ids).where(
            _COMMITS.c.id.in_(select(_LINKS.c.commit_id).distinct())
        )
        digests: set[str] = set()
        with self.db.reader() as session:
            chunk_ids = {c for (ids,) in session.execute(linked) for c in ids}
            for batch in _batches(chunk_ids):
                query = select(_CHUNKS.c.entries).where(_CHUNKS.c.id.in_(batch))
                for (entries,) in session.execute(query):
                    digests.update(e["hash"] for e in entries.values() if "hash" in e)
        return digests


def _store_chunks(
    connection: Any, chunks: Sequence[Chunk], manifest: Manifest, now: datetime
) -> int:
    """Store the chunks not stored yet, mark the stale reused ones used (storing any a
    collection took meanwhile); returns the manifest's total bytes."""
    stored: dict[str, tuple[datetime, int]] = {}
    for batch in _batches({c.id for c in chunks}):
        query = select(_CHUNKS.c.id, _CHUNKS.c.used_at, _CHUNKS.c.total_bytes).where(
            _CHUNKS.c.id.in_(batch)
        )
        stored.update((i, (as_utc(u), t)) for i, u, t in connection.execute(query))
    stale = [i for i, (used, _) in stored.items() if used < now - FRESHEN]
    if stale and _mark_used(connection, _CHUNKS, stale, now) < len(stale):
        for i in stale:  # a garbage collection deleted some since we looked
            stored.pop(i)
    total = 0
    new: list[tuple[Chunk, int]] = []
    seen: set[str] = set()
    for c in chunks:
        if c.id in stored:
            total += stored[c.id][1]
            continue
        size = sum(manifest[p].get("size", 0) for p in c.paths)
        total += size
        if c.id not in seen:
            seen.add(c.id)
            new.append((c, size))
    for start in range(0, len(new), 100):
        connection.execute(
            insert_ignoring_duplicates(connection, _CHUNKS).values(
                [
                    {
                        "id": c.id,
                        "entries": encoded_json(connection.dialect.name, c.text),
                        "file_count": len(c.paths),
                        "total_bytes": size,
                        "used_at": now,
                    }
                    for c, size in new[start : start + 100]
                ]
            )
        )
    return total


def _mark_used(connection: Any, table: Any, ids: list[str], now: datetime) -> int:
    marked = 0
    for batch in _batches(ids):
        marked += connection.execute(
            update(table).where(table.c.id.in_(batch)).values(used_at=now)
        ).rowcount
    return marked


def _commits(session: Any, commit_ids: set[str]) -> dict[str, StoredCommit]:
    """The stored commits among ``commit_ids``, manifests assembled from their chunks."""
    rows = []
    for batch in _batches(commit_ids):
        query = select(
            _COMMITS.c.id, _COMMITS.c.chunk_ids, _COMMITS.c.file_count, _COMMITS.c.total_bytes
        ).where(_COMMITS.c.id.in_(batch))
        rows += session.execute(query).all()
    entries: dict[str, Manifest] = {}
    for batch in _batches({c for row in rows for c in row.chunk_ids}):
        query = select(_CHUNKS.c.id, _CHUNKS.c.entries).where(_CHUNKS.c.id.in_(batch))
        entries.update(session.execute(query).all())
    commits = {}
    for row in rows:
        manifest: Manifest = {}
        for chunk_id in row.chunk_ids:
            if chunk_id not in entries:
                raise StorageError(
                    f"file commit {row.id} lists chunk {chunk_id}, which is missing from "
                    "the metadata database: restore the database from a backup"
                )
            manifest.update(entries[chunk_id])
        commits[row.id] = StoredCommit(row.id, manifest, row.file_count, row.total_bytes)
    return commits
