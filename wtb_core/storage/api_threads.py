"""Threads and runs of the LangGraph Agent Server API (``wtb_core.server.langgraph``).

A thread (``api_threads``) is created before its first run, with the client's metadata and
the id of the execution its runs drive (chosen at creation, so two first runs of one
thread race for one execution id and exactly one wins). A run (``api_runs``) is one run
or resume of that execution, written once it ended (the server holds it in memory while it
runs). Reads hand back frozen ``StoredThread`` / ``StoredRun`` values; every method is one
short transaction. On a SQLite file the reads and writes by key that every API run makes
take the fast path (``sqlite_fast``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update

from wtb_core.storage.database import Database, as_utc, insert_ignoring_duplicates, utcnow
from wtb_core.storage.sqlite_fast import FastRows
from wtb_core.storage.tables import ApiRunRecord, ApiThreadRecord

_THREADS = cast(Table, ApiThreadRecord.__table__)
_RUNS = cast(Table, ApiRunRecord.__table__)


@dataclass(frozen=True)
class StoredThread:
    thread_id: str
    execution_id: str | None
    project: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    thread_id: str
    assistant_id: str
    status: str
    metadata: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: str = "reject"
    error: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


def _thread(result: Any) -> StoredThread:
    row = result if isinstance(result, dict) else result._mapping
    return StoredThread(
        thread_id=row["thread_id"],
        execution_id=row["execution_id"],
        project=row["project"],
        metadata=dict(row["metadata"] or {}),
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
    )


def _run(result: Any) -> StoredRun:
    row = result if isinstance(result, dict) else result._mapping
    return StoredRun(
        run_id=row["run_id"],
        thread_id=row["thread_id"],
        assistant_id=row["assistant_id"],
        status=row["status"],
        metadata=dict(row["metadata"] or {}),
        multitask_strategy=row["multitask_strategy"],
        error=row["error"],
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
    )


class ApiThreadStore:
    """The ``api_threads`` and ``api_runs`` tables of one metadata database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._fast_threads: FastRows | None = None
        self._fast_runs: FastRows | None = None
        if db.sqlite_path and db.write_lock is not None:
            self._fast_threads = FastRows(db.sqlite_path, _THREADS, db.write_lock)
            self._fast_runs = FastRows(db.sqlite_path, _RUNS, db.write_lock)

    def close(self) -> None:
        for fast in (self._fast_threads, self._fast_runs):
            if fast is not None:
                fast.close()

    # -- threads -------------------------------------------------------------------------

    def create_thread(self, thread: StoredThread) -> bool:
        """Insert ``thread``; ``False`` (and nothing written) when its id exists."""
        values = {
            "thread_id": thread.thread_id,
            "execution_id": thread.execution_id,
            "project": thread.project,
            "metadata": dict(thread.metadata),
            "created_at": thread.created_at,
            "updated_at": thread.updated_at,
        }
        if self._fast_threads is not None:
            return self._fast_threads.insert(values)

        def write() -> int:
            with self.db.connection() as connection:
                statement = insert_ignoring_duplicates(connection, _THREADS)
                return int(connection.execute(statement, values).rowcount)

        return self.db.retrying(write) == 1

    def get_thread(self, thread_id: str) -> StoredThread | None:
        if self._fast_threads is not None:
            found = self._fast_threads.get(thread_id)
            return None if found is None else _thread(found)
        query = select(_THREADS).where(_THREADS.c.thread_id == thread_id)
        with self.db.reader() as session:
            row = session.execute(query).first()
        return None if row is None else _thread(row)

    def thread_of_execution(self, execution_id: str) -> StoredThread | None:
        """The thread whose runs drive ``execution_id`` (the oldest, should there be two)."""
        query = (
            select(_THREADS)
            .where(_THREADS.c.execution_id == execution_id)
            .order_by(_THREADS.c.created_at)
            .limit(1)
        )
        with self.db.reader() as session:
            row = session.execute(query).first()
        return None if row is None else _thread(row)

    def list_threads(self, ids: list[str] | None = None) -> list[StoredThread]:
        """Every thread (or those of ``ids``), newest first."""
        query = select(_THREADS).order_by(_THREADS.c.created_at.desc(), _THREADS.c.thread_id)
        if ids is not None:
            query = query.where(_THREADS.c.thread_id.in_(ids))
        with self.db.reader() as session:
            return [_thread(row) for row in session.execute(query)]

    def update_thread(
        self,
        thread_id: str,
        *,
        project: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Set the project and/or replace the metadata; ``updated_at`` moves either way."""
        fields: dict[str, Any] = {"updated_at": utcnow()}
        if project is not None:
            fields["project"] = project
        if metadata is not None:
            fields["metadata"] = dict(metadata)
        if self._fast_threads is not None:
            self._fast_threads.update(thread_id, fields)
            return
        statement = update(_THREADS).where(_THREADS.c.thread_id == thread_id).values(**fields)

        def write() -> None:
            with self.db.connection() as connection:
                connection.execute(statement)

        self.db.retrying(write)

    # -- runs ----------------------------------------------------------------------------

    def create_run(self, run: StoredRun) -> None:
        values = {
            "run_id": run.run_id,
            "thread_id": run.thread_id,
            "assistant_id": run.assistant_id,
            "status": run.status,
            "metadata": dict(run.metadata),
            "multitask_strategy": run.multitask_strategy,
            "error": run.error,
            "created_at": run.created_at,
            "updated_at": run.updated_at,
        }
        if self._fast_runs is not None:
            self._fast_runs.insert(values)
            return

        def write() -> None:
            with self.db.connection() as connection:
                connection.execute(insert(_RUNS), values)

        self.db.retrying(write)

    def get_run(self, run_id: str) -> StoredRun | None:
        if self._fast_runs is not None:
            found = self._fast_runs.get(run_id)
            return None if found is None else _run(found)
        query = select(_RUNS).where(_RUNS.c.run_id == run_id)
        with self.db.reader() as session:
            row = session.execute(query).first()
        return None if row is None else _run(row)

    def list_runs(
        self, thread_id: str, limit: int, offset: int = 0, status: str | None = None
    ) -> list[StoredRun]:
        """Runs of a thread, newest first."""
        query = (
            select(_RUNS)
            .where(_RUNS.c.thread_id == thread_id)
            .order_by(_RUNS.c.created_at.desc(), _RUNS.c.run_id)
            .limit(limit)
            .offset(offset)
        )
        if status is not None:
            query = query.where(_RUNS.c.status == status)
        with self.db.reader() as session:
            return [_run(row) for row in session.execute(query)]
