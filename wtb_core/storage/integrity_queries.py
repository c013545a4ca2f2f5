"""What ``wtb integrity`` reads and repairs in the metadata database: the cross-references
between executions, batch rows, file-snapshot links, file commits and chunks, claim
heartbeats, and the few conditional writes its repairs make."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, select, update

from wtb_core.storage.database import Database, utcnow
from wtb_core.storage.tables import (
    BatchCellRecord,
    ExecutionRecord,
    FileChunkRecord,
    FileCommitRecord,
    FileSnapshotRecord,
)

_EXECUTIONS = cast(Table, ExecutionRecord.__table__)
_ROWS = cast(Table, BatchCellRecord.__table__)
_LINKS = cast(Table, FileSnapshotRecord.__table__)
_COMMITS = cast(Table, FileCommitRecord.__table__)
_CHUNKS = cast(Table, FileChunkRecord.__table__)
_BATCH = 500


@dataclass(frozen=True)
class ExecutionSummary:
    """The columns of an execution the checks look at (no state)."""

    id: str
    project: str
    thread_id: str
    status: str
    head_checkpoint_id: str | None
    parent_checkpoint_id: str | None
    owner: str | None
    heartbeat_at: datetime | None
    batch_id: str | None
    time_travel: bool


@dataclass(frozen=True)
class BatchRowRef:
    """A batch row and the execution it names."""

    batch_id: str
    row_id: int
    execution_id: str
    cell: str


@dataclass(frozen=True)
class FileLink:
    """A file-snapshot link: execution, checkpoint, commit."""

    id: int
    execution_id: str
    checkpoint_id: str
    commit_id: str


class IntegrityQueries:
    """The integrity part of ``MetadataStore``."""

    db: Database

    if TYPE_CHECKING:  # the typed-state helper of MetadataStore

        def _encoded(self, values: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]: ...

    # -- reading ---------------------------------------------------------------------------

    def execution_summaries(self) -> list[ExecutionSummary]:
        columns = [getattr(_EXECUTIONS.c, f) for f in ExecutionSummary.__dataclass_fields__]
        with self.db.reader() as session:
            rows = session.execute(select(*columns).order_by(_EXECUTIONS.c.created_at))
            return [
                ExecutionSummary(**{**row._asdict(), "time_travel": bool(row.time_travel)})
                for row in rows
            ]

    def batch_rows_without_execution(self) -> list[BatchRowRef]:
        """Batch rows naming an execution that does not exist."""
        query = (
            select(
                _ROWS.c.batch_id,
                _ROWS.c.id,
                _ROWS.c.execution_id,
                _ROWS.c.combination,
                _ROWS.c.case,
                _ROWS.c.repetition,
            )
            .where(_ROWS.c.execution_id.is_not(None))
            .where(_ROWS.c.execution_id.not_in(select(_EXECUTIONS.c.id)))
            .order_by(_ROWS.c.id)
        )
        with self.db.reader() as session:
            return [
                BatchRowRef(batch, row_id, execution, f"{combination} × {case} #{repetition}")
                for batch, row_id, execution, combination, case, repetition in session.execute(
                    query
                )
            ]

    def unreferenced_cell_executions(self) -> list[str]:
        """Executions created for a batch cell that no batch row references (not the
        trunks of shared-prefix batches: their batch finds them by ``prefix_key``)."""
        referenced = select(_ROWS.c.execution_id).where(_ROWS.c.execution_id.is_not(None))
        query = (
            select(_EXECUTIONS.c.id)
            .where(_EXECUTIONS.c.batch_id.is_not(None))
            .where(_EXECUTIONS.c.prefix_key.is_(None))
            .where(_EXECUTIONS.c.id.not_in(referenced))
            .order_by(_EXECUTIONS.c.created_at)
        )
        with self.db.reader() as session:
            return list(session.scalars(query))

    def file_links(self) -> list[FileLink]:
        query = select(
            _LINKS.c.id, _LINKS.c.execution_id, _LINKS.c.checkpoint_id, _LINKS.c.commit_id
        ).order_by(_LINKS.c.id)
        with self.db.reader() as session:
            return [FileLink(*row) for row in session.execute(query)]

    def stored_commit_ids(self, commit_ids: Iterable[str]) -> set[str]:
        """Which of ``commit_ids`` are stored."""
        found: set[str] = set()
        ids = list(set(commit_ids))
        with self.db.reader() as session:
            for start in range(0, len(ids), _BATCH):
                query = select(_COMMITS.c.id).where(_COMMITS.c.id.in_(ids[start : start + _BATCH]))
                found.update(session.scalars(query))
        return found

    def commits_missing_chunks(self) -> dict[str, list[str]]:
        """Commits that list a chunk which is not stored, with those chunks."""
        with self.db.reader() as session:
            listed = {
                commit: list(ids)
                for commit, ids in session.execute(select(_COMMITS.c.id, _COMMITS.c.chunk_ids))
            }
            wanted = sorted({c for ids in listed.values() for c in ids})
            stored: set[str] = set()
            for start in range(0, len(wanted), _BATCH):
                query = select(_CHUNKS.c.id).where(_CHUNKS.c.id.in_(wanted[start : start + _BATCH]))
                stored.update(session.scalars(query))
        broken = {commit: [c for c in ids if c not in stored] for commit, ids in listed.items()}
        return {commit: missing for commit, missing in broken.items() if missing}

    # -- writing ---------------------------------------------------------------------------

    def renew_heartbeats(self, execution_ids: Sequence[str], owner: str) -> int:
        """Renew the claims ``owner`` holds on these running executions; how many."""
        if not execution_ids:
            return 0
        statement = (
            update(_EXECUTIONS)
            .where(_EXECUTIONS.c.id.in_(list(execution_ids)))
            .where(_EXECUTIONS.c.owner == owner, _EXECUTIONS.c.status == "running")
            .values(heartbeat_at=utcnow())
        )

        def write() -> int:
            with self.db.connection() as connection:
                return connection.execute(statement).rowcount

        return self.db.retrying(write)

    def fail_stuck_execution(
        self, execution_id: str, owner: str | None, error: str, fields: dict[str, Any]
    ) -> bool:
        """Mark a ``running`` execution of ``owner`` failed with ``error`` (and ``fields``),
        if it is still so: a compare-and-set, so a run that claimed it meanwhile wins."""
        table = _EXECUTIONS
        owned = table.c.owner.is_(None) if owner is None else table.c.owner == owner
        statement = (
            update(table)
            .where(table.c.id == execution_id, table.c.status == "running", owned)
            .values(
                **self._encoded(dict(fields), ("state",)),
                status="failed",
                error=error,
                updated_at=utcnow(),
            )
        )
        with self.db.connection() as connection:
            return connection.execute(statement).rowcount == 1

    def relink_file_snapshot(self, link_id: int, commit_id: str) -> None:
        with self.db.connection() as connection:
            connection.execute(
                update(_LINKS).where(_LINKS.c.id == link_id).values(commit_id=commit_id)
            )

    def drop_file_snapshot(self, link_id: int) -> None:
        with self.db.connection() as connection:
            connection.execute(delete(_LINKS).where(_LINKS.c.id == link_id))
