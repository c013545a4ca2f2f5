"""Running batch tests: expand the matrix, drive a runner, keep every finished row.

The driver (this module, in the caller's process) is the only writer of the metadata
store: each row is written as soon as the runner yields it, so a crash loses at most the
cells in flight, and ``resume`` runs only cells that have no row.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wtb_core.batch import arguments
from wtb_core.batch.models import BatchRow, BatchStatus, Cell, DetachedResult
from wtb_core.batch.scoring import (
    Evaluator,
    cell_fields,
    combination_index,
    combination_label,
    make_row,
    score,
    split_combination,
)
from wtb_core.domain.models import ExecutionStatus, TestCase
from wtb_core.errors import ConfigurationError, InvalidStateError, WTBError
from wtb_core.loading import import_reference
from wtb_core.ports.batch_runner import BatchJob
from wtb_core.project import WorkflowProject, callable_reference
from wtb_core.storage.database import utcnow
from wtb_core.storage.tables import BatchCellRecord, BatchRecord

if TYPE_CHECKING:
    from wtb_core.sdk.bench import WTBTestBench


@dataclass(frozen=True)
class BatchProgress:
    """Handed to ``on_progress`` whenever a cell starts or finishes."""

    batch_id: str
    total: int
    done: int
    failed: int
    running: int
    elapsed_s: float


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

    def comparison(self, baseline: str | Mapping[str, str] | None = None, **options: Any):
        """Per-combination statistics and paired comparisons against ``baseline`` (a label
        or a matrix entry; default: the first combination); see
        ``wtb_core.batch.comparison.compare`` for the options."""
        from wtb_core.batch.comparison import compare

        return compare(self.results, baseline, **options)


class BatchService:
    """The bench's batch API (``run_batch_test``, ``resume_batch``, ``cancel_batch`` …)."""

    def __init__(self, bench: WTBTestBench) -> None:
        self._bench = bench
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    # -- starting ----------------------------------------------------------------------

    def run(
        self,
        project: str,
        variant_matrix: Sequence[Mapping[str, str]],
        test_cases: Sequence[TestCase | Mapping[str, Any]],
        evaluators: Iterable[str | Evaluator] | None = None,
        parallelism: int | None = None,
        runner: str | None = None,
        repetitions: int = 1,
        on_progress: Callable[[BatchProgress], None] | None = None,
        keep_workspaces: bool = False,
    ) -> BatchTestResult:
        # Every argument is checked before the batch record is stored (``arguments``).
        project = arguments.name(
            "project", project, "a project name (a string, as registered with register_project)"
        )
        entries = arguments.matrix(variant_matrix)
        cases, stored_cases = arguments.cases(test_cases)
        chosen = arguments.evaluators(evaluators)
        repetitions = arguments.count(
            "repetitions", repetitions, "runs of every combination and case", 2
        )
        parallelism = arguments.count(
            "parallelism", parallelism, "cells run at once", 4, "the runner's default"
        )
        runner = arguments.name(
            "runner", runner, "a runner name (a string such as 'threadpool') or None", True
        )
        arguments.callback("on_progress", on_progress)
        arguments.flag("keep_workspaces", keep_workspaces)
        proj = self._bench.get_project(project)
        matrix = self._check_matrix(proj, entries)
        resolved, specs = self._resolve_evaluators(chosen)
        runner_name = self._runner_name(proj, runner)
        now = utcnow()
        record = BatchRecord(
            id=uuid.uuid4().hex[:16],
            project=proj.name,
            status=BatchStatus.RUNNING.value,
            matrix=matrix,
            cases=stored_cases,
            evaluators=specs,
            repetitions=repetitions,
            runner=runner_name,
            parallelism=parallelism,
            total_cells=len(matrix) * len(cases) * repetitions,
            owner=self._bench.owner,
            error=None,
            created_at=now,
            updated_at=now,
        )
        self._bench.stack.metadata.create_batch(record)
        cells = list(_cells(record))
        return self._drive(
            record, proj, cases, cells, resolved, runner_name, parallelism, on_progress,
            keep_workspaces,
        )  # fmt: skip

    def resume(
        self,
        batch_id: str,
        evaluators: Iterable[str | Evaluator] | None = None,
        retry_failed: bool = False,
        runner: str | None = None,
        parallelism: int | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        keep_workspaces: bool = False,
    ) -> BatchTestResult:
        """Run only the cells without a row (and, with ``retry_failed``, failed ones again).
        Every argument is checked before the batch's stored status changes."""
        batch_id = arguments.name(
            "batch_id", batch_id, "a batch id (a string, see bench.list_batches())"
        )
        chosen = None if evaluators is None else arguments.evaluators(evaluators)
        arguments.flag("retry_failed", retry_failed)
        runner = arguments.name(
            "runner", runner, "a runner name (a string such as 'threadpool') or None", True
        )
        parallelism = arguments.count(
            "parallelism", parallelism, "cells run at once", 4, "the batch's own setting"
        )
        arguments.callback("on_progress", on_progress)
        arguments.flag("keep_workspaces", keep_workspaces)
        record = self._record(batch_id)
        _check_stored(record, parallelism)
        if batch_id in self._cancel:
            raise InvalidStateError(f"batch {batch_id} is running in this process")
        status = self._status(record)
        if status is BatchStatus.RUNNING:
            raise InvalidStateError(
                f"batch {batch_id} is running in another process ({record.owner}); "
                "cancel it there or wait for it"
            )
        proj = self._bench.get_project(record.project)
        cases = [TestCase.model_validate(case) for case in record.cases]
        resolved = (
            self._resolve_evaluators(chosen)[0]
            if chosen is not None
            else self._restore_evaluators(record)
        )
        runner_name = runner or record.runner
        self._bench.plugins.get("batch_runner", runner_name)
        rows = self._bench.stack.metadata.batch_rows(batch_id)
        if retry_failed:
            failed = [
                (r.combination_index, r.case_index, r.repetition)
                for r in rows
                if r.status != ExecutionStatus.COMPLETED.value
            ]
            self._bench.stack.metadata.replace_batch_rows(batch_id, failed)
            rows = [
                r for r in rows if (r.combination_index, r.case_index, r.repetition) not in failed
            ]
        done = {(r.combination_index, r.case_index, r.repetition) for r in rows}
        cells = [cell for cell in _cells(record) if cell.key not in done]
        self._bench.stack.metadata.update_batch(
            batch_id, status=BatchStatus.RUNNING.value, owner=self._bench.owner, error=None
        )
        width = parallelism or record.parallelism
        return self._drive(
            record, proj, cases, cells, resolved, runner_name, width, on_progress, keep_workspaces
        )

    def cancel(self, batch_id: str) -> BatchTestResult:
        """Stop scheduling new cells; cells in flight finish and keep their rows."""
        record = self._record(batch_id)
        with self._lock:
            event = self._cancel.get(batch_id)
        if event is not None:
            event.set()
            return self.get(batch_id)
        status = self._status(record)
        if status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
            raise InvalidStateError(f"batch {batch_id} is already {status.value}")
        self._bench.stack.metadata.update_batch(batch_id, status=BatchStatus.CANCELLED.value)
        return self.get(batch_id)

    # -- reading -------------------------------------------------------------------------

    def get(self, batch_id: str) -> BatchTestResult:
        record = self._record(batch_id)
        return BatchTestResult(record, self._rows(record), self._status(record))

    def list(self, project: str | None = None) -> list[BatchTestResult]:
        return [
            BatchTestResult(record, self._rows(record), self._status(record))
            for record in self._bench.stack.metadata.list_batches(project)
        ]

    def _rows(self, record: BatchRecord) -> list[BatchRow]:
        return [_row(r, record.matrix) for r in self._bench.stack.metadata.batch_rows(record.id)]

    # -- driving -------------------------------------------------------------------------

    def _drive(
        self,
        record: BatchRecord,
        project: WorkflowProject,
        cases: list[TestCase],
        cells: list[Cell],
        evaluators: dict[str, Evaluator],
        runner_name: str,
        parallelism: int | None,
        on_progress: Callable[[BatchProgress], None] | None,
        keep_workspaces: bool = False,
    ) -> BatchTestResult:
        bench = self._bench
        cancel = threading.Event()
        with self._lock:
            self._cancel[record.id] = cancel
        progress = _ProgressTracker(record.id, len(cells), on_progress)

        tracker = bench.stack.file_tracker
        isolate = project.file_tracking.enabled

        def execute(cell: Cell) -> BatchRow:
            progress.started()
            workspace = (
                tracker.prepare_workspace(bench.workspace, project.file_tracking, _cell_key(cell))
                if isolate
                else None
            )
            try:
                return run_cell(
                    bench, project.name, cases[cell.case_index], cell, evaluators, workspace
                )
            finally:
                if workspace is not None and not keep_workspaces:
                    tracker.discard_workspace(workspace)
                progress.stopped()

        job = BatchJob(
            batch_id=record.id,
            cells=cells,
            execute=execute,
            parallelism=parallelism,
            is_cancelled=_CancelWatch(cancel, lambda: self._stored_status(record.id)),
            cases=cases,
            project=project,
            evaluators=evaluators,
            config=bench.config,
        )
        runner = None
        try:  # a runner that cannot start leaves the batch interrupted, not running
            runner = bench.plugins.create("batch_runner", runner_name, bench.config)
            for item in runner.run(job):
                progress.finished(self._persist(item))
        except BaseException as exc:
            bench.stack.metadata.update_batch(
                record.id,
                status=BatchStatus.INTERRUPTED.value,
                error=f"{type(exc).__name__}: {exc}; resume_batch finishes the missing cells",
            )
            raise
        finally:
            with self._lock:
                del self._cancel[record.id]
            if runner is not None:
                runner.close()
        cancelled = cancel.is_set() or self._stored_status(record.id) is BatchStatus.CANCELLED
        final = BatchStatus.CANCELLED if cancelled else BatchStatus.COMPLETED
        bench.stack.metadata.update_batch(record.id, status=final.value)
        return self.get(record.id)

    def _persist(self, item: BatchRow | DetachedResult) -> BatchRow:
        """Write a finished cell (and, for a detached one, its execution and events)."""
        metadata = self._bench.stack.metadata
        if isinstance(item, DetachedResult):
            metadata.save_execution(item.execution)
            metadata.append_events(item.events)
            item = item.row
        # model_dump would turn a message or a model in the state into a plain dict. The
        # table keeps the combination's label; reading rebuilds the dict from the matrix.
        values = item.model_dump(exclude={"state", "combination", "combination_label"})
        metadata.add_batch_row(
            {**values, "combination": item.combination_label, "state": item.state}
        )
        return item

    # -- checks --------------------------------------------------------------------------

    def _check_matrix(
        self, project: WorkflowProject, matrix: list[dict[str, str]]
    ) -> list[dict[str, str]]:
        """The matrix (already of the right shape, ``arguments.matrix``) with every variant
        known to the project and no combination twice."""
        labels: dict[str, int] = {}
        for i, combination in enumerate(matrix):
            project.resolve_variants(*split_combination(combination))
            label = combination_label(combination)
            if label in labels:
                raise ConfigurationError(
                    f"variant_matrix[{i}] is the same combination as variant_matrix"
                    f"[{labels[label]}] ({label}); remove one of them"
                )
            labels[label] = i
        return matrix

    def _resolve_evaluators(
        self, evaluators: Iterable[str | Evaluator]
    ) -> tuple[dict[str, Evaluator], list[dict[str, Any]]]:
        """The evaluators by metric name, and how to find each again on resume."""
        resolved: dict[str, Evaluator] = {}
        specs: list[dict[str, Any]] = []
        for evaluator in evaluators:
            if isinstance(evaluator, str):
                name, func = evaluator, self._bench.plugins.create("evaluator", evaluator)
                spec = {"name": name, "registered": name, "ref": None}
            elif callable(evaluator):
                name, func = getattr(evaluator, "__name__", type(evaluator).__name__), evaluator
                spec = {"name": name, "registered": None, "ref": callable_reference(evaluator)}
            else:
                raise ConfigurationError(
                    f"evaluator {evaluator!r} is neither a registered name nor a callable "
                    "(case, outcome) -> float | bool | dict"
                )
            if name in resolved:
                raise ConfigurationError(f"evaluator {name!r} is given twice")
            resolved[name] = func
            specs.append(spec)
        return resolved, specs

    def _restore_evaluators(self, record: BatchRecord) -> dict[str, Evaluator]:
        resolved: dict[str, Evaluator] = {}
        for spec in record.evaluators:
            if spec.get("registered"):
                resolved[spec["name"]] = self._bench.plugins.create("evaluator", spec["registered"])
            elif spec.get("ref"):
                resolved[spec["name"]] = import_reference(
                    spec["ref"], f"evaluator {spec['name']!r}"
                )
            else:
                raise ConfigurationError(
                    f"batch {record.id} used evaluator {spec['name']!r}, a callable that cannot "
                    "be imported again: pass evaluators=[...] to resume_batch"
                )
        return resolved

    def _runner_name(self, project: WorkflowProject, runner: str | None) -> str:
        name = runner or project.execution.batch_executor or self._bench.config.batch_runner
        self._bench.plugins.get("batch_runner", name)
        return name

    def _record(self, batch_id: str) -> BatchRecord:
        record = self._bench.stack.metadata.get_batch(batch_id)
        if record is None:
            raise WTBError(
                f"batch {batch_id!r} does not exist; list batches with bench.list_batches() "
                "or `wtb batches`"
            )
        return record

    def _stored_status(self, batch_id: str) -> BatchStatus:
        return BatchStatus(self._bench.stack.metadata.batch_status(batch_id))

    def _status(self, record: BatchRecord) -> BatchStatus:
        status = BatchStatus(record.status)
        if (
            status is BatchStatus.RUNNING
            and record.id not in self._cancel
            and not self._bench.owner_alive(record.owner)
        ):
            return BatchStatus.INTERRUPTED
        return status


