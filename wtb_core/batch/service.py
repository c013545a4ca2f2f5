"""Running batch tests: expand the matrix, drive a runner, keep every finished row.

The driver (this module, in the caller's process) is the only writer of the metadata
store: each row is written as soon as the runner yields it, so a crash loses at most the
cells in flight, and ``resume`` runs only cells that have no row.

A cell run in this process is a real execution, started through the ``ExecutionRunner``
port (``batch.cells``; the SDK's ``ExecutionService`` fills it): this package never
imports the SDK.
"""

from __future__ import annotations

import builtins
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from wtb_core.batch import arguments
from wtb_core.batch.cells import ExecutionRunner, batch_cells, cell_key, run_cell
from wtb_core.batch.comparison_cache import ComparisonCache
from wtb_core.batch.evaluator_specs import resolve_evaluators, restore_evaluators
from wtb_core.batch.forked import ForkingExecutions, check_matrix, run_forked_cell
from wtb_core.batch.models import BatchRow, BatchStatus, Cell, CellStarted, DetachedResult
from wtb_core.batch.prefix import (
    SharedPrefixes,
    prefix_refusal,
    run_shared_cell,
)

# BatchProgress and BatchTestResult are re-exported: callers import them from here.
from wtb_core.batch.progress import BatchProgress as BatchProgress
from wtb_core.batch.progress import CancelWatch, ProgressEvents, ProgressTracker
from wtb_core.batch.reading import BatchReads
from wtb_core.batch.results import BatchTestResult as BatchTestResult
from wtb_core.batch.scoring import Evaluator
from wtb_core.config import StackConfig
from wtb_core.domain.events import Event
from wtb_core.domain.models import ExecutionStatus, TestCase
from wtb_core.engine.events import in_batch
from wtb_core.engine.recorded import RecordingRequest, RecordingSpec, recording_spec
from wtb_core.errors import ConfigurationError, InvalidInputError, InvalidStateError
from wtb_core.integrity.cuts import cut
from wtb_core.ports import FileTracker
from wtb_core.ports.batch_runner import BatchJob, BatchRunner
from wtb_core.project import WorkflowProject
from wtb_core.registry import PluginRegistry
from wtb_core.storage.database import utcnow
from wtb_core.storage.metadata import MetadataStore
from wtb_core.storage.recordings import RecordingStore
from wtb_core.storage.tables import BatchRecord
from wtb_core.telemetry import settings as telemetry_settings
from wtb_core.telemetry.batches import DetachedCells, driving_batch, in_cell
from wtb_core.telemetry.plugin import count_detached

log = logging.getLogger(__name__)
_CANNOT_FORK = "they cannot fork the execution"


class ProjectSource(Protocol):
    """Where a batch finds its project by name (``ProjectNotFoundError`` when unknown)."""

    def get(self, name: str) -> WorkflowProject: ...


