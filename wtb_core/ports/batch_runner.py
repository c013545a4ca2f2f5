"""Batch runner port: how the cells of a batch get executed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from wtb_core.batch.models import BatchRow, Cell, CellStarted, DetachedResult
    from wtb_core.config import StackConfig
    from wtb_core.domain.models import TestCase
    from wtb_core.project import WorkflowProject


@dataclass
class BatchJob:
    """What a runner is handed.

    ``execute(cell)`` runs one cell in *this* process — a real, checkpointed WTB execution,
    scored by the batch's evaluators — and returns its row; local runners call it from
    their workers. A distributed runner instead ships ``cells`` (small and serialisable)
    with ``project``, ``cases``, ``evaluators`` and ``config`` to its workers — which run
    them with ``wtb_core.batch.detached.DetachedExecutor`` — and yields the
    ``DetachedResult``s they return — and a ``CellStarted`` as each cell starts on a worker,
    so the driver counts it as running. Either way the runner only *returns* results: the
    driver writes them.
    """

    batch_id: str
    cells: Sequence[Cell]
    execute: Callable[[Cell], BatchRow]
    parallelism: int | None
    is_cancelled: Callable[[], bool]
    project: WorkflowProject
    evaluators: dict[str, Any]
    config: StackConfig
    cases: Sequence[TestCase] = ()


@runtime_checkable
class BatchRunner(Protocol):
    """Runs a batch's cells and yields their rows as they finish (in any order).

    Contract: every cell given yields exactly one row unless the batch is cancelled; once
    ``job.is_cancelled()`` is true no new cell starts, cells already running finish and
    their rows are yielded. A cell whose workflow fails yields a failed row; the runner
    raises only for its own breakdowns.
    """

    name: str

    def run(self, job: BatchJob) -> Iterator[BatchRow | DetachedResult | CellStarted]: ...

    def close(self) -> None: ...


BatchRunnerFactory = Callable[["StackConfig"], BatchRunner]
"""What ``wtb_register_batch_runners`` registers: called once per batch run on the runner."""
