"""``WTBTestBench``: the SDK's entry point.

Every control call returns an ``ExecutionResult``. An execution is one LangGraph thread
(``wtb-<execution id>``); its *head* is the checkpoint the next ``resume`` continues from.
Metadata (projects, executions, audit) and checkpoints outlive the process: a new bench on
the same data directory sees, resumes, rolls back and forks old executions.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from langgraph.errors import GraphBubbleUp, InvalidUpdateError
from langgraph.types import Command
from pydantic import BaseModel, TypeAdapter, ValidationError

from wtb_core.batch.service import BatchProgress, BatchService, BatchTestResult
from wtb_core.checkpoint_stores import lineage, thread_config
from wtb_core.config import EnvironmentConfig, ExecutionConfig, FileTrackingConfig, StackConfig
from wtb_core.domain.events import Event, EventType
from wtb_core.domain.models import (
    AuditEntry,
    Checkpoint,
    ExecutionResult,
    ExecutionStatus,
    FileSnapshot,
    PendingInterrupt,
    Severity,
    TestCase,
)
from wtb_core.engine.driver import (
    ExecutionDriver,
    RunOutcome,
    RunRequest,
    driven_in_this_process,
)
from wtb_core.engine.events import EventBus
from wtb_core.engine.graph_cache import GraphCache, environment_wrapper
from wtb_core.engine.history import (
    answered_interrupts,
    head_snapshot,
    list_checkpoints,
    pending_interrupts,
    snapshot_at,
    user_nodes,
)
from wtb_core.engine.serialization import check_input
from wtb_core.errors import (
    ConfigurationError,
    InvalidStateError,
    ProjectError,
    ProjectNotFoundError,
    StorageError,
    WTBError,
)
from wtb_core.loading import import_reference
from wtb_core.ports.file_tracker import TrackedExecution
from wtb_core.project import YAML_REF, WorkflowProject
from wtb_core.sdk.stack import Mode, Stack, config_for_mode
from wtb_core.storage.database import utcnow
from wtb_core.storage.tables import ExecutionRow

_HOST = socket.gethostname()


def _validate_model_fields(schema: Any, values: Mapping[str, Any]) -> None:
    """Refuse values a pydantic state schema would refuse, before anything is written
    (LangGraph stores such an update and fails only when it next reads the state)."""
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return
    for key, value in values.items():
        field = schema.model_fields.get(key)
        if field is None:
            continue
        try:
            TypeAdapter(field.annotation).validate_python(value)
        except ValidationError as exc:
            raise InvalidStateError(
                f"state key {key!r} does not accept {value!r}: {schema.__name__}.{key} is "
                f"{field.annotation!r} ({exc.errors()[0]['msg']})"
            ) from None


def _check_keys(graph: Any, values: Mapping[str, Any], schema: Any, what: str) -> None:
    """Refuse keys ``schema`` does not have: LangGraph would drop them silently from an
    input and refuse them in an update; WTB refuses them in both."""
    keys = set(graph.builder.schemas[schema])
    unknown = sorted(set(values) - keys)
    if unknown:
        raise InvalidStateError(
            f"{what} has no key {', '.join(map(repr, unknown))}; its keys are: "
            f"{', '.join(sorted(keys))}"
        )


def new_execution_id() -> str:
    return uuid.uuid4().hex[:16]


def _owner_alive(owner: str | None) -> bool:
    """Whether the process that owns a running execution may still be running it."""
    if not owner or ":" not in owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != _HOST or not pid.isdigit():
        return True  # another machine: assume it is alive
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
            config = StackConfig(**({"data_dir": Path(data_dir)} if data_dir is not None else {}))
        elif data_dir is not None:
            config = config.model_copy(update={"data_dir": Path(data_dir)})
        self.config = config
        self.workspace = Path(workspace or Path.cwd()).resolve()
        # Where restoring tracked files may write (see _trusted_workspace).
        self._workspace_roots = {
            self.workspace,
            config.data_dir.resolve(),
            *(Path(root).resolve() for root in config.workspace_roots),
        }
        self._stack = Stack.build(config, plugins, load_entrypoints)
        self._bus = EventBus(self._stack.plugins, self._stack.metadata)
        self._driver = ExecutionDriver(
            self._bus.publish, self._stack.file_tracker, lambda: self._stack.checkpoints.saver.serde
        )
        self._projects: dict[str, WorkflowProject] = {}
        self._graphs = GraphCache(
            self._stack.checkpoints.saver, environment_wrapper(self._stack.environment)
        )
        self._lock = threading.RLock()
        self._owner = f"{_HOST}:{os.getpid()}"
        self._batches = BatchService(self)

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
    def plugins(self):
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
        return _owner_alive(owner)

    def close(self) -> None:
        """Write what is buffered and release databases and plugin resources."""
        self._bus.close()
        self._stack.close()

    def __enter__(self) -> WTBTestBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- projects ------------------------------------------------------------------------

    def register_project(self, project: WorkflowProject) -> WorkflowProject:
        """Register (or replace) a project; it is remembered in the metadata store."""
        if not isinstance(project, WorkflowProject):
            raise ProjectError(
                f"register_project takes a WorkflowProject, not {type(project).__name__}"
            )
        if project.file_tracking.enabled:
            if refusal := self._stack.file_tracker_choice.refusal(project.name):
                raise ConfigurationError(refusal)
            project.file_tracking.tracked_roots(self.workspace)  # refuses paths leaving it
        project.node_names()  # builds the graph once: a broken factory fails here
        with self._lock:
            self._projects[project.name] = project
            self._graphs.forget(project.name)
        self._stack.metadata.save_project(
            project.name,
            project.description,
            project.factory_ref,
            {
                "file_tracking": project.file_tracking.model_dump(mode="json"),
                "environment": project.environment.model_dump(mode="json"),
                "execution": project.execution.model_dump(mode="json"),
            },
        )
        return project

    def get_project(self, name: str) -> WorkflowProject:
        """A registered project; one registered by an earlier process is re-imported from
        its ``module:function`` graph factory when that is importable."""
        with self._lock:
            if name in self._projects:
                return self._projects[name]
        row = self._stack.metadata.get_project(name)
        if row is not None and row.factory_ref and row.factory_ref.startswith(YAML_REF):
            project = WorkflowProject.from_yaml(row.factory_ref.removeprefix(YAML_REF))
            with self._lock:
                return self._projects.setdefault(name, project)
        if row is not None and row.factory_ref:
            project = WorkflowProject(
                name=row.name,
                graph_factory=import_reference(row.factory_ref, f"project {name!r}"),
                description=row.description,
                file_tracking=FileTrackingConfig.model_validate(
                    row.settings.get("file_tracking", {})
                ),
                environment=EnvironmentConfig.model_validate(row.settings.get("environment", {})),
                execution=ExecutionConfig.model_validate(row.settings.get("execution", {})),
            )
            with self._lock:
                return self._projects.setdefault(name, project)
        known = ", ".join(self.list_projects()) or "none"
        hint = (
            " It was registered from code that cannot be imported again (a function in __main__"
            " or a closure): register it in this process too."
            if row is not None
            else ""
        )
        raise ProjectNotFoundError(
            f"project {name!r} is not registered with this bench (known: {known}).{hint} "
            "Call bench.register_project(WorkflowProject(...)) first"
        )

    def list_projects(self) -> list[str]:
        names = {row.name for row in self._stack.metadata.list_projects()}
        with self._lock:
            names.update(self._projects)
        return sorted(names)

    # -- graphs --------------------------------------------------------------------------

    def _graph(
        self,
        project: WorkflowProject,
        variant_config: Mapping[str, str],
        workflow_variant: str | None,
        version: str | None = None,
    ) -> Any:
        return self._graphs.get(project, variant_config, workflow_variant, version)

    def _graph_of(self, row: ExecutionRow) -> Any:
        """The graph an execution ran: its project version and variants."""
        project = self.get_project(row.project)
        return self._graph(project, row.variant_config, row.workflow_variant, row.project_version)

    # -- running -------------------------------------------------------------------------

    def run(
        self,
        project: str,
        initial_state: Mapping[str, Any] | None = None,
        variant_config: Mapping[str, str] | None = None,
        workflow_variant: str | None = None,
        breakpoints: Iterable[str] | None = None,
        *,
        workspace: str | Path | None = None,
    ) -> ExecutionResult:
        """Run a project from ``initial_state`` until it completes, fails, pauses at a
        breakpoint or ``interrupt()``, or is paused / stopped from another thread.
        ``workspace`` overrides the bench's for this execution."""
        proj = self.get_project(project)
        variant_config = dict(variant_config or {})
        graph = self._graph(proj, variant_config, workflow_variant)
        bps = self._check_breakpoints(graph, breakpoints)
        state = self._check_state(initial_state)
        _check_keys(graph, state, graph.builder.input_schema, "initial state")
        execution_id = new_execution_id()
        now = utcnow()
        row = ExecutionRow(
            id=execution_id,
            project=proj.name,
            thread_id=f"wtb-{execution_id}",
            status=ExecutionStatus.RUNNING.value,
            head_checkpoint_id=None,
            time_travel=False,
            initial_state=state,
            state={},
            error=None,
            variant_config=variant_config,
            workflow_variant=workflow_variant,
            project_version=proj.current_version,
            breakpoints=bps,
            next_nodes=[],
            interrupts=[],
            parent_execution_id=None,
            parent_checkpoint_id=None,
            owner=self._owner,
            workspace=str(self._run_workspace(workspace)),
            duration_ms=0.0,
            created_at=now,
            updated_at=now,
        )
        self._publish(row, EventType.EXECUTION_STARTED, data={"variants": variant_config})
        self._stack.metadata.create_execution(row)
        return self._drive(proj, row, graph, state)

    def resume(
        self,
        execution_id: str,
        resume: Any = None,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> ExecutionResult:
        """Continue from the head. ``resume=`` answers pending ``interrupt()`` calls (a dict
        ``{interrupt_id: answer}`` when several wait); ``updates=`` edits the state first."""
        row = self._row(execution_id)
        status = self._status(row)
        self._require_not_running(row, status, "resume")
        if status is ExecutionStatus.COMPLETED:
            raise InvalidStateError(
                f"execution {execution_id} is completed; nothing to resume. Roll it back "
                "(bench.rollback) or fork it (bench.fork) from an earlier checkpoint"
            )
        if status is ExecutionStatus.CANCELLED:
            raise InvalidStateError(
                f"execution {execution_id} was stopped; roll it back to a checkpoint "
                "(bench.rollback) or fork it (bench.fork) to continue"
            )
        proj = self.get_project(row.project)
        graph = self._graph_of(row)
        seen_status, seen_owner = row.status, row.owner
        # A crash leaves the head behind the checkpoints the run went on to write: continue
        # from the thread's newest, as invoke(None, {"thread_id": ...}) would.
        row.head_checkpoint_id = self._current_head(row, crashed=True)
        self._claim(row, seen_status, seen_owner)
        try:
            if row.head_checkpoint_id is None:  # failed before its first checkpoint
                self._publish(row, EventType.EXECUTION_RESUMED, message="from its initial state")
                return self._drive(proj, row, graph, row.initial_state)
            snapshot = head_snapshot(graph, row.thread_id, row.head_checkpoint_id, row.time_travel)
            pending = pending_interrupts(snapshot)
            # Rolled back to a checkpoint whose interrupt() was answered on a later branch:
            # the node asks again when it re-runs (as after LangGraph's invoke(None, cfg)),
            # and ``resume=`` answers that new question.
            ask_again = (
                resume is not None
                and row.time_travel
                and not pending
                and bool(answered_interrupts(snapshot))
            )
            graph_input = None if ask_again else self._resume_input(execution_id, pending, resume)
            tracked = self._tracked(proj, row)
            if tracked is not None and tracked.config.commit_on != "manual":
                # The workspace may hold another execution's files (a fork shares it).
                self._stack.file_tracker.restore(tracked, row.head_checkpoint_id)
            if updates:
                row.head_checkpoint_id = self._apply_update(graph, row, updates, as_node)
                self._set(row, head_checkpoint_id=row.head_checkpoint_id)
        except BaseException:
            self._set(row, status=seen_status, owner=seen_owner)  # release the claim
            raise
        self._publish(row, EventType.EXECUTION_RESUMED, checkpoint_id=row.head_checkpoint_id)
        result = self._drive(proj, row, graph, graph_input)
        if not ask_again or result.status is not ExecutionStatus.PAUSED or not result.interrupts:
            return result
        graph_input = self._resume_input(execution_id, result.interrupts, resume)
        self._claim(row, row.status, row.owner)
        self._publish(
            row,
            EventType.EXECUTION_RESUMED,
            checkpoint_id=row.head_checkpoint_id,
            message="answering the interrupt() asked again",
        )
        return self._drive(proj, row, graph, graph_input)

    def _claim(self, row: ExecutionRow, seen_status: str, seen_owner: str | None) -> None:
        """Make this bench the one running ``row``, or raise if another caller just did."""
        if not self._stack.metadata.claim_execution(row.id, seen_status, seen_owner, self._owner):
            raise InvalidStateError(
                f"execution {row.id} was resumed by another caller at the same moment; it is "
                "running now: wait for it (or pause it) and look at its result"
            )
        row.status, row.owner, row.error = ExecutionStatus.RUNNING.value, self._owner, None

    @staticmethod
    def _resume_input(
        execution_id: str, interrupts: tuple[PendingInterrupt, ...], resume: Any
    ) -> Any:
        if not interrupts:
            if resume is not None:
                raise InvalidStateError(
                    f"execution {execution_id} is not waiting at an interrupt(); call "
                    "resume() without resume="
                )
            return None
        waiting = "; ".join(f"{i.id} in node {i.node!r}: {i.value!r}" for i in interrupts)
        if resume is None:
            raise InvalidStateError(
                f"execution {execution_id} is waiting for an answer to interrupt() ({waiting}); "
                "pass resume=<answer>"
            )
        ids = {i.id for i in interrupts}
        if len(interrupts) > 1 and not (isinstance(resume, Mapping) and set(resume) <= ids):
            raise InvalidStateError(
                f"execution {execution_id} has {len(interrupts)} interrupts waiting ({waiting}); "
                "pass resume={interrupt_id: answer, ...}"
            )
        return Command(resume=resume)

    def _drive(
        self, proj: WorkflowProject, row: ExecutionRow, graph: Any, graph_input: Any
    ) -> ExecutionResult:
        request = RunRequest(
            execution_id=row.id,
            project=row.project,
            thread_id=row.thread_id,
            graph=graph,
            head=row.head_checkpoint_id,
            address_head=bool(row.time_travel),
            on_new_branch=(lambda head: self._left_time_travel(row, head))
            if row.time_travel
            else None,
            breakpoints=list(row.breakpoints),
            recursion_limit=proj.execution.recursion_limit,
            durability=proj.execution.durability,
            timeout=proj.execution.default_timeout,
            workspace=self._workspace_of(row),
            tracked=self._tracked(proj, row),
        )
        return self._driver.drive(request, graph_input, lambda outcome: self._finish(row, outcome))

    def _left_time_travel(self, row: ExecutionRow, head: str) -> None:
        """The first checkpoint of the branch a time-travel drive started: stored at once,
        so a crash from here on continues this branch."""
        self._set(row, head_checkpoint_id=head, time_travel=False)

    def _finish(self, row: ExecutionRow, outcome: RunOutcome) -> ExecutionResult:
        if outcome.status is ExecutionStatus.COMPLETED:
            self._publish(row, EventType.EXECUTION_COMPLETED, checkpoint_id=outcome.head)
        self._set(
            row,
            status=outcome.status.value,
            head_checkpoint_id=outcome.head,
            state=outcome.state,
            next_nodes=list(outcome.next),
            interrupts=[i.model_dump() for i in outcome.interrupts],
            error=outcome.error,
            duration_ms=row.duration_ms + outcome.duration_ms,
            time_travel=False,
        )
        if outcome.storage_failure:
            raise StorageError(
                f"execution {row.id} failed because its checkpoint store did: {outcome.error}. "
                "Fix the store (disk space, the database server), then resume it"
            )
        return self._result(row)

    # -- control from other threads --------------------------------------------------------

    def pause(self, execution_id: str, timeout: float | None = None) -> ExecutionResult:
        """Pause a running execution at its next node boundary; waits up to ``timeout``
        seconds (``None`` = until it has paused) and returns its state then."""
        if self._driver.is_running(execution_id):
            self._driver.request(execution_id, ExecutionStatus.PAUSED, timeout)
            return self.get_execution(execution_id)
        row = self._row(execution_id)
        status = self._status(row)
        if status is ExecutionStatus.PAUSED:
            return self._result(row)
        self._require_not_running(row, status, "pause")
        raise InvalidStateError(
            f"execution {execution_id} is {status.value}; only a running execution can be paused"
        )

    def stop(self, execution_id: str, timeout: float | None = None) -> ExecutionResult:
        """Cancel an execution (at its next node boundary if running). Its checkpoints stay."""
        if self._driver.is_running(execution_id):
            self._driver.request(execution_id, ExecutionStatus.CANCELLED, timeout)
            return self.get_execution(execution_id)
        row = self._row(execution_id)
        status = self._status(row)
        self._require_not_running(row, status, "stop")
        if status in (ExecutionStatus.COMPLETED, ExecutionStatus.CANCELLED):
            raise InvalidStateError(f"execution {execution_id} is already {status.value}")
        self._publish(row, EventType.EXECUTION_STOPPED, checkpoint_id=row.head_checkpoint_id)
        self._set(row, status=ExecutionStatus.CANCELLED.value)
        return self._result(row)

    # -- time travel -----------------------------------------------------------------------

    def rollback(self, execution_id: str, checkpoint_id: str) -> ExecutionResult:
        """Move the head (state *and* tracked files) back to ``checkpoint_id``; the execution
        is then paused and ``resume`` continues from there (LangGraph time travel:
        ``invoke(None, config_with_checkpoint_id)``). Rolled back to a final checkpoint
        (nothing left to run), it is completed."""
        row = self._row(execution_id)
        self._require_not_running(row, self._status(row), "roll back")
        proj = self.get_project(row.project)
        graph = self._graph_of(row)
        snapshot = snapshot_at(graph, row.thread_id, checkpoint_id)
        tracked = self._tracked(proj, row)
        if tracked is not None:
            self._stack.file_tracker.restore(tracked, checkpoint_id)
        self._publish(
            row,
            EventType.EXECUTION_ROLLED_BACK,
            checkpoint_id=checkpoint_id,
            data={"from_checkpoint": row.head_checkpoint_id},
        )
        next_nodes = user_nodes(snapshot.next)
        interrupts = pending_interrupts(snapshot)
        status = (
            ExecutionStatus.PAUSED if snapshot.next or interrupts else ExecutionStatus.COMPLETED
        )
        self._set(
            row,
            status=status.value,
            head_checkpoint_id=checkpoint_id,
            time_travel=True,
            state=dict(snapshot.values),
            next_nodes=list(next_nodes),
            interrupts=[i.model_dump() for i in interrupts],
            error=None,
        )
        return self._result(row)

    def fork(
        self,
        execution_id: str,
        checkpoint_id: str,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> ExecutionResult:
        """A new execution whose history is a copy of this one's up to ``checkpoint_id``,
        paused there (after ``updates``, if given). The source never changes."""
        source = self._row(execution_id)
        proj = self.get_project(source.project)
        graph = self._graph_of(source)
        snapshot_at(graph, source.thread_id, checkpoint_id)  # belongs to the source?
        fork_id = new_execution_id()
        now = utcnow()
        row = ExecutionRow(
            id=fork_id,
            project=source.project,
            thread_id=f"wtb-{fork_id}",
            status=ExecutionStatus.PAUSED.value,
            head_checkpoint_id=checkpoint_id,
            time_travel=True,
            initial_state=source.initial_state,
            state={},
            error=None,
            variant_config=source.variant_config,
            workflow_variant=source.workflow_variant,
            project_version=source.project_version,
            breakpoints=source.breakpoints,
            next_nodes=[],
            interrupts=[],
            parent_execution_id=source.id,
            parent_checkpoint_id=checkpoint_id,
            owner=self._owner,
            workspace=source.workspace,
            duration_ms=0.0,
            created_at=now,
            updated_at=now,
        )
        store = self._stack.checkpoints
        store.copy_thread(source.thread_id, row.thread_id, checkpoint_id)
        try:
            tracked_source = self._tracked(proj, source)
            if tracked_source is not None:
                chain = lineage(store.saver, row.thread_id, checkpoint_id)
                self._stack.file_tracker.link_fork(
                    tracked_source,
                    self._tracked(proj, row),
                    [tup.config["configurable"]["checkpoint_id"] for tup in chain],
                )
            if updates:
                row.head_checkpoint_id = self._apply_update(graph, row, updates, as_node)
            snapshot = snapshot_at(graph, row.thread_id, row.head_checkpoint_id)
        except BaseException:
            store.delete_thread(row.thread_id)
            raise
        row.state = dict(snapshot.values)
        row.next_nodes = list(user_nodes(snapshot.next))
        interrupts = pending_interrupts(snapshot)
        row.interrupts = [i.model_dump() for i in interrupts]
        if not snapshot.next and not interrupts:  # forked at a final checkpoint
            row.status = ExecutionStatus.COMPLETED.value
        self._publish(
            row,
            EventType.EXECUTION_FORKED,
            checkpoint_id=checkpoint_id,
            data={"source_execution_id": source.id},
        )
        self._stack.metadata.create_execution(row)
        return self._result(row)

    def update_state(
        self, execution_id: str, values: Mapping[str, Any], as_node: str | None = None
    ) -> ExecutionResult:
        """Write ``values`` into the state at the head, as a new checkpoint (as if ``as_node``
        had returned them; by default the node that wrote last)."""
        row = self._row(execution_id)
        self._require_not_running(row, self._status(row), "update the state of")
        row.head_checkpoint_id = self._current_head(row, crashed=True)
        graph = self._graph_of(row)
        if row.head_checkpoint_id is None:
            raise InvalidStateError(
                f"execution {execution_id} has no checkpoint yet; resume it (which re-runs it "
                "from its initial state) before editing its state"
            )
        row.head_checkpoint_id = self._apply_update(graph, row, values, as_node)
        snapshot = snapshot_at(graph, row.thread_id, row.head_checkpoint_id)
        next_nodes = user_nodes(snapshot.next)
        interrupts = pending_interrupts(snapshot)
        status = ExecutionStatus.PAUSED if next_nodes or interrupts else ExecutionStatus.COMPLETED
        self._set(
            row,
            status=status.value,
            head_checkpoint_id=row.head_checkpoint_id,
            state=dict(snapshot.values),
            next_nodes=list(next_nodes),
            interrupts=[i.model_dump() for i in interrupts],
            error=None,
        )
        return self._result(row)

    def _apply_update(
        self, graph: Any, row: ExecutionRow, values: Mapping[str, Any], as_node: str | None
    ) -> str:
        """``graph.update_state`` at the head; returns the new head. Publishes the event."""
        values = self._check_state(values)
        _check_keys(graph, values, graph.builder.state_schema, "state")
        if as_node is not None and as_node not in graph.builder.nodes:
            raise InvalidStateError(
                f"as_node={as_node!r} is not a node of this graph; its nodes are: "
                f"{', '.join(graph.builder.nodes)}"
            )
        _validate_model_fields(graph.builder.state_schema, values)
        try:
            config = graph.update_state(
                thread_config(row.thread_id, row.head_checkpoint_id), dict(values), as_node=as_node
            )
        except InvalidUpdateError as exc:
            raise InvalidStateError(
                f"LangGraph refused the update ({exc}); pass as_node=<the node the values come "
                "from> to say which node's update this is"
            ) from exc
        except (WTBError, GraphBubbleUp):
            raise
        except Exception as exc:  # a reducer or the state schema rejected a value
            keys = ", ".join(map(repr, sorted(values)))
            who = f"node {as_node!r}" if as_node else "the node that wrote last"
            raise InvalidStateError(
                f"LangGraph refused the update of state key(s) {keys} as {who}: "
                f"{type(exc).__name__}: {exc}. Pass values of the type the state schema and "
                "its reducers expect"
            ) from exc
        new_head = config["configurable"]["checkpoint_id"]
        self._publish(
            row,
            EventType.STATE_UPDATED,
            checkpoint_id=new_head,
            data={"keys": sorted(values), "as_node": as_node},
        )
        return new_head

    def commit_files(self, execution_id: str) -> FileSnapshot | None:
        """Snapshot the tracked files now, linked to the head (for ``commit_on="manual"``)."""
        row = self._row(execution_id)
        self._require_not_running(row, self._status(row), "commit the files of")
        tracked = self._tracked(self.get_project(row.project), row)
        if tracked is None or row.head_checkpoint_id is None:
            raise InvalidStateError(
                f"execution {execution_id} has nothing to commit: its project does not track "
                "files (FileTrackingConfig(enabled=True)) or it has no checkpoint yet"
            )
        return self._stack.file_tracker.snapshot(tracked, row.head_checkpoint_id)

    def delete_execution(self, execution_id: str) -> None:
        """Delete an execution: its checkpoints, audit trail and file-snapshot links. Blobs
        no other snapshot uses are freed by the file tracker's garbage collection."""
        row = self._row(execution_id)
        self._require_not_running(row, self._status(row), "delete")
        self._bus.flush()
        self._stack.checkpoints.delete_thread(row.thread_id)
        self._stack.metadata.delete_execution(execution_id)

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
    ) -> BatchTestResult:
        """Run every (combination × test case × repetition) cell as a real execution,
        score it, and keep its row. A failing cell fails its row; the batch goes on. When
        the project tracks files, each cell works in a workspace of its own (removed after
        the cell unless ``keep_workspaces``)."""
        return self._batches.run(
            project,
            variant_matrix,
            test_cases,
            evaluators,
            parallelism,
            runner,
            repetitions,
            on_progress,
            keep_workspaces,
        )

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
        return self._batches.get(batch_id)

    def list_batches(self, project: str | None = None) -> list[BatchTestResult]:
        """Batches, newest first."""
        return self._batches.list(project)

    # -- reading -------------------------------------------------------------------------

    def get_execution(self, execution_id: str) -> ExecutionResult:
        return self._result(self._row(execution_id))

    def list_executions(
        self,
        project: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        variant_config: Mapping[str, str] | None = None,
    ) -> list[ExecutionResult]:
        """Executions, newest first, optionally of one project, status and/or the variants
        they ran (``{"retriever": "bm25"}``)."""
        if status is not None:
            try:
                status = ExecutionStatus(status)
            except ValueError:
                allowed = ", ".join(s.value for s in ExecutionStatus)
                raise InvalidStateError(
                    f"unknown status {status!r}: use one of {allowed}"
                ) from None
        rows = self._stack.metadata.list_executions(
            project, None if status is None else status.value, limit, variant_config
        )
        return [self._result(row) for row in rows]

    def get_state(self, execution_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        """The state values at ``checkpoint_id`` (default: the head)."""
        row = self._row(execution_id)
        if checkpoint_id is not None:
            return dict(snapshot_at(self._graph_of(row), row.thread_id, checkpoint_id).values)
        head = self._current_head(row)
        if head is None:
            return dict(row.state)
        return dict(head_snapshot(self._graph_of(row), row.thread_id, head, row.time_travel).values)

    def get_checkpoints(self, execution_id: str, all_branches: bool = False) -> list[Checkpoint]:
        """The head's lineage, oldest first. ``all_branches=True`` adds checkpoints left
        behind by rollbacks (in creation order)."""
        row = self._row(execution_id)
        head = self._current_head(row)
        if head is None:
            return []
        return list_checkpoints(self._graph_of(row), row.thread_id, head, all_branches)

    def get_file_snapshots(self, execution_id: str) -> list[FileSnapshot]:
        self._row(execution_id)
        return self._stack.file_tracker.snapshots(execution_id)

    def audit(self, execution_id: str) -> list[AuditEntry]:
        """The execution's audit trail, oldest first."""
        self._row(execution_id)
        self._bus.flush()
        return [
            AuditEntry(
                timestamp=r.timestamp,
                event_type=r.event_type,
                severity=Severity(r.severity),
                execution_id=r.execution_id,
                node=r.node,
                checkpoint_id=r.checkpoint_id,
                message=r.message,
                data=r.data,
            )
            for r in self._stack.metadata.list_events(execution_id)
        ]

    # -- helpers -------------------------------------------------------------------------

    def _row(self, execution_id: str) -> ExecutionRow:
        return self._stack.metadata.get_execution(execution_id)

    def _current_head(self, row: ExecutionRow, crashed: bool = False) -> str | None:
        """The head; for an execution that is running (or, with ``crashed``, one whose run
        may have been cut off), the newest checkpoint its thread holds: the head is stored
        when a drive stops. A head chosen by time travel stays until a drive moves it."""
        running = row.status == ExecutionStatus.RUNNING.value
        if row.time_travel or not (running or crashed):
            return row.head_checkpoint_id
        latest = self._stack.checkpoints.saver.get_tuple(thread_config(row.thread_id))
        return latest.config["configurable"]["checkpoint_id"] if latest else row.head_checkpoint_id

    def _status(self, row: ExecutionRow) -> ExecutionStatus:
        """The status, with a crashed owner's ``running`` read as ``failed``."""
        status = ExecutionStatus(row.status)
        if status is not ExecutionStatus.RUNNING or driven_in_this_process(row.id):
            return status
        if row.owner == self._owner:
            row.error = row.error or (
                "its run in this process ended without finishing (an exception escaped the "
                "run loop); resume continues from its last checkpoint"
            )
            return ExecutionStatus.FAILED
        if not _owner_alive(row.owner):
            row.error = row.error or (
                f"the process that ran it ({row.owner}) exited mid-run; resume continues "
                "from its last checkpoint"
            )
            return ExecutionStatus.FAILED
        return status

    def _require_not_running(self, row: ExecutionRow, status: ExecutionStatus, action: str) -> None:
        if self._driver.is_running(row.id):
            raise InvalidStateError(
                f"cannot {action} execution {row.id} while it runs; pause it first (bench.pause)"
            )
        if status is ExecutionStatus.RUNNING:
            raise InvalidStateError(
                f"cannot {action} execution {row.id}: it is running in another process "
                f"({row.owner}); pause it there first"
            )

    def _check_breakpoints(self, graph: Any, breakpoints: Iterable[str] | None) -> list[str]:
        bps = list(breakpoints or [])
        unknown = [b for b in bps if b not in graph.builder.nodes]
        if unknown:
            raise InvalidStateError(
                f"breakpoint node(s) {', '.join(map(repr, unknown))} not in the graph; its "
                f"nodes are: {', '.join(graph.builder.nodes)}"
            )
        return bps

    def _check_state(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        if values is None:
            return {}
        if hasattr(values, "model_dump"):
            values = dict(values)
        if not isinstance(values, Mapping):
            raise InvalidStateError(
                f"state must be a mapping of state keys to values, not {type(values).__name__}"
            )
        check_input(self._stack.checkpoints.saver.serde, values)
        return dict(values)

    def _workspace_of(self, row: ExecutionRow) -> Path:
        return Path(row.workspace) if row.workspace else self.workspace

    def _run_workspace(self, workspace: str | Path | None) -> Path:
        """The workspace a run was given; it becomes a root files may be restored into."""
        if workspace is None:
            return self.workspace
        path = Path(workspace).resolve()
        with self._lock:
            self._workspace_roots.add(path)
        return path

    def _trusted_workspace(self, row: ExecutionRow) -> Path:
        """The execution's workspace, if it lies inside a root this bench may write files
        to: its own workspace, its data directory, ``StackConfig.workspace_roots``, and the
        workspaces given to runs of this process. The metadata database decides where a
        rollback writes, so a workspace edited into it (or from another machine) is
        refused rather than written to."""
        path = self._workspace_of(row).resolve()
        with self._lock:
            roots = sorted(self._workspace_roots)
        if any(path == root or path.is_relative_to(root) for root in roots):
            return path
        raise StorageError(
            f"execution {row.id}'s stored workspace {str(path)!r} is outside this bench's "
            f"workspace roots ({', '.join(map(str, roots))}), so its tracked files are not "
            "restored there. If that directory is yours, add it to StackConfig.workspace_roots "
            "(WTB_WORKSPACE_ROOTS)"
        )

    def _tracked(self, project: WorkflowProject, row: ExecutionRow) -> TrackedExecution | None:
        if not project.file_tracking.enabled:
            return None
        return TrackedExecution(
            row.id, project.name, project.file_tracking, self._trusted_workspace(row)
        )

    def _publish(self, row: ExecutionRow, type_: EventType, **fields: Any) -> None:
        self._bus.publish(Event(type=type_, execution_id=row.id, project=row.project, **fields))

    def _set(self, row: ExecutionRow, **fields: Any) -> None:
        """Persist ``fields`` and mirror them on ``row``."""
        self._stack.metadata.update_execution(row.id, fields)
        for name, value in fields.items():
            setattr(row, name, value)

    def _result(self, row: ExecutionRow) -> ExecutionResult:
        return ExecutionResult(
            execution_id=row.id,
            project=row.project,
            status=self._status(row),
            state=row.state or {},
            error=row.error,
            checkpoint_id=row.head_checkpoint_id,
            duration_ms=row.duration_ms,
            next=tuple(row.next_nodes or ()),
            interrupts=tuple(PendingInterrupt(**i) for i in row.interrupts or ()),
            variant_config=row.variant_config or {},
            workflow_variant=row.workflow_variant,
            project_version=row.project_version,
            parent_execution_id=row.parent_execution_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