class _CancelWatch:
    """Whether a batch is cancelled: in this process (``cancel_batch`` sets the event) or by
    another one (its stored status, read at most once per ``interval`` seconds)."""

    def __init__(
        self, event: threading.Event, stored: Callable[[], BatchStatus], interval: float = 1.0
    ) -> None:
        self._event, self._stored, self._interval = event, stored, interval
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        if self._event.is_set():
            return True
        with self._lock:
            if time.monotonic() - self._checked < self._interval:
                return False
            self._checked = time.monotonic()
        if self._stored() is BatchStatus.CANCELLED:
            self._event.set()
        return self._event.is_set()


class _ProgressTracker:
    def __init__(
        self, batch_id: str, total: int, callback: Callable[[BatchProgress], None] | None
    ) -> None:
        self._batch_id, self._total, self._callback = batch_id, total, callback
        self._done = self._failed = self._running = 0
        self._start = time.monotonic()
        self._lock = threading.Lock()

    def _report(self) -> None:
        if self._callback is not None:
            self._callback(
                BatchProgress(
                    self._batch_id,
                    self._total,
                    self._done,
                    self._failed,
                    self._running,
                    time.monotonic() - self._start,
                )
            )

    def started(self) -> None:
        with self._lock:
            self._running += 1
            self._report()

    def stopped(self) -> None:
        with self._lock:
            self._running -= 1

    def finished(self, row: BatchRow) -> None:
        with self._lock:
            self._done += 1
            self._failed += row.status is not ExecutionStatus.COMPLETED
            self._report()


