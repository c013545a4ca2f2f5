"""A batch as callers read it: ``BatchTestResult`` and the rows it is made of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wtb_core.batch.models import BatchRow, BatchStatus
from wtb_core.batch.scoring import combination_index, combination_label
from wtb_core.domain.models import ExecutionStatus
from wtb_core.storage.tables import BatchCellRecord, BatchRecord

if TYPE_CHECKING:
    from wtb_core.batch.comparison import Comparison


class BatchTestResult:
    """A batch as stored: its status, its variant matrix (``combinations``, the entries as
    given) and one row per finished cell (``results``)."""

    def __init__(self, record: BatchRecord, rows: list[BatchRow], status: BatchStatus) -> None:
        self.batch_id = record.id
        self.project = record.project
        self.status = status
        self.total_cells = record.total_cells
        self.combinations: list[dict[str, str]] = [dict(entry) for entry in record.matrix]
        self.results = rows
        self.error = record.error
        self.created_at = record.created_at
        # Why a batch that asked for shared prefixes ran its cells independently.
        self.warning = record.warning
        self.shared_prefix = bool(record.reuse_prefix) and record.warning is None

    def __repr__(self) -> str:
        return (
            f"BatchTestResult(batch_id={self.batch_id!r}, status={self.status.value!r}, "
            f"rows={len(self.results)}/{self.total_cells})"
        )

    @property
    def missing_cells(self) -> int:
        return self.total_cells - len(self.results)

    def rows_for(self, combination: str | Mapping[str, str]) -> list[BatchRow]:
        """The rows of one combination, named by its matrix entry (``{"retriever": "bm25"}``;
        variants left at ``default`` may be left out) or its label (``"retriever=bm25"``);
        ``ConfigurationError`` for a combination the batch does not have."""
        labels = {i: combination_label(entry) for i, entry in enumerate(self.combinations)}
        index = combination_index(combination, labels)
        return [row for row in self.results if row.combination_index == index]

    def comparison(
        self, baseline: str | Mapping[str, str] | None = None, **options: Any
    ) -> Comparison:
        """Per-combination statistics and paired comparisons against ``baseline`` (a label
        or a matrix entry; default: the first combination); see
        ``wtb_core.batch.comparison.compare`` for the options."""
        from wtb_core.batch.comparison import compare

        return compare(self.results, baseline, shared_prefix=self.shared_prefix, **options)


def batch_row(record: BatchCellRecord, matrix: Sequence[Mapping[str, str]]) -> BatchRow:
    """A stored row; its combination is the batch's matrix entry (the table holds its
    label)."""
    return BatchRow(
        batch_id=record.batch_id,
        combination_index=record.combination_index,
        combination=dict(matrix[record.combination_index]),
        combination_label=record.combination,
        case_index=record.case_index,
        case=record.case,
        repetition=record.repetition,
        execution_id=record.execution_id,
        status=ExecutionStatus(record.status),
        state=record.state or {},
        scores=record.scores or {},
        score_errors=record.score_errors or {},
        duration_ms=record.duration_ms,
        error=record.error,
        finished_at=record.finished_at,
    )
