"""The telemetry of a batch drive, as ``BatchService`` uses it.

``driving_batch`` opens the batch's span (``batch {project}``) and creates its cell series at
zero; ``in_cell`` runs one in-process cell inside the batch's context, so the cell's
execution span is a child of the batch span wherever the runner's thread came from, with
``wtb.batch_id``, ``wtb.case``, ``wtb.repetition`` and ``wtb.combination``;
``DetachedCells`` counts the cells a distributed runner reports started as running.

Cells are children of the batch span, not linked traces, whatever their number: one trace
then shows the batch, its cells and their nodes, and a parent-based sampler keeps or drops a
batch whole. A batch of thousands of cells makes a trace of that many subtrees; sample such
batches (``ParentBased(TraceIdRatioBased(...))``) rather than splitting them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry import context as otel_context

from wtb_core.batch.models import Cell
from wtb_core.batch.scoring import combination_label
from wtb_core.telemetry import metrics, tracing
from wtb_core.telemetry.settings import SWITCHES

log = logging.getLogger(__name__)


def cell_attributes(cell: Cell) -> dict[str, Any]:
    """The ``wtb.*`` attributes a cell adds to its execution span."""
    return {
        "wtb.batch_id": cell.batch_id,
        "wtb.case": cell.case_name,
        "wtb.repetition": cell.repetition,
        "wtb.combination": combination_label(cell.combination),
    }


@contextlib.contextmanager
def driving_batch(
    project: str, batch_id: str, runner: str, cells: Iterable[Cell], resumed: bool
) -> Iterator[otel_context.Context]:
    """The batch span around a drive; yields the context cells run in."""
    cells = list(cells)
    if SWITCHES.metrics:
        try:
            labels = {combination_label(cell.combination) for cell in cells}
            metrics.active().know_combinations(project, sorted(labels))
        except Exception:
            log.exception("creating the cell series of batch %s failed", batch_id)
    with tracing.batch_span(project, batch_id, runner, len(cells), resumed):
        yield otel_context.get_current()


@contextlib.contextmanager
def in_cell(parent: otel_context.Context, cell: Cell) -> Iterator[None]:
    """Run one in-process cell in the batch's context, counted as in flight."""
    gauge = metrics.active().cells_in_flight if SWITCHES.metrics else None
    token = otel_context.attach(tracing.with_attributes(cell_attributes(cell), parent))
    if gauge is not None:
        gauge.inc()
    try:
        yield
    finally:
        if gauge is not None:
            gauge.dec()
        otel_context.detach(token)


class DetachedCells:
    """The cells a distributed runner said it started (``CellStarted``) and has not yet
    returned: each is running for the batch's progress and ``wtb_batch_cells_in_flight``
    from ``started`` to ``finished`` (a retried cell is counted once); ``close`` stops
    counting those left (the runner stopped)."""

    def __init__(self, on_start: Callable[[], None], on_stop: Callable[[], None]) -> None:
        self._on_start, self._on_stop = on_start, on_stop
        self._running: set[str] = set()

    def started(self, execution_id: str) -> None:
        if execution_id in self._running:
            return
        self._running.add(execution_id)
        self._on_start()
        if SWITCHES.metrics:
            metrics.active().cells_in_flight.inc()

    def finished(self, execution_id: str) -> None:
        if execution_id not in self._running:
            return
        self._running.discard(execution_id)
        self._on_stop()
        if SWITCHES.metrics:
            metrics.active().cells_in_flight.dec()

    def close(self) -> None:
        for execution_id in list(self._running):
            self.finished(execution_id)
