"""Stored batches: the ``batches`` table (one record per batch test) and ``batch_rows``
(one per finished cell, unique per combination, case and repetition)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, case, delete, func, null, select, update

from wtb_core.storage.database import Database, insert_ignoring_duplicates, utcnow
from wtb_core.storage.tables import BatchCellRecord, BatchRecord, ExecutionRecord

_BATCHES = cast(Table, BatchRecord.__table__)
_BATCH_ROWS = cast(Table, BatchCellRecord.__table__)
_EXECUTIONS = cast(Table, ExecutionRecord.__table__)


class BatchQueries:
    """The batch part of ``MetadataStore``."""

    db: Database

    if TYPE_CHECKING:  # the typed-state helpers of MetadataStore

        def _encoded(self, values: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]: ...

        def _decoded(
            self, row: BatchCellRecord, keys: Sequence[str], what: str
        ) -> BatchCellRecord: ...

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
        """Delete the rows of these cells (to run them again). Their executions stay, as
        plain executions: no longer marked as a cell's, so ``wtb integrity`` does not take
        them for what a killed batch left behind."""
        with self.db.connection() as connection:
            for combination_index, case_index, repetition in keys:
                cell = (
                    _BATCH_ROWS.c.batch_id == batch_id,
                    _BATCH_ROWS.c.combination_index == combination_index,
                    _BATCH_ROWS.c.case_index == case_index,
                    _BATCH_ROWS.c.repetition == repetition,
                )
                connection.execute(
                    update(_EXECUTIONS)
                    .where(_EXECUTIONS.c.id.in_(select(_BATCH_ROWS.c.execution_id).where(*cell)))
                    .values(batch_id=None)
                )
                connection.execute(delete(_BATCH_ROWS).where(*cell))

    def batch_rows(
        self,
        batch_id: str,
        *,
        combination_index: int | None = None,
        case: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        below: tuple[str, float] | None = None,
        by_case: bool = False,
        with_state: bool = True,
    ) -> list[BatchCellRecord]:
        """A batch's rows in cell order (``by_case``: case first, then combination),
        optionally of one combination, case (name), status and/or with a metric's score
        under a threshold (``below=(metric, value)``), ``limit`` of them from ``offset``.
        Without ``with_state`` their ``state`` is not read (``None``): for statistics."""
        where = _row_filter(batch_id, combination_index, case, status, below)
        order = [BatchCellRecord.combination_index, BatchCellRecord.case_index]
        columns: list[Any] = [BatchCellRecord] if with_state else _STATELESS
        query = (
            select(*columns)
            .where(*where)
            .order_by(*(reversed(order) if by_case else order), BatchCellRecord.repetition)
            .offset(offset or None)
            .limit(limit)
        )
        with self.db.reader() as session:
            if not with_state:  # plain rows (no ORM identity work), state left out
                return cast(list[BatchCellRecord], list(session.execute(query)))
            return [
                self._decoded(row, ("state",), f"batch {batch_id} row {row.id}")
                for row in session.scalars(query)
            ]

    def batch_rows_fingerprint(self, batch_id: str) -> str:
        """What changes whenever the batch's rows do: their number, the newest row id (a
        replaced row gets a new one) and the newest finish time."""
        query = select(
            func.count(), func.max(BatchCellRecord.id), func.max(BatchCellRecord.finished_at)
        ).where(BatchCellRecord.batch_id == batch_id)
        with self.db.reader() as session:
            count, newest, finished = session.execute(query).one()
        return f"{int(count or 0)}:{int(newest or 0)}:{finished}"

    def stored_comparison(self, batch_id: str, rows: str) -> str | None:
        """The batch's stored default comparison (JSON) if it was worked out from the rows
        whose fingerprint is ``rows``; else ``None``."""
        query = select(_BATCHES.c.comparison).where(
            _BATCHES.c.id == batch_id, _BATCHES.c.comparison_rows == rows
        )
        with self.db.reader() as session:
            return cast("str | None", session.scalar(query))

    def store_comparison(self, batch_id: str, rows: str, report: str) -> None:
        """Keep ``report`` as the batch's default comparison of the rows ``rows``."""
        statement = (
            update(_BATCHES)
            .where(_BATCHES.c.id == batch_id)
            .values(comparison=report, comparison_rows=rows)
        )

        def write() -> None:
            with self.db.connection() as connection:
                connection.execute(statement)

        self.db.retrying(write)

    def batch_row_counts(self, batch_id: str) -> tuple[int, int]:
        """How many rows the batch has, and how many of them did not complete."""
        failed = func.sum(case((BatchCellRecord.status != "completed", 1), else_=0))
        query = select(func.count(), failed).where(BatchCellRecord.batch_id == batch_id)
        with self.db.reader() as session:
            total, not_completed = session.execute(query).one()
        return int(total or 0), int(not_completed or 0)

    def count_batch_rows(
        self,
        batch_id: str,
        *,
        combination_index: int | None = None,
        case: str | None = None,
        status: str | None = None,
        below: tuple[str, float] | None = None,
    ) -> int:
        """How many rows ``batch_rows`` with these filters (and no limit) returns."""
        where = _row_filter(batch_id, combination_index, case, status, below)
        query = select(func.count()).select_from(BatchCellRecord).where(*where)
        with self.db.reader() as session:
            return int(session.scalar(query) or 0)


_STATELESS: list[Any] = [
    *(
        c
        for c in cast(Table, BatchCellRecord.__table__).columns
        if c.key not in ("state", "state_blob")
    ),
    null().label("state"),
    null().label("state_blob"),
]


def _row_filter(
    batch_id: str,
    combination_index: int | None,
    case: str | None,
    status: str | None,
    below: tuple[str, float] | None = None,
) -> list[Any]:
    where: list[Any] = [BatchCellRecord.batch_id == batch_id]
    if below is not None:  # a row without that score does not match
        metric, threshold = below
        where.append(BatchCellRecord.scores[metric].as_float() < threshold)
    if combination_index is not None:
        where.append(BatchCellRecord.combination_index == combination_index)
    if case is not None:
        where.append(BatchCellRecord.case == case)
    if status is not None:
        where.append(BatchCellRecord.status == status)
    return where
