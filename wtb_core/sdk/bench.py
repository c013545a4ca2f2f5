"""``WTBTestBench``: the SDK's entry point, a facade over the application services.

Every control call returns an ``ExecutionResult``. An execution is one LangGraph thread
(``wtb-<execution id>``); its *head* is the checkpoint the next ``resume`` continues from.
Metadata (projects, executions, audit) and checkpoints outlive the process: a new bench on
the same data directory sees, resumes, rolls back and forks old executions.

The work is done by services a server can call just as well (each thread-safe, each
taking and returning the same models): ``ProjectCatalog`` (``sdk.catalog``),
``ExecutionService`` (``sdk.executions``), ``TimeTravelService`` (``sdk.time_travel``),
``InspectionService`` (``sdk.inspection``), ``BatchService`` (``batch.service``) and
``IntegrityService`` (``integrity.service``). Opening a bench runs the outbox processor:
an operation a crash cut off between two stores is finished or compensated first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wtb_core.batch.progress import BatchProgress
from wtb_core.batch.results import BatchTestResult
from wtb_core.batch.service import BatchService
from wtb_core.config import StackConfig
from wtb_core.domain.models import (
    AuditEntry,
    Checkpoint,
    ExecutionResult,
    ExecutionStatus,
    FileSnapshot,
    TestCase,
)
from wtb_core.engine.driver import ExecutionDriver
from wtb_core.engine.events import EventBus
from wtb_core.engine.graph_cache import GraphCache, environment_wrapper
from wtb_core.engine.recorded import RecordingRequest
from wtb_core.engine.records import owner_alive, process_owner
from wtb_core.integrity.outbox import Outbox
from wtb_core.integrity.report import IntegrityReport
from wtb_core.integrity.service import IntegrityService
from wtb_core.project import WorkflowProject
from wtb_core.project_checks import check_name
from wtb_core.registry import PluginRegistry
from wtb_core.sdk.branches import BatchBranches
from wtb_core.sdk.catalog import ProjectCatalog
from wtb_core.sdk.executions import ExecutionService
from wtb_core.sdk.heartbeat import Heartbeat
from wtb_core.sdk.inspection import InspectionService
from wtb_core.sdk.ledger import ExecutionLedger, held_ids
from wtb_core.sdk.stack import Mode, Stack, config_for_mode
from wtb_core.sdk.time_travel import TimeTravelService
from wtb_core.sdk.workspaces import WorkspaceRoots
from wtb_core.storage.recordings import Recording, RecordingEntry, RecordingStore
from wtb_core.telemetry.saver import timed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """The bench's application services. Each public operation exists once, here; the
    facade, the CLI and the servers call them. All are thread-safe."""

    executions: ExecutionService
    time_travel: TimeTravelService
    inspection: InspectionService
    batches: BatchService
    catalog: ProjectCatalog
    events: EventBus
    integrity: IntegrityService


class WTBTestBench:
    """Runs, inspects and time-travels LangGraph workflows, and compares their variants."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        config: StackConfig | None = None,
        *,
        plugins: Iterable[object] = (),
        load_entrypoints: bool = True,
        workspace: str | Path | None = None,
    ) -> None:
        """``workspace`` is the directory executions run in and tracked paths are relative
        to (default: the current directory)."""
        if config is None:
            config = StackConfig() if data_dir is None else StackConfig(data_dir=Path(data_dir))
        elif data_dir is not None:
            config = config.model_copy(update={"data_dir": Path(data_dir)})
        self.config = config
        self.workspace = Path(workspace or Path.cwd()).resolve()
        self._owner = process_owner()
        stack = self._stack = Stack.build(config, plugins, load_entrypoints)
        self._bus = EventBus(stack.plugins, stack.metadata)
        self._driver = ExecutionDriver(
            self._bus.publish, stack.file_tracker, lambda: stack.checkpoints.saver.serde
        )
        # Where restoring tracked files may write (see WorkspaceRoots.trusted).
        roots = [config.data_dir.resolve(), *(Path(r).resolve() for r in config.workspace_roots)]
        workspaces = WorkspaceRoots(self.workspace, roots)
        self._recordings = RecordingStore(stack.metadata.db)
        self._default_recording: RecordingRequest | None = None
        graphs = GraphCache(
            timed(stack.checkpoints.saver, config.checkpoint_store, config.metrics),
            environment_wrapper(stack.environment),
            recordings=self._recordings,
        )
        self._catalog = ProjectCatalog(
            stack.metadata, graphs, stack.file_tracker_choice, self.workspace
        )
        self._heartbeat = Heartbeat(
            stack.metadata, self._owner, config.claim_renewal_interval, held_ids
        )
        ledger = ExecutionLedger(
            stack.metadata,
            stack.checkpoints,
            self._bus,
            self._driver,
            self._owner,
            heartbeat=self._heartbeat,
            claim_timeout=config.claim_timeout,
        )
        outbox = Outbox(ledger, self._catalog, workspaces, stack.file_tracker, config.claim_timeout)
        shared = (ledger, self._catalog, workspaces, stack.file_tracker, outbox)
        self._executions = ExecutionService(*shared)
        self._time_travel = TimeTravelService(*shared)
        self._inspection = InspectionService(*shared)
        self._batches = BatchService(
            metadata=stack.metadata,
            registry=stack.plugins,
            config=config,
            executions=self._executions,
            branches=BatchBranches(
                ledger, self._executions, self._time_travel, self._inspection, self._catalog
            ),
            projects=self._catalog,
            file_tracker=stack.file_tracker,
            workspace=self.workspace,
            owner=self._owner,
            publish=self._bus.publish,
            recordings=self._recordings,
        )
        self._integrity = IntegrityService(
            ledger, outbox, self._catalog, stack.file_tracker, self._executions.delete
        )
        try:  # operations a crash cut off: finished or compensated before anything else
            for settled in self._integrity.process_outbox():
                log.info(
                    "outbox row %s (%s): %s", settled.operation_id, settled.kind, settled.detail
                )
        except Exception:  # the stores may be unwell: wtb integrity reports what is left
            log.exception("the outbox processor failed when the bench opened")

    @classmethod
    def create(
        cls,
        mode: Mode = "development",
        data_dir: str | Path | None = None,
        *,
        plugins: Iterable[object] = (),
        load_entrypoints: bool = True,
        **overrides: Any,
    ) -> WTBTestBench:
        """A bench for ``testing`` (in memory), ``development`` (SQLite) or ``production``
        (the stack from ``wtb.toml`` / ``WTB_*``)."""
        workspace = overrides.pop("workspace", None)
        config = config_for_mode(mode, data_dir, **overrides)
        return cls(
            config=config, plugins=plugins, load_entrypoints=load_entrypoints, workspace=workspace
        )

    @property
    def services(self) -> Services:
        """The application services this facade delegates to — what the servers call."""
        return Services(
            self._executions, self._time_travel, self._inspection, self._batches,
            self._catalog, self._bus, self._integrity,
        )  # fmt: skip

    @property
    def plugins(self) -> PluginRegistry:
        """The plugin registry this bench was assembled from."""
        return self._stack.plugins

    @property
    def stack(self) -> Stack:
        return self._stack

    @property
    def owner(self) -> str:
        """``host:pid`` of this process, recorded on what it runs."""
        return self._owner

    @staticmethod
    def owner_alive(owner: str | None) -> bool:
        return owner_alive(owner)

    def close(self) -> None:
        """Write what is buffered and release databases and plugin resources."""
        self._heartbeat.close()
        self._bus.close()
        self._stack.close()

    def __enter__(self) -> WTBTestBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- projects ------------------------------------------------------------------------

    def register_project(self, project: WorkflowProject) -> WorkflowProject:
        """Register (or replace) a project; it is remembered in the metadata store."""
        return self._catalog.register(project)

    def get_project(self, name: str) -> WorkflowProject:
        """A registered project; one registered by an earlier process is re-imported from
        its ``module:function`` graph factory when that is importable."""
        return self._catalog.get(name)

    def list_projects(self) -> list[str]:
        return self._catalog.names()

    # -- executions ----------------------------------------------------------------------

    def run(
        self,
        project: str,
        initial_state: Mapping[str, Any] | None = None,
        variant_config: Mapping[str, str] | None = None,
        workflow_variant: str | None = None,
        breakpoints: Iterable[str] | None = None,
        *,
        workspace: str | Path | None = None,
        execution_id: str | None = None,
        record: bool | str = False,
        replay: str | None = None,
        on_missing: str = "fail",
        recorded_nodes: Sequence[str] | None = None,
    ) -> ExecutionResult:
        """Run a project from ``initial_state`` until it completes, fails, pauses at a
        breakpoint or ``interrupt()``, or is paused / stopped from another thread.
        ``workspace`` overrides the bench's for this execution; ``execution_id`` chooses
        its id (unused, 1-64 of ``[A-Za-z0-9._-]``; default: a new random one).

        ``record=True`` stores the outputs of the recorded nodes (the project's
        ``recorded_nodes``, or ``recorded_nodes=``) in a recording named after the
        execution (``record="name"``: in that one); ``replay="name"`` serves them from a
        recording instead of calling the nodes. A replayed input with no recording fails
        the run naming node and key, unless ``on_missing="call"`` (call the node) or
        ``"record"`` (call it and add its output to the recording)."""
        return self._executions.run(
            project, initial_state, variant_config, workflow_variant, breakpoints,
            workspace=workspace, execution_id=execution_id,
            recording=self._recording_of(
                project, RecordingRequest(record, replay, on_missing, recorded_nodes)
            ),
        )  # fmt: skip

    def resume(
        self,
        execution_id: str,
        resume: Any = None,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> ExecutionResult:
        """Continue from the head. ``resume=`` answers pending ``interrupt()`` calls (a dict
        ``{interrupt_id: answer}`` when several wait); ``updates=`` edits the state first."""
        return self._executions.resume(execution_id, resume, updates, as_node)

    def pause(self, execution_id: str, timeout: float | None = None) -> ExecutionResult:
        """Pause a running execution at its next node boundary; waits up to ``timeout``
        seconds (``None`` = until it has paused) and returns its state then."""
        return self._executions.pause(execution_id, timeout)

    def stop(self, execution_id: str, timeout: float | None = None) -> ExecutionResult:
        """Cancel an execution (at its next node boundary if running). Its checkpoints stay."""
        return self._executions.stop(execution_id, timeout)

    def commit_files(self, execution_id: str) -> FileSnapshot | None:
        """Snapshot the tracked files now, linked to the head (for ``commit_on="manual"``)."""
        return self._executions.commit_files(execution_id)

    def delete_execution(self, execution_id: str) -> None:
        """Delete an execution: its checkpoints, audit trail and file-snapshot links. Blobs
        no other snapshot uses are freed by the file tracker's garbage collection."""
        self._executions.delete(execution_id)

    # -- time travel -----------------------------------------------------------------------

    def rollback(self, execution_id: str, checkpoint_id: str) -> ExecutionResult:
        """Move the head (state *and* tracked files) back to ``checkpoint_id``; the execution
        is then paused and ``resume`` continues from there (LangGraph time travel:
        ``invoke(None, config_with_checkpoint_id)``). Rolled back to a final checkpoint
        (nothing left to run), it is completed."""
        return self._time_travel.rollback(execution_id, checkpoint_id)

    def fork(
        self,
        execution_id: str,
        checkpoint_id: str,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> ExecutionResult:
        """A new execution whose history is a copy of this one's up to ``checkpoint_id``,
        paused there (after ``updates``, if given). The source never changes."""
        return self._time_travel.fork(execution_id, checkpoint_id, updates, as_node)

    def update_state(
        self, execution_id: str, values: Mapping[str, Any], as_node: str | None = None
    ) -> ExecutionResult:
        """Write ``values`` into the state at the head, as a new checkpoint (as if ``as_node``
        had returned them; by default the node that wrote last)."""
        return self._time_travel.update_state(execution_id, values, as_node)

    # -- batch tests -----------------------------------------------------------------------

    def run_batch_test(
        self,
        project: str,
        variant_matrix: Sequence[Mapping[str, str]],
        test_cases: Sequence[TestCase | Mapping[str, Any]],
        evaluators: Iterable[str | Callable[..., Any]] | None = None,
        parallelism: int | None = None,
        runner: str | None = None,
        repetitions: int = 1,
        on_progress: Callable[[BatchProgress], None] | None = None,
        keep_workspaces: bool = False,
        reuse_prefix: bool = False,
        *,
        record: bool | str = False,
        replay: str | None = None,
        on_missing: str = "fail",
        recorded_nodes: Sequence[str] | None = None,
    ) -> BatchTestResult:
        """Run every (combination × test case × repetition) cell as a real execution,
        score it, and keep its row. A failing cell fails its row; the batch goes on. When
        the project tracks files, each cell works in a workspace of its own (removed after
        the cell unless ``keep_workspaces``). With ``reuse_prefix``, the cells of a test
        case and repetition run the nodes before their first differing node once and fork
        from there (``wtb_core.batch.prefix``; README "Shared prefixes"). ``record`` /
        ``replay`` / ``on_missing`` / ``recorded_nodes`` are ``run``'s, for every cell;
        ``record=True`` names the recording after the batch, so ``replay=<batch id>``
        replays it (not combined with ``reuse_prefix`` yet)."""
        return self._batches.run(
            project, variant_matrix, test_cases, evaluators, parallelism, runner, repetitions,
            on_progress, keep_workspaces, reuse_prefix=reuse_prefix,
            recording=self._recording_of(
                project, RecordingRequest(record, replay, on_missing, recorded_nodes)
            ),
        )  # fmt: skip

    def fork_batch(
        self,
        execution_id: str,
        checkpoint_id: str,
        variant_matrix: Sequence[Mapping[str, str]],
        repetitions: int = 1,
        evaluators: Iterable[str | Callable[..., Any]] | None = None,
        parallelism: int | None = None,
        runner: str | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> BatchTestResult:
        """A batch whose every cell forks ``execution_id`` at ``checkpoint_id`` and runs its
        combination from there; its single test case is the forked state. Combinations
        that change a node that ran before the checkpoint are refused, naming them."""
        return self._batches.fork(
            execution_id, checkpoint_id, variant_matrix, repetitions, evaluators, parallelism,
            runner, on_progress,
        )  # fmt: skip

    def resume_batch(
        self,
        batch_id: str,
        evaluators: Iterable[str | Callable[..., Any]] | None = None,
        retry_failed: bool = False,
        runner: str | None = None,
        parallelism: int | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        keep_workspaces: bool = False,
    ) -> BatchTestResult:
        """Run only the cells that have no row (``retry_failed=True``: failed ones again)."""
        return self._batches.resume(
            batch_id, evaluators, retry_failed, runner, parallelism, on_progress, keep_workspaces
        )

    def cancel_batch(self, batch_id: str) -> BatchTestResult:
        """Stop scheduling new cells (from another thread); finished rows stay."""
        return self._batches.cancel(batch_id)

    def get_batch(self, batch_id: str) -> BatchTestResult:
        """A batch (``BatchNotFoundError`` when there is none)."""
        return self._batches.get(batch_id)

    def list_batches(self, project: str | None = None) -> list[BatchTestResult]:
        """Batches, newest first."""
        return self._batches.list(project)

    # -- recordings ----------------------------------------------------------------------

    def use_recording(
        self, record: str | None = None, replay: str | None = None, on_missing: str = "fail"
    ) -> None:
        """Record into (or replay from) the recording named here in every later ``run`` and
        ``run_batch_test`` that asks for neither, for projects with ``recorded_nodes``
        (the pytest plugin's ``--wtb-record`` / ``--wtb-replay``); no arguments: stop."""
        request = RecordingRequest(record or False, replay, on_missing)
        self._default_recording = request if request.asked else None

    def _recording_of(self, project: str, request: RecordingRequest) -> RecordingRequest:
        default = self._default_recording
        if request.asked or default is None or not isinstance(project, str):
            return request
        return default if self._catalog.get(project).recorded_nodes else request

    def create_recording(self, name: str, project: str | None = None) -> Recording:
        """An empty recording named ``name`` (the existing one when there is one)."""
        self._recordings.ensure(check_name("recording", name), project, None)
        return self._recordings.get_recording(name)

    def list_recordings(self) -> list[Recording]:
        """Every recording of node outputs, newest first."""
        return self._recordings.all()

    def get_recording(self, name: str) -> Recording:
        """A recording (``RecordingNotFoundError`` when there is none)."""
        return self._recordings.get_recording(name)

    def recording_entries(self, name: str) -> list[RecordingEntry]:
        """The outputs a recording holds, by node then key."""
        return self._recordings.entries(name)

    def delete_recording(self, name: str) -> None:
        """Delete a recording and every output it holds."""
        self._recordings.delete(name)

    def export_recording(self, name: str, path: str | Path) -> Path:
        """Write a recording to a JSON file (to commit next to the tests replaying it)."""
        return self._recordings.export(name, Path(path))

    def import_recording(self, path: str | Path, name: str | None = None) -> Recording:
        """Store the recording in a file written by ``export_recording`` (as ``name``,
        default: its own), adding to a recording of that name if there is one."""
        return self._recordings.load_file(Path(path), name)

    # -- integrity -----------------------------------------------------------------------

    def check_integrity(self, deep: bool = False) -> IntegrityReport:
        """Check that the metadata database, the checkpoint store and the tracked files
        agree (what ``wtb integrity`` prints); ``deep`` hashes every blob, not a sample."""
        return self._integrity.check(deep)

    def repair_integrity(self, yes: bool = False, deep: bool = False) -> IntegrityReport:
        """Apply the safe repairs to what ``check_integrity`` finds and check again; the
        deletions (cell executions a killed batch left, orphan threads) need ``yes``."""
        return self._integrity.repair(yes, deep)

    # -- reading -------------------------------------------------------------------------

    def get_execution(self, execution_id: str) -> ExecutionResult:
        return self._inspection.get_execution(execution_id)

    def list_executions(
        self,
        project: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        variant_config: Mapping[str, str] | None = None,
        include_trunks: bool = False,
    ) -> list[ExecutionResult]:
        """Executions, newest first, optionally of one project, status and/or the variants
        they ran (``{"retriever": "bm25"}``). The trunks of shared-prefix batches (the runs
        their cells fork from) are listed only with ``include_trunks``."""
        return self._inspection.list_executions(
            project, status, limit, variant_config, include_trunks
        )

    def get_state(self, execution_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        """The state values at ``checkpoint_id`` (default: the head)."""
        return self._inspection.get_state(execution_id, checkpoint_id)

    def get_checkpoints(self, execution_id: str, all_branches: bool = False) -> list[Checkpoint]:
        """The head's lineage, oldest first. ``all_branches=True`` adds checkpoints left
        behind by rollbacks (in creation order)."""
        return self._inspection.get_checkpoints(execution_id, all_branches)

    def get_file_snapshots(self, execution_id: str) -> list[FileSnapshot]:
        return self._inspection.get_file_snapshots(execution_id)

    def audit(self, execution_id: str) -> list[AuditEntry]:
        """The execution's audit trail, oldest first."""
        return self._inspection.audit(execution_id)
