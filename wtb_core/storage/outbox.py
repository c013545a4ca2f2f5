"""The outbox table: intents of operations that write more than one store.

An operation opens its row (``pending``) before its first write to another store and
closes it (``done`` / ``compensated``) in the same transaction as its last metadata write —
``update_execution_closing``, ``create_execution_closing`` and ``delete_execution(...,
closing=)`` make that one transaction. What a pending row means, and how it is finished or
compensated, is the integrity package's (``wtb_core.integrity.outbox``); this is storage.
Closed rows are kept ``RETENTION`` and pruned by the transaction that closes a later one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from wtb_core.storage.database import Database, insert_ignoring_duplicates, utcnow
from wtb_core.storage.tables import ExecutionRecord, OutboxRecord

_OUTBOX = cast(Table, OutboxRecord.__table__)
_EXECUTIONS = cast(Table, ExecutionRecord.__table__)

PENDING = "pending"
DONE = "done"
COMPENSATED = "compensated"
FAILED = "failed"
CLOSED = (DONE, COMPENSATED)
RETENTION = timedelta(days=7)
"""How long closed outbox rows are kept (for inspection) before they are pruned."""


class OutboxQueries:
    """The outbox part of ``MetadataStore``."""

    db: Database

    if TYPE_CHECKING:  # helpers of MetadataStore

        def _encoded(self, values: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]: ...

        def _execution_values(self, row: ExecutionRecord) -> dict[str, Any]: ...

    def open_operation(
        self,
        kind: str,
        execution_id: str,
        *,
        owner: str,
        checkpoint_id: str | None = None,
        file_commit: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> int:
        """Record an operation's intent (``pending``); returns its id."""
        now = utcnow()
        values = {
            "kind": kind,
            "execution_id": execution_id,
            "checkpoint_id": checkpoint_id,
            "file_commit": file_commit,
            "payload": payload or {},
            "state": PENDING,
            "attempts": 0,
            "last_error": None,
            "owner": owner,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.connection() as connection:
            key = connection.execute(insert(_OUTBOX).values(**values)).inserted_primary_key
            assert key is not None
            return int(key[0])

    def close_operation(self, operation_id: int, state: str = DONE) -> None:
        """Mark an operation ``done`` or ``compensated``."""
        with self.db.connection() as connection:
            _close(connection, operation_id, state)

    def update_execution_closing(
        self, execution_id: str, fields: dict[str, Any], operation_id: int, state: str = DONE
    ) -> None:
        """Change columns of an execution and close the operation, in one transaction."""
        values = {**self._encoded(fields, ("state", "initial_state")), "updated_at": utcnow()}
        with self.db.connection() as connection:
            connection.execute(
                update(_EXECUTIONS).where(_EXECUTIONS.c.id == execution_id).values(**values)
            )
            _close(connection, operation_id, state)

    def create_execution_closing(self, row: ExecutionRecord, operation_id: int) -> None:
        """Insert an execution and close the operation, in one transaction."""
        values = self._execution_values(row)
        with self.db.connection() as connection:
            connection.execute(insert_ignoring_duplicates(connection, _EXECUTIONS), values)
            _close(connection, operation_id, DONE)

    def operation(self, operation_id: int) -> OutboxRecord | None:
        with self.db.reader() as session:
            return session.get(OutboxRecord, operation_id)

    def operations(self, states: Sequence[str] = (PENDING, FAILED)) -> list[OutboxRecord]:
        """Outbox rows in these states, oldest first."""
        query = select(OutboxRecord).where(OutboxRecord.state.in_(states)).order_by(OutboxRecord.id)
        with self.db.reader() as session:
            return list(session.scalars(query))

    def operation_attempt_failed(self, operation_id: int, error: str, max_attempts: int) -> str:
        """Count a failed attempt to finish or compensate an operation; after
        ``max_attempts`` it is ``failed`` (reported, no longer retried). Returns its state."""
        with self.db.connection() as connection:
            attempts = connection.execute(
                select(_OUTBOX.c.attempts).where(_OUTBOX.c.id == operation_id)
            ).scalar_one()
            state = FAILED if attempts + 1 >= max_attempts else PENDING
            connection.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id == operation_id)
                .values(
                    attempts=attempts + 1, last_error=error[:2000], state=state, updated_at=utcnow()
                )
            )
        return state


def _close(connection: Connection, operation_id: int, state: str) -> None:
    now = utcnow()
    connection.execute(
        update(_OUTBOX).where(_OUTBOX.c.id == operation_id).values(state=state, updated_at=now)
    )
    connection.execute(
        delete(_OUTBOX).where(_OUTBOX.c.state.in_(CLOSED), _OUTBOX.c.updated_at < now - RETENTION)
    )


def close_in(connection: Connection, operation_id: int, state: str = DONE) -> None:
    """Close an operation inside a caller's transaction (``MetadataStore.delete_execution``)."""
    _close(connection, operation_id, state)
