"""Reading batches: one, its rows (filtered and paged), all of a project — and the status
rules a reader sees (a ``running`` batch whose owner process is gone is ``interrupted``).

``BatchReads`` is the reading half of ``BatchService`` (``batch.service``), which drives
batches; it needs the metadata store and the service's cancel flags (a batch with one is
driven by this process).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Mapping
from typing import Any

from wtb_core.batch import arguments
from wtb_core.batch.comparison import Comparison, compare
from wtb_core.batch.comparison_cache import ComparisonCache, question
from wtb_core.batch.models import BatchRow, BatchStatus, BatchSummary
from wtb_core.batch.results import BatchTestResult, batch_row
from wtb_core.batch.scoring import combination_index, combination_label
from wtb_core.domain.models import ExecutionStatus
from wtb_core.engine.records import owner_alive
from wtb_core.errors import BatchNotFoundError, ConfigurationError
from wtb_core.storage.metadata import MetadataStore
from wtb_core.storage.tables import BatchRecord


class BatchReads:
    """Read-only views of stored batches."""

    _metadata: MetadataStore
    _cancel: dict[str, threading.Event]  # batches this process drives, by id
    _comparisons: ComparisonCache

    # ``list`` hides the builtin in this class: below, ``builtins.list``

    def get(self, batch_id: str) -> BatchTestResult:
        record = self._fetch_record(batch_id)
        return BatchTestResult(record, self._fetch_rows(record), self._status(record))

    def summary(self, batch_id: str) -> BatchSummary:
        """The batch's status and counts, without reading its rows."""
        return self._summary(self._fetch_record(batch_id))

    def summaries(self, project: str | None = None) -> builtins.list[BatchSummary]:
        """``summary`` of every batch (of ``project``), newest first."""
        return [self._summary(record) for record in self._metadata.list_batches(project)]

    def comparison(
        self, batch_id: str, baseline: str | Mapping[str, str] | None = None, **options: Any
    ) -> Comparison:
        """``get(batch_id).comparison(baseline, **options)``, reading only what the
        statistics use (not the rows' final states), and worked out once per state of the
        rows (``comparison_cache``). The default one (no baseline, no options) is stored
        with the batch, so another process answers it without working it out again."""
        record = self._fetch_record(batch_id)
        metadata = self._metadata
        rows_now = metadata.batch_rows_fingerprint(record.id)
        default = baseline is None and not options

        def compute() -> Comparison:
            if default and (stored := metadata.stored_comparison(record.id, rows_now)):
                return Comparison.model_validate_json(stored)
            rows = metadata.batch_rows(record.id, with_state=False)
            shared = bool(record.reuse_prefix) and record.warning is None
            found = compare(
                [batch_row(r, record.matrix) for r in rows],
                baseline,
                shared_prefix=shared,
                **options,
            )
            if default:
                metadata.store_comparison(record.id, rows_now, found.model_dump_json())
            return found

        key = (record.id, question(baseline, options), rows_now)
        return self._comparisons.get(key, compute)

    def rows(
        self,
        batch_id: str,
        combination: str | Mapping[str, str] | None = None,
        case: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        offset: int = 0,
        *,
        below: tuple[str, float] | None = None,
        by_case: bool = False,
    ) -> tuple[builtins.list[BatchRow], int]:
        """``limit`` of a batch's rows from ``offset``, in cell order (``by_case``: case
        first, then combination), optionally of one combination (label or matrix entry, as
        ``BatchTestResult.rows_for`` takes), case (its name), status and/or with a
        metric's score under a threshold (``below=(metric, value)``); with how many rows
        match in all."""
        record = self._fetch_record(batch_id)
        limit = arguments.count("limit", limit, "rows per page", 50, "every row")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ConfigurationError(f"offset must be a whole number of at least 0, not {offset!r}")
        index = None
        if combination is not None:
            labels = {i: combination_label(entry) for i, entry in enumerate(record.matrix)}
            index = combination_index(combination, labels)
        if status is not None:
            try:
                status = ExecutionStatus(status)
            except ValueError:
                allowed = ", ".join(s.value for s in ExecutionStatus)
                raise ConfigurationError(
                    f"unknown status {status!r}: use one of {allowed}"
                ) from None
        where: dict[str, Any] = {
            "combination_index": index,
            "case": case,
            "status": None if status is None else status.value,
        }
        if below is not None:
            where["below"] = _threshold(below)
        found = self._metadata.batch_rows(
            batch_id, **where, limit=limit, offset=offset, by_case=by_case
        )
        total = self._metadata.count_batch_rows(batch_id, **where)
        return [batch_row(r, record.matrix) for r in found], total

    def list(self, project: str | None = None) -> list[BatchTestResult]:
        return [
            BatchTestResult(record, self._fetch_rows(record), self._status(record))
            for record in self._metadata.list_batches(project)
        ]

    def _fetch_rows(self, record: BatchRecord) -> builtins.list[BatchRow]:
        """The batch's stored rows."""
        return [batch_row(r, record.matrix) for r in self._metadata.batch_rows(record.id)]

    def _summary(self, record: BatchRecord) -> BatchSummary:
        finished, failed = self._metadata.batch_row_counts(record.id)
        return BatchSummary(
            batch_id=record.id,
            project=record.project,
            status=self._status(record),
            total_cells=record.total_cells,
            finished_cells=finished,
            failed_cells=failed,
            combinations=[dict(entry) for entry in record.matrix],
            combination_labels=[combination_label(entry) for entry in record.matrix],
            error=record.error,
            created_at=record.created_at,
        )

    def _fetch_record(self, batch_id: str) -> BatchRecord:
        record = self._metadata.get_batch(batch_id)
        if record is None:
            raise _not_found(batch_id)
        return record

    def _stored_status(self, batch_id: str) -> BatchStatus:
        status = self._metadata.batch_status(batch_id)
        if status is None:
            raise _not_found(batch_id)
        return BatchStatus(status)

    def _status(self, record: BatchRecord) -> BatchStatus:
        status = BatchStatus(record.status)
        if (
            status is BatchStatus.RUNNING
            and record.id not in self._cancel
            and not owner_alive(record.owner)
        ):
            return BatchStatus.INTERRUPTED
        return status


def _not_found(batch_id: str) -> BatchNotFoundError:
    return BatchNotFoundError(
        f"batch {batch_id!r} does not exist; list batches with bench.list_batches() "
        "or `wtb batches`"
    )


def _threshold(below: tuple[str, float]) -> tuple[str, float]:
    metric, value = below
    if not isinstance(metric, str) or not metric:
        raise ConfigurationError(f"a score filter needs a metric name, not {metric!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigurationError(f"a score threshold must be a number, not {value!r}")
    return metric, float(value)
