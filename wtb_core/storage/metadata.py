"""Repository over the metadata database: projects and executions — and, through its
bases, batches (``batch_records``), the event log (``event_log``), file commits
(``file_commits``), the outbox (``outbox``) and the integrity checks' reads
(``integrity_queries``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    CursorResult,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB

from wtb_core.errors import ExecutionNotFoundError, StorageError
from wtb_core.storage.batch_records import BatchQueries
from wtb_core.storage.database import (
    Database,
    UnreadableJSON,
    insert_ignoring_duplicates,
    utcnow,
)
from wtb_core.storage.event_log import EventLogQueries
from wtb_core.storage.file_commits import FileCommitQueries
from wtb_core.storage.integrity_queries import IntegrityQueries
from wtb_core.storage.outbox import OutboxQueries, close_in
from wtb_core.storage.sqlite_fast import FastRows
from wtb_core.storage.state_codec import StateCodec
from wtb_core.storage.tables import (
    AuditEventRecord,
    BatchCellRecord,
    BatchRecord,
    ExecutionRecord,
    FileSnapshotRecord,
    OutboxRecord,
    ProjectRecord,
)

# The hot paths (a run writes an execution row and its events) use Core statements on the
# tables: the ORM's unit of work costs more than the SQL itself here.
_EXECUTIONS = cast(Table, ExecutionRecord.__table__)
_INSERT_EXECUTION = insert(_EXECUTIONS)
_UPDATE_EXECUTION = update(_EXECUTIONS).where(_EXECUTIONS.c.id == bindparam("execution_id"))
_BATCHES = cast(Table, BatchRecord.__table__)
_BATCH_ROWS = cast(Table, BatchCellRecord.__table__)
_EXECUTION_STATES = ("state", "initial_state")
_log = logging.getLogger(__name__)
_Row = TypeVar("_Row", ExecutionRecord, BatchCellRecord)
_JSON_COLUMNS = tuple(c.name for c in _EXECUTIONS.columns if isinstance(c.type, JSON))


class MetadataStore(
    FileCommitQueries, EventLogQueries, BatchQueries, OutboxQueries, IntegrityQueries
):
    """Reads and writes WTB's own records. Every method is one short transaction."""

    def __init__(self, db: Database, codec: StateCodec | None = None) -> None:
        """``codec`` stores state with its types beside the JSON rendering (without one,
        state reads back as JSON data)."""
        self.db = db
        self._codec = codec
        # SQLite files: the per-run execution writes skip SQLAlchemy (see sqlite_fast).
        self._fast = (
            FastRows(db.sqlite_path, _EXECUTIONS, db.write_lock)
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

    def _execution_values(self, row: ExecutionRecord) -> dict[str, Any]:
        """The columns of a new execution row, states encoded."""
        values = {column.key: getattr(row, column.key) for column in _EXECUTIONS.columns}
        values["time_travel"] = bool(values["time_travel"])
        return self._encoded(values, _EXECUTION_STATES)

    def create_execution(self, row: ExecutionRecord) -> None:
        values = self._execution_values(row)
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
        table, now = _EXECUTIONS, utcnow()
        statement = (
            update(table)
            .where(
                table.c.id == execution_id,
                table.c.status == seen_status,
                table.c.owner.is_(None) if seen_owner is None else table.c.owner == seen_owner,
            )
            .values(status="running", owner=owner, error=None, updated_at=now, heartbeat_at=now)
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

    def execution_exists(self, execution_id: str) -> bool:
        if self._fast is not None:
            return self._fast.exists(execution_id)
        with self.db.reader() as session:
            found = session.execute(
                select(_EXECUTIONS.c.id).where(_EXECUTIONS.c.id == execution_id)
            ).first()
        return found is not None

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
        batch_id: str | None = None,
        parent_execution_id: str | None = None,
        text: str | None = None,
        include_trunks: bool = False,
    ) -> list[ExecutionRecord]:
        """Executions, newest first (ties by id); ``variant_config`` keeps those that ran
        these variants, ``batch_id`` the cells of a batch, ``parent_execution_id`` the
        forks of an execution, ``text`` those whose state contains it (case-insensitive);
        ``after`` (``(created_at, id)`` of a listed execution) keeps those listed after
        it, for keyset paging. Shared-prefix trunks are left out unless
        ``include_trunks``."""
        query = select(ExecutionRecord).order_by(
            ExecutionRecord.created_at.desc(), ExecutionRecord.id
        )
        if not include_trunks:
            query = query.where(ExecutionRecord.prefix_key.is_(None))
        if batch_id is not None:
            cells = select(BatchCellRecord.execution_id).where(BatchCellRecord.batch_id == batch_id)
            query = query.where(ExecutionRecord.id.in_(cells))
        if parent_execution_id is not None:
            query = query.where(ExecutionRecord.parent_execution_id == parent_execution_id)
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(
                sql_cast(ExecutionRecord.state, Text).ilike(f"%{escaped}%", escape="\\")
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

    def prefix_trunks(self, batch_id: str) -> list[ExecutionRecord]:
        """The shared-prefix trunks of a batch (executions with a ``prefix_key``), oldest
        first."""
        query = (
            select(ExecutionRecord)
            .where(ExecutionRecord.batch_id == batch_id, ExecutionRecord.prefix_key.is_not(None))
            .order_by(ExecutionRecord.created_at, ExecutionRecord.id)
        )
        with self.db.reader() as session:
            return self._readable(session.scalars(query))

    def _ran_variants(self, variants: dict[str, str]) -> Any:
        column = ExecutionRecord.variant_config
        if self.db.write_engine.dialect.name == "postgresql":  # served by the GIN index
            return type_coerce(column, JSONB).contains(variants)
        return and_(*(func.json_extract(column, f'$."{k}"') == v for k, v in variants.items()))

    def delete_execution(
        self, execution_id: str, closing: int | None = None, closing_state: str = "done"
    ) -> None:
        """Delete an execution with its audit trail, file-snapshot links and closed outbox
        rows; ``closing``: the outbox row to close (as ``closing_state``) in the same
        transaction — then an execution already gone is no error."""
        with self.db.transaction() as session:
            for table in (FileSnapshotRecord, AuditEventRecord):
                session.execute(delete(table).where(table.execution_id == execution_id))
            session.execute(
                delete(OutboxRecord).where(
                    OutboxRecord.execution_id == execution_id,
                    OutboxRecord.state.in_(("done", "compensated")),
                )
            )
            result = cast(
                CursorResult[Any],
                session.execute(delete(ExecutionRecord).where(ExecutionRecord.id == execution_id)),
            )
            if closing is not None:
                close_in(session.connection(), closing, closing_state)
            elif result.rowcount == 0:
                raise ExecutionNotFoundError(_missing(execution_id))


def _missing(execution_id: str) -> str:
    return (
        f"execution {execution_id!r} does not exist in this bench's metadata store; "
        "list executions with bench.list_executions() or `wtb executions`"
    )