def _cells(record: BatchRecord) -> Iterable[Cell]:
    for ci, combination in enumerate(record.matrix):
        for ki, case in enumerate(record.cases):
            for repetition in range(record.repetitions):
                yield Cell(
                    batch_id=record.id,
                    project=record.project,
                    combination_index=ci,
                    combination=combination,
                    case_index=ki,
                    case_name=case["name"],
                    inputs=case["inputs"],
                    repetition=repetition,
                )


def _cell_key(cell: Cell) -> str:
    """A file-system-safe name for a cell's own workspace."""
    return f"{cell.batch_id}/c{cell.combination_index}-k{cell.case_index}-r{cell.repetition}"


def run_cell(
    bench: WTBTestBench,
    project: str,
    case: TestCase,
    cell: Cell,
    evaluators: Mapping[str, Evaluator],
    workspace: Path | None = None,
) -> BatchRow:
    """Run one cell as a real execution (in ``workspace`` when given) and score it.
    Never raises for the workflow's failures: they become a failed row."""
    nodes, workflow_variant = split_combination(cell.combination)
    try:
        result = bench.run(project, cell.inputs, nodes, workflow_variant, workspace=workspace)
    except WTBError as exc:
        return BatchRow(
            **cell_fields(cell), status=ExecutionStatus.FAILED, error=str(exc), finished_at=utcnow()
        )
    completed = result.status is ExecutionStatus.COMPLETED
    scores, errors = score(case, result, evaluators) if completed else ({}, {})
    return make_row(cell, result, scores, errors)


def _check_stored(record: BatchRecord, parallelism: int | None) -> None:
    """Refuse to resume a batch whose stored settings cannot run (stored unchecked by an
    earlier WTB)."""
    stored = record.repetitions
    if not isinstance(stored, int) or isinstance(stored, bool) or stored < 1:
        raise ConfigurationError(
            f"batch {record.id} was stored with repetitions={stored!r}, not a whole number of "
            "at least 1, so it cannot be resumed; run it again with bench.run_batch_test(...)"
        )
    width = record.parallelism
    if parallelism is None and width is not None and (not isinstance(width, int) or width < 1):
        raise ConfigurationError(
            f"batch {record.id} was stored with parallelism={width!r}, not a whole number of "
            "at least 1: pass resume_batch(..., parallelism=N)"
        )


def _row(record: BatchCellRecord, matrix: Sequence[Mapping[str, str]]) -> BatchRow:
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