class BatchService(BatchReads):
    """Batch tests: ``run``, ``fork``, ``resume``, ``cancel``, ``get``, ``list`` (the
    bench's ``run_batch_test``, ``fork_batch``, ``resume_batch`` … call these).

    Thread-safe: batches run at once from different threads, each on its own runner; a
    batch is driven by one caller at a time (``resume`` of a batch running in this process
    is refused, one running in a live process elsewhere too); ``cancel`` from another
    thread (or process, through the stored status) stops new cells from starting. Only
    the calling thread writes a batch's records, in the order its runner yields rows.

    ``executions`` runs the cells in this process; ``owner`` (``host:pid``) is recorded on
    the batches this process drives; ``workspace`` is the directory each cell's own
    workspace is copied from when the project tracks files. With ``publish`` (the event
    bus), the cells' events carry the batch's id and the batch publishes its progress
    (``batch.progress.ProgressEvents``). ``branches`` runs the trunks and forks of
    shared-prefix batches (``batch.prefix``) and the cells of forked batches
    (``batch.forked``); without it the former run their cells independently and ``fork``
    is refused.
    """

    def __init__(
        self,
        *,
        metadata: MetadataStore,
        registry: PluginRegistry,
        config: StackConfig,
        executions: ExecutionRunner,
        projects: ProjectSource,
        branches: ForkingExecutions | None = None,
        file_tracker: FileTracker,
        workspace: Path,
        owner: str,
        publish: Callable[[Event], None] | None = None,
        recordings: RecordingStore | None = None,
    ) -> None:
        self._metadata = metadata
        self._recordings = recordings
        self._publish = publish
        self._registry = registry
        self._config = config
        self._executions = executions
        self._branches = branches
        self._projects = projects
        self._file_tracker = file_tracker
        self._workspace = workspace
        self._owner = owner
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._comparisons = ComparisonCache()
        telemetry_settings.configure(config)  # StackConfig.metrics / .tracing, per process

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
        *,
        batch_id: str | None = None,
        on_created: Callable[[str], None] | None = None,
        reuse_prefix: bool = False,
        recording: RecordingRequest | None = None,
    ) -> BatchTestResult:
        """Run a new batch. ``batch_id`` chooses its id (a server hands it out before the
        batch starts; ``InvalidStateError`` when a batch has it already). Every argument is
        checked before the batch record is stored (``arguments``); ``on_created(id)`` is
        called once it is (a server answers ``202`` then). ``reuse_prefix`` runs the
        nodes before the first differing node once per case and repetition
        (``batch.prefix``). ``recording`` records or replays node outputs in every cell
        (``engine.recorded.recording_spec``; ``record=True`` names the recording after the
        batch); a resumed batch does the same. The two do not combine yet."""
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
        arguments.flag("reuse_prefix", reuse_prefix)
        proj = self._projects.get(project)
        matrix = arguments.project_matrix(proj, entries)
        resolved, specs = resolve_evaluators(self._registry, chosen)
        runner_name = self._runner_name(proj, runner)
        if batch_id is not None and self._metadata.get_batch(batch_id) is not None:
            raise InvalidStateError(
                f"a batch with id {batch_id!r} exists already; choose another id or resume it"
            )
        batch_id = batch_id or uuid.uuid4().hex[:16]
        if reuse_prefix and recording is not None and recording.asked:
            raise InvalidInputError(
                "reuse_prefix and record / replay do not combine yet (shared trunks would "
                "skip the recording): pass one of them"
            )
        spec = self._recording(proj, runner_name, recording, batch_id)
        now = utcnow()
        record = BatchRecord(
            id=batch_id,
            project=proj.name,
            status=BatchStatus.RUNNING.value,
            matrix=matrix,
            cases=stored_cases,
            evaluators=specs,
            repetitions=repetitions,
            runner=runner_name,
            parallelism=parallelism,
            total_cells=len(matrix) * len(cases) * repetitions,
            owner=self._owner,
            error=None,
            reuse_prefix=reuse_prefix,
            created_at=now,
            updated_at=now,
            recording=spec.to_json() if spec is not None else None,
        )
        self._metadata.create_batch(record)
        if on_created is not None:
            on_created(record.id)
        cells = list(batch_cells(record))
        return self._drive(
            record, proj, cases, cells, resolved, runner_name, parallelism, on_progress,
            keep_workspaces,
        )  # fmt: skip

    def fork(
        self,
        execution_id: str,
        checkpoint_id: str,
        variant_matrix: Sequence[Mapping[str, str]],
        repetitions: int = 1,
        evaluators: Iterable[str | Evaluator] | None = None,
        parallelism: int | None = None,
        runner: str | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> BatchTestResult:
        """A batch forked from ``checkpoint_id`` of ``execution_id`` (``batch.forked``):
        every cell forks it with its combination and runs on; the single test case is the
        forked state. Every argument is checked before the batch record is stored."""
        execution_id = arguments.name(
            "execution_id", execution_id, "an execution id (see bench.list_executions())"
        )
        checkpoint_id = arguments.name(
            "checkpoint_id", checkpoint_id, "a checkpoint id (see bench.get_checkpoints(...))"
        )
        entries = arguments.matrix(variant_matrix)
        chosen = arguments.evaluators(evaluators)
        repetitions = arguments.count("repetitions", repetitions, "runs of every combination", 2)
        parallelism = arguments.count(
            "parallelism", parallelism, "cells run at once", 4, "the runner's default"
        )
        runner = arguments.name(
            "runner", runner, "a runner name (a string such as 'threadpool') or None", True
        )
        arguments.callback("on_progress", on_progress)
        if self._branches is None:
            raise ConfigurationError("this batch service cannot fork executions")
        point = self._branches.fork_point(execution_id, checkpoint_id)
        proj = self._projects.get(point.project)
        matrix = arguments.project_matrix(proj, entries)
        check_matrix(matrix, point)
        resolved, specs = resolve_evaluators(self._registry, chosen)
        runner_name = self._runner_name(proj, runner)
        self._require_in_process(runner_name, _CANNOT_FORK)
        name = f"{execution_id}@{checkpoint_id}"
        cases, stored_cases = arguments.cases([TestCase(inputs=point.state, name=name)])
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
            total_cells=len(matrix) * repetitions,
            owner=self._owner,
            error=None,
            source_execution_id=execution_id,
            source_checkpoint_id=checkpoint_id,
            created_at=now,
            updated_at=now,
        )
        self._metadata.create_batch(record)
        cells = list(batch_cells(record))
        return self._drive(
            record, proj, cases, cells, resolved, runner_name, parallelism, on_progress
        )

    def resume(
        self,
        batch_id: str,
        evaluators: Iterable[str | Evaluator] | None = None,
        retry_failed: bool = False,
        runner: str | None = None,
        parallelism: int | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        keep_workspaces: bool = False,
        *,
        on_started: Callable[[str], None] | None = None,
    ) -> BatchTestResult:
        """Run only the cells without a row (and, with ``retry_failed``, failed ones again).
        Every argument is checked before the batch's stored status changes;
        ``on_started(id)`` is called once it is ``running`` again."""
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
        record = self._fetch_record(batch_id)
        _check_stored(record, parallelism)
        if batch_id in self._cancel:
            raise InvalidStateError(f"batch {batch_id} is running in this process")
        status = self._status(record)
        if status is BatchStatus.RUNNING:
            raise InvalidStateError(
                f"batch {batch_id} is running in another process ({record.owner}); "
                "cancel it there or wait for it"
            )
        proj = self._projects.get(record.project)
        cases = [TestCase.model_validate(case) for case in record.cases]
        resolved = (
            resolve_evaluators(self._registry, chosen)[0]
            if chosen is not None
            else restore_evaluators(self._registry, record)
        )
        runner_name = runner or record.runner
        self._registry.get("batch_runner", runner_name)
        if record.source_execution_id:
            self._require_in_process(runner_name, _CANNOT_FORK)
        rows = self._metadata.batch_rows(batch_id)
        if retry_failed:
            failed = [
                (r.combination_index, r.case_index, r.repetition)
                for r in rows
                if r.status != ExecutionStatus.COMPLETED.value
            ]
            self._metadata.replace_batch_rows(batch_id, failed)
            rows = [
                r for r in rows if (r.combination_index, r.case_index, r.repetition) not in failed
            ]
        done = {(r.combination_index, r.case_index, r.repetition) for r in rows}
        cells = [cell for cell in batch_cells(record) if cell.key not in done]
        self._metadata.update_batch(
            batch_id, status=BatchStatus.RUNNING.value, owner=self._owner, error=None
        )
        if on_started is not None:
            on_started(batch_id)
        width = parallelism or record.parallelism
        return self._drive(
            record, proj, cases, cells, resolved, runner_name, width, on_progress, keep_workspaces
        )

    def cancel(self, batch_id: str) -> BatchTestResult:
        """Stop scheduling new cells; cells in flight finish and keep their rows."""
        record = self._fetch_record(batch_id)
        with self._lock:
            event = self._cancel.get(batch_id)
        if event is not None:
            event.set()
            return self.get(batch_id)
        status = self._status(record)
        if status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
            raise InvalidStateError(f"batch {batch_id} is already {status.value}")
        self._metadata.update_batch(batch_id, status=BatchStatus.CANCELLED.value)
        return self.get(batch_id)

    # -- driving -------------------------------------------------------------------------

    def _drive(
        self,
        record: BatchRecord,
        project: WorkflowProject,
        cases: builtins.list[TestCase],
        cells: builtins.list[Cell],
        evaluators: dict[str, Evaluator],
        runner_name: str,
        parallelism: int | None,
        on_progress: Callable[[BatchProgress], None] | None,
        keep_workspaces: bool = False,
    ) -> BatchTestResult:
        cancel = threading.Event()
        with self._lock:
            self._cancel[record.id] = cancel
        progress = ProgressTracker(record.id, len(cells), on_progress)
        events = self._progress_events(record, len(cells))

        tracker = self._file_tracker
        isolate = project.file_tracking.enabled
        tree: SharedPrefixes | None = None
        # A forked batch (``fork``): every cell forks the source at its checkpoint.
        source = (record.source_execution_id or "", record.source_checkpoint_id or "")
        forked = self._branches if record.source_execution_id else None
        source_variants: dict[str, str] = {}
        if forked is not None:
            source_variants = self._metadata.get_execution(source[0]).variant_config
        recording = RecordingSpec.from_json(record.recording) if record.recording else None
        resumed = len(cells) < record.total_cells
        telemetry = driving_batch(project.name, record.id, runner_name, cells, resumed)

        def execute(cell: Cell) -> BatchRow:
            progress.started()
            workspace = (
                tracker.prepare_workspace(self._workspace, project.file_tracking, cell_key(cell))
                if isolate
                else None
            )
            try:
                with in_batch(record.id), in_cell(trace_context, cell):
                    case = cases[cell.case_index]
                    if forked is not None:
                        return run_forked_cell(
                            forked, source, source_variants, case, cell, evaluators
                        )
                    if tree is not None:
                        return run_shared_cell(tree, case, cell, evaluators)
                    return run_cell(
                        self._executions, project.name, cases[cell.case_index], cell,
                        evaluators, workspace, recording,
                    )  # fmt: skip
            finally:
                if workspace is not None and not keep_workspaces:
                    tracker.discard_workspace(workspace)
                progress.stopped()

        job = BatchJob(
            batch_id=record.id,
            cells=cells,
            execute=execute,
            parallelism=parallelism,
            is_cancelled=CancelWatch(cancel, lambda: self._stored_status(record.id)),
            cases=cases,
            project=project,
            evaluators=evaluators,
            config=self._config,
        )
        detached = DetachedCells(progress.started, progress.stopped)
        runner = None
        events.started()
        error: BaseException | None = None
        trace_context = telemetry.__enter__()
        try:  # a runner that cannot start leaves the batch interrupted, not running
            runner = self._registry.batch_runner(runner_name, self._config)
            tree = self._tree(record, project, runner)
            for item in runner.run(job):
                if isinstance(item, CellStarted):
                    detached.started(item.execution_id)
                    continue
                row = self._persist(item)
                if row.execution_id is not None:
                    detached.finished(row.execution_id)
                progress.finished(row)
                events.cell_finished(row)
        except BaseException as exc:
            error = exc
            reason = f"{type(exc).__name__}: {exc}; resume_batch finishes the missing cells"
            self._metadata.update_batch(
                record.id, status=BatchStatus.INTERRUPTED.value, error=reason
            )
            events.finished(BatchStatus.INTERRUPTED, reason)
            raise
        finally:
            with self._lock:
                del self._cancel[record.id]
            if runner is not None:
                runner.close()
            detached.close()
            telemetry.__exit__(type(error) if error else None, error, None)
        cancelled = cancel.is_set() or self._stored_status(record.id) is BatchStatus.CANCELLED
        final = BatchStatus.CANCELLED if cancelled else BatchStatus.COMPLETED
        self._metadata.update_batch(record.id, status=final.value)
        self.comparison(record.id)  # stored with the batch: its first view is ready
        events.finished(final)
        return self.get(record.id)

    def _tree(
        self, record: BatchRecord, project: WorkflowProject, runner: BatchRunner
    ) -> SharedPrefixes | None:
        """The fork tree of a shared-prefix batch, or ``None`` (cells run independently):
        the batch did not ask for one, or it cannot have one here, which the batch's
        ``warning`` says."""
        if not record.reuse_prefix:
            return None
        warning = prefix_refusal(project, runner, self._branches is not None)
        self._metadata.update_batch(record.id, warning=warning)
        record.warning = warning
        if warning is not None or self._branches is None:
            log.warning("batch %s: %s", record.id, warning)
            return None
        stored = self._branches.trunks(record.id)
        return SharedPrefixes(self._branches, project.name, record.matrix, stored)

    def _progress_events(self, record: BatchRecord, to_run: int) -> ProgressEvents:
        """Progress events counting from the rows already stored (a resume's)."""
        stored = (
            self._metadata.batch_rows(record.id)
            if self._publish is not None and to_run < record.total_cells
            else []
        )
        failed = sum(row.status != ExecutionStatus.COMPLETED.value for row in stored)
        return ProgressEvents(
            self._publish, record.id, record.project, record.total_cells, len(stored), failed
        )

    def _persist(self, item: BatchRow | DetachedResult) -> BatchRow:
        """Write a finished cell (and, for a detached one, its execution and events)."""
        metadata = self._metadata
        if isinstance(item, DetachedResult):
            metadata.save_execution(item.execution)
            metadata.append_events([{**e, "batch_id": item.row.batch_id} for e in item.events])
            count_detached(item.execution, item.events)
            item = item.row
        # model_dump would turn a message or a model in the state into a plain dict. The
        # table keeps the combination's label; reading rebuilds the dict from the matrix.
        values = item.model_dump(exclude={"state", "combination", "combination_label"})
        cut("batch.before_row")
        metadata.add_batch_row(
            {**values, "combination": item.combination_label, "state": item.state}
        )
        cut("batch.after_row")
        return item

    # -- checks --------------------------------------------------------------------------

    def _require_in_process(self, runner_name: str, why: str) -> None:
        """Refuse a runner that runs cells away from this process (its factory has no
        ``in_process = True``), saying ``why`` the batch needs this process."""
        factory = self._registry.get("batch_runner", runner_name).factory
        if not getattr(factory, "in_process", False):
            raise ConfigurationError(
                f"the {runner_name!r} runner runs cells away from this process, where {why}: "
                "pass runner='threadpool' (or 'sequential')"
            )

    def _recording(
        self,
        project: WorkflowProject,
        runner_name: str,
        request: RecordingRequest | None,
        batch_id: str,
    ) -> RecordingSpec | None:
        """What the batch records or replays; only runners that run cells in this process
        (``sequential``, ``threadpool``) can."""
        if request is None or not request.asked:
            return None
        self._require_in_process(runner_name, "they cannot record or replay node outputs")
        if self._recordings is None:
            raise ConfigurationError("this batch service has no recording store")
        return recording_spec(self._recordings, project, request, batch_id)

    def _runner_name(self, project: WorkflowProject, runner: str | None) -> str:
        """The runner a new batch uses: ``runner=``, else the project's ``batch_executor``,
        else the stack's ``batch_runner``; an unknown one names the setting to fix."""
        executor = project.execution.batch_executor
        name = runner or executor or self._config.batch_runner
        from_project = not runner and bool(executor)
        setting = f"batch_executor of project {project.name!r}" if from_project else None
        self._registry.get("batch_runner", name, setting=setting)
        return name


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
