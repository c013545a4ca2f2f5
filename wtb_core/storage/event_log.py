"""The event log: the audit rows of every domain event, in the ``audit_events`` table.

Its autoincrement id is the log's ``seq``: monotonic, never reused (SQLite's table is
``AUTOINCREMENT`` since migration 0007), and following commit order, so a reader that saw
``seq`` n has seen every event below it. Live feeds (the server's WebSocket stream) tail
it with ``events_since``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, or_, select, text

from wtb_core.storage.database import Database
from wtb_core.storage.tables import AuditEventRecord

_EVENTS = cast(Table, AuditEventRecord.__table__)
_INSERT_EVENTS = insert(_EVENTS)
_LAST_EVENT = select(func.max(_EVENTS.c.id))
# Held by each transaction appending audit rows on PostgreSQL (see append_events).
_LOCK_EVENT_LOG = text("SELECT pg_advisory_xact_lock(7781346255003721)")


class EventLogQueries:
    """The event-log part of ``MetadataStore``."""

    db: Database

    def append_events(self, events: Sequence[dict[str, Any]]) -> list[int]:
        """Insert audit rows in one statement (executemany) and one transaction; their ids
        in the rows' order, or ``[]`` when another writer's ids came between (then read
        the log to learn them).

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
                before = connection.execute(_LAST_EVENT).scalar() or 0
                connection.execute(_INSERT_EVENTS, rows)
                after = connection.execute(_LAST_EVENT).scalar() or 0
            # Exactly our rows above ``before``: they hold the ids in between, in order.
            return list(range(before + 1, after + 1)) if after - before == len(rows) else []

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
            return int(session.scalar(_LAST_EVENT) or 0)

    def list_events(self, execution_id: str) -> list[AuditEventRecord]:
        query = (
            select(AuditEventRecord)
            .where(AuditEventRecord.execution_id == execution_id)
            .order_by(AuditEventRecord.id)
        )
        with self.db.reader() as session:
            return list(session.scalars(query))
