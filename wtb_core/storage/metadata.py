"""Repository over the metadata database: projects, executions, audit events."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    CursorResult,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from wtb_core.errors import ExecutionNotFoundError, StorageError
from wtb_core.storage.database import (
    Database,
    UnreadableJSON,
    insert_ignoring_duplicates,
    utcnow,
)
from wtb_core.storage.file_commits import FileCommitQueries
from wtb_core.storage.sqlite_fast import FastRowWriter
from wtb_core.storage.state_codec import StateCodec
from wtb_core.storage.tables import (
    AuditEventRecord,
    BatchCellRecord,
    BatchRecord,
    ExecutionRecord,
    FileSnapshotRecord,
    ProjectRecord,
)

# The hot paths (a run writes an execution row and its events) use Core statements on the
# tables: the ORM's unit of work costs more than the SQL itself here.
_EXECUTIONS = cast(Table, ExecutionRecord.__table__)
_INSERT_EXECUTION = insert(_EXECUTIONS)
_UPDATE_EXECUTION = update(_EXECUTIONS).where(_EXECUTIONS.c.id == bindparam("execution_id"))
_EVENTS = cast(Table, AuditEventRecord.__table__)
_INSERT_EVENTS = insert(_EVENTS)
_INSERT_EVENTS_RETURNING = _INSERT_EVENTS.returning(_EVENTS.c.id, sort_by_parameter_order=True)
# Held by each transaction appending audit rows on PostgreSQL (see append_events).
_LOCK_EVENT_LOG = text("SELECT pg_advisory_xact_lock(7781346255003721)")
_BATCHES = cast(Table, BatchRecord.__table__)
_BATCH_ROWS = cast(Table, BatchCellRecord.__table__)
_EXECUTION_STATES = ("state", "initial_state")
_log = logging.getLogger(__name__)
_Row = TypeVar("_Row", ExecutionRecord, BatchCellRecord)
_JSON_COLUMNS = tuple(c.name for c in _EXECUTIONS.columns if isinstance(c.type, JSON))


class MetadataStore(FileCommitQueries):
    """Reads and writes WTB's own records. Every method is one short transaction."""

    def __init__(self, db: Database, codec: StateCodec | None = None) -> None:
        """``codec`` stores state with its types beside the JSON rendering (without one,
        state reads back as JSON data)."""
        self.db = db
        self._codec = codec
        # SQLite files: the per-run execution writes skip SQLAlchemy (see sqlite_fast).
        self._fast = (
            FastRowWriter(db.sqlite_path, _EXECUTIONS, db.write_lock)
            if db.sqlite_path and db.write_lock is not None
            else None
        )

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()

    # -- projects ------------------------------------------------------------------------

    def save_project(
        self, name: str, description: str, factory_ref: str | None, settings: dict[str, Any]
    ) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            row = session.get(ProjectRecord, name)
            if row is None:
                session.add(
                    ProjectRecord(
                        name=name,
                        description=description,
                        factory_ref=factory_ref,
                        settings=settings,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                row.description = description
                row.factory_ref = factory_ref or row.factory_ref
                row.settings = settings
                row.updated_at = now

    def get_project(self, name: str) -> ProjectRecord | None:
        with self.db.reader() as session:
            return session.get(ProjectRecord, name)

    def list_projects(self) -> list[ProjectRecord]:
        with self.db.reader() as session:
            return list(session.scalars(select(ProjectRecord).order_by(ProjectRecord.name)))

    def ping(self) -> None:
        """A trivial read; raises when the database does not answer."""
        with self.db.reader() as session:
            session.execute(select(literal(1)))

    # -- typed state ---------------------------------------------------------------------

    def _encoded(self, values: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
        """``values`` plus the ``<key>_blob`` of each state among ``keys`` it sets."""
        if self._codec is None or not any(key in values for key in keys):
            return values
        encoded = dict(values)
        for key in keys:
            if key in values:
                encoded[f"{key}_blob"] = self._codec.encode(values[key])
        return encoded

    def _decoded(self, row: _Row, keys: Sequence[str], what: str) -> _Row:
        """``row`` with each state among ``keys`` read from its blob when it has one."""
        if self._codec is not None:
            for key in keys:
                blob = getattr(row, f"{key}_blob")
                if blob is None:
                    continue
                try:
                    setattr(row, key, self._codec.decode(blob, what))
                except StorageError as exc:  # a type not (yet) allowed: keep the JSON form
                    _log.warning("%s; read as JSON data instead", exc)
        return row

    def _execution(self, row: ExecutionRecord) -> ExecutionRecord:
        """A stored execution, typed; ``StorageError`` if a column of it is damaged."""
        for column in _JSON_COLUMNS:
            value = getattr(row, column)
            if isinstance(value, UnreadableJSON):
                raise StorageError(
                    f"execution {row.id} is damaged in the metadata database: its {column!r} "
                    f"column holds {value[:60]!r}, which is not JSON. Delete the execution "
                    "(bench.delete_execution) or repair the row"
                )
        return self._decoded(row, _EXECUTION_STATES, f"execution {row.id}")

    def _readable(self, rows: Iterable[ExecutionRecord]) -> list[ExecutionRecord]:
        """``rows`` typed, leaving out (with a warning) those that are damaged."""
        readable = []
        for row in rows:
            try:
                readable.append(self._execution(row))
            except StorageError as exc:
                _log.warning("%s; left out of the listing", exc)
        return readable

    # -- executions ----------------------------------------------------------------------

    def create_execution(self, row: ExecutionRecord) -> None:
        values = {column.key: getattr(row, column.key) for column in _EXECUTIONS.columns}
        values["time_travel"] = bool(values["time_travel"])
        values = self._encoded(values, _EXECUTION_STATES)
        if self._fast is not None:
            self._fast.insert(values)
            return

        def write() -> None:  # a retry after a lost acknowledgement finds the row: no-op
            with self.db.connection() as connection:
                connection.execute(insert_ignoring_duplicates(connection, _EXECUTIONS), values)

        self.db.retrying(write)

    def save_execution(self, values: dict[str, Any]) -> None:
        """Insert an execution record made elsewhere (a worker), or update it if it exists
        (a retried cell reports the same execution again)."""
        values = self._encoded({"time_travel": False, **values}, _EXECUTION_STATES)

        def write() -> None:
            with self.db.connection() as connection:
                exists = connection.execute(
                    select(_EXECUTIONS.c.id).where(_EXECUTIONS.c.id == values["id"])
                ).first()
                if exists is None:
                    connection.execute(_INSERT_EXECUTION, values)
                else:
                    changed = {k: v for k, v in values.items() if k not in ("id", "created_at")}
                    connection.execute(_UPDATE_EXECUTION, {**changed, "execution_id": values["id"]})

        self.db.retrying(write)

    def update_execution(self, execution_id: str, fields: dict[str, Any]) -> None:
        """Change some columns of an execution."""
        fields = self._encoded(fields, _EXECUTION_STATES)
        if self._fast is not None:
            if self._fast.update(execution_id, {**fields, "updated_at": utcnow()}) == 0:
                raise ExecutionNotFoundError(_missing(execution_id))
            return
        parameters = {**fields, "updated_at": utcnow(), "execution_id": execution_id}

        def write() -> int:
            with self.db.connection() as connection:
                return connection.execute(_UPDATE_EXECUTION, parameters).rowcount

        if self.db.retrying(write) == 0:
            raise ExecutionNotFoundError(_missing(execution_id))

    def claim_execution(
        self, execution_id: str, seen_status: str, seen_owner: str | None, owner: str
    ) -> bool:
        """Mark an execution ``running`` by ``owner`` if it is still as the caller read it
        (``seen_status`` / ``seen_owner``): one conditional UPDATE, so of two processes or
        threads resuming it at once exactly one wins. Returns whether this caller won."""
        table = _EXECUTIONS
        statement = (
            update(table)
            .where(
                table.c.id == execution_id,
                table.c.status == seen_status,
                table.c.owner.is_(None) if seen_owner is None else table.c.owner == seen_owner,
            )
            .values(status="running", owner=owner, error=None, updated_at=utcnow())
        )

        def write() -> int:
            with self.db.connection() as connection:
                return connection.execute(statement).rowcount

        return self.db.retrying(write) == 1

    def count_checkpointed_executions(self) -> int:
        """How many executions have a head checkpoint (their checkpoints must exist)."""
        query = (
            select(func.count())
            .select_from(_EXECUTIONS)
            .where(_EXECUTIONS.c.head_checkpoint_id.is_not(None))
        )
        with self.db.reader() as session:
            return int(session.scalar(query) or 0)

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        with self.db.reader() as session:
            row = session.get(ExecutionRecord, execution_id)
        if row is None:
            raise ExecutionNotFoundError(_missing(execution_id))
        return self._execution(row)

    def list_executions(
        self,
        project: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        variant_config: Mapping[str, str] | None = None,
        *,
        after: tuple[datetime, str] | None = None,
    ) -> list[ExecutionRecord]:
        """Executions, newest first (ties by id); ``variant_config`` keeps those that ran
        these variants; ``after`` (``(created_at, id)`` of a listed execution) keeps those
        listed after it, for keyset paging."""
        query = select(ExecutionRecord).order_by(
            ExecutionRecord.created_at.desc(), ExecutionRecord.id
        )
        if after is not None:
            created, last_id = after
            query = query.where(
                or_(
                    ExecutionRecord.created_at < created,
                    and_(ExecutionRecord.created_at == created, ExecutionRecord.id > last_id),
                )
            )
        if variant_config:
            query = query.where(self._ran_variants(dict(variant_config)))
        if project is not None:
            query = query.where(ExecutionRecord.project == project)
        if status is not None:
            query = query.where(ExecutionRecord.status == status)
        if limit is not None:
            query = query.limit(limit)
        with self.db.reader() as session:
            return self._readable(session.scalars(query))

    def _ran_variants(self, variants: dict[str, str]) -> Any:
        column = ExecutionRecord.variant_config
        if self.db.write_engine.dialect.name == "postgresql":  # served by the GIN index
            return type_coerce(column, JSONB).contains(variants)
        return and_(*(func.json_extract(column, f'$."{k}"') == v for k, v in variants.items()))

    # -- audit ---------------------------------------------------------------------------

    def append_events(self, events: Sequence[dict[str, Any]]) -> list[int]:
        """Insert audit rows in one statement and one transaction; their ids, in the rows'
        order (``[]`` where the database cannot return them from a multi-row insert).

        The ids (the event log's ``seq``) follow commit order, so a reader that saw id
        ``n`` has seen every row below it: SQLite serialises writers; on PostgreSQL the
        transaction takes an advisory lock first, so a writer in another process cannot
        commit id 10 while id 9 is still uncommitted."""
        if not events:
            return []
        rows = list(events)

        def write() -> list[int]:
            with self.db.connection() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(_LOCK_EVENT_LOG)
                if not connection.dialect.insert_executemany_returning_sort_by_parameter_order:
                    connection.execute(_INSERT_EVENTS, rows)
                    return []
                return list(connection.execute(_INSERT_EVENTS_RETURNING, rows).scalars())

        return self.db.retrying(write)

    def events_since(
        self,
        seq: int,
        limit: int,
        executions: Collection[str] | None = None,
        batches: Collection[str] | None = None,
        projects: Collection[str] | None = None,
        until: int | None = None,
    ) -> list[AuditEventRecord]:
        """Up to ``limit`` events of the log with ``seq < id <= until``, oldest first.
        Without filters every event; with some, the events of any of these executions,
        batches or projects."""
        table = AuditEventRecord
        query = select(table).where(table.id > seq).order_by(table.id).limit(limit)
        if until is not None:
            query = query.where(table.id <= until)
        chosen = [
            column.in_(list(values))
            for column, values in (
                (table.execution_id, executions),
                (table.batch_id, batches),
                (table.project, projects),
            )
            if values is not None
        ]
        if chosen:
            query = query.where(or_(*chosen))
        with self.db.reader() as session:
            return list(session.scalars(query))

    def last_event_seq(self) -> int:
        """The ``seq`` of the newest stored event (0 for an empty log)."""
        with self.db.reader() as session:
            return int(session.scalar(select(func.max(AuditEventRecord.id))) or 0)

    def list_events(self, execution_id: str) -> list[AuditEventRecord]:
        query = (
            select(AuditEventRecord)
            .where(AuditEventRecord.execution_id == execution_id)
            .order_by(AuditEventRecord.id)
        )
        with self.db.reader() as session:
            return list(session.scalars(query))

    # -- batches -------------------------------------------------------------------------

    def create_batch(self, record: BatchRecord) -> None:
        with self.db.transaction() as session:
            session.add(record)

    def update_batch(self, batch_id: str, **fields: Any) -> None:
        statement = (
            update(_BATCHES).where(_BATCHES.c.id == batch_id).values(**fields, updated_at=utcnow())
        )

        def write() -> None:
            with self.db.connection() as connection:
                connection.execute(statement)

        self.db.retrying(write)

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        with self.db.reader() as session:
            return session.get(BatchRecord, batch_id)

    def batch_status(self, batch_id: str) -> str | None:
        """Only the stored status of a batch (what a running batch polls for a cancel);
        ``None`` if there is no such batch."""
        with self.db.reader() as session:
            return session.scalar(select(BatchRecord.status).where(BatchRecord.id == batch_id))

    def list_batches(self, project: str | None = None) -> list[BatchRecord]:
        """Batches, newest first."""
        query = select(BatchRecord).order_by(BatchRecord.created_at.desc())
        if project is not None:
            query = query.where(BatchRecord.project == project)
        with self.db.reader() as session:
            return list(session.scalars(query))

    def add_batch_row(self, values: dict[str, Any]) -> None:
        """Write one finished cell. A cell that already has a row keeps its first one."""
        values = self._encoded(values, ("state",))
        self.db.retrying(lambda: self._add_batch_row(values))

    def _add_batch_row(self, values: dict[str, Any]) -> None:
        with self.db.connection() as connection:
            connection.execute(insert_ignoring_duplicates(connection, _BATCH_ROWS), values)

    def replace_batch_rows(self, batch_id: str, keys: Sequence[tuple[int, int, int]]) -> None:
        """Delete the rows of these cells (to run them again)."""
        with self.db.connection() as connection:
            for combination_index, case_index, repetition in keys:
                connection.execute(
                    delete(_BATCH_ROWS).where(
                        _BATCH_ROWS.c.batch_id == batch_id,
                        _BATCH_ROWS.c.combination_index == combination_index,
                        _BATCH_ROWS.c.case_index == case_index,
                        _BATCH_ROWS.c.repetition == repetition,
                    )
                )

    def batch_rows(
        self,
        batch_id: str,
        *,
        combination_index: int | None = None,
        case: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[BatchCellRecord]:
        """A batch's rows in cell order, optionally of one combination, case (name) and/or
        status, ``limit`` of them from ``offset``."""
        where = _row_filter(batch_id, combination_index, case, status)
        query = (
            select(BatchCellRecord)
            .where(*where)
            .order_by(
                BatchCellRecord.combination_index,
                BatchCellRecord.case_index,
                BatchCellRecord.repetition,
            )
            .offset(offset or None)
            .limit(limit)
        )
        with self.db.reader() as session:
            return [
                self._decoded(row, ("state",), f"batch {batch_id} row {row.id}")
                for row in session.scalars(query)
            ]

    def count_batch_rows(
        self,
        batch_id: str,
        *,
        combination_index: int | None = None,
        case: str | None = None,
        status: str | None = None,
    ) -> int:
        """How many rows ``batch_rows`` with these filters (and no limit) returns."""
        where = _row_filter(batch_id, combination_index, case, status)
        query = select(func.count()).select_from(BatchCellRecord).where(*where)
        with self.db.reader() as session:
            return int(session.scalar(query) or 0)

    def delete_execution(self, execution_id: str) -> None:
        """Delete an execution with its audit trail and file-snapshot links."""
        with self.db.transaction() as session:
            for table in (FileSnapshotRecord, AuditEventRecord):
                session.execute(delete(table).where(table.execution_id == execution_id))
            result = cast(
                CursorResult[Any],
                session.execute(delete(ExecutionRecord).where(ExecutionRecord.id == execution_id)),
            )
            if result.rowcount == 0:
                raise ExecutionNotFoundError(_missing(execution_id))


def _row_filter(
    batch_id: str, combination_index: int | None, case: str | None, status: str | None
) -> list[Any]:
    where: list[Any] = [BatchCellRecord.batch_id == batch_id]
    if combination_index is not None:
        where.append(BatchCellRecord.combination_index == combination_index)
    if case is not None:
        where.append(BatchCellRecord.case == case)
    if status is not None:
        where.append(BatchCellRecord.status == status)
    return where


def _missing(execution_id: str) -> str:
    return (
        f"execution {execution_id!r} does not exist in this bench's metadata store; "
        "list executions with bench.list_executions() or `wtb executions`"
    )
