"""Driving one execution through LangGraph, one super-step at a time.

``ExecutionDriver.drive`` streams the graph with ``stream_mode=["checkpoints", "tasks"]``
(``astream`` on an event loop when the graph has ``async def`` nodes):
task events become node started / completed / failed events (with timings), checkpoint
events become checkpoint-created events, file snapshots and the execution's new head.
Between super-steps it honours ``pause`` and ``stop`` requested from other threads and the
project's timeout. It never writes the metadata store: it returns a ``RunOutcome``.

A caller may watch the drive's own LangGraph stream (``RunRequest.tap``, a ``StreamTap``):
the driver adds the modes the tap asks for (``values``, ``updates``, ``debug``, ...) to the
stream it drives and hands every chunk of them to the tap as it arrives, so a server can
forward LangGraph's chunks while the execution stays an ordinary one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from langgraph.errors import GraphRecursionError

from wtb_core.domain.events import Event, EventType
from wtb_core.domain.models import ExecutionStatus
from wtb_core.engine.async_graphs import is_async_graph, run_coroutine
from wtb_core.engine.attempts import report_attempts
from wtb_core.engine.history import head_snapshot, pending_interrupts, user_nodes
from wtb_core.engine.observed import observing
from wtb_core.engine.recorded import reporting_replays
from wtb_core.engine.runs import RunOutcome, RunRequest
from wtb_core.engine.serialization import describe_failure, is_serialisation_error
from wtb_core.engine.threads import thread_config
from wtb_core.errors import RecordingMissingError, StorageError
from wtb_core.integrity.cuts import cut
from wtb_core.ports.file_tracker import FileTracker
from wtb_core.telemetry.drive import DriveTelemetry, observe_file_snapshot
from wtb_core.workspace import use_workspace

T = TypeVar("T")
log = logging.getLogger(__name__)

DRIVER_MODES = ("checkpoints", "tasks")  # the stream modes the driver itself reads

# Executions being driven in this process, by any bench: a ``running`` row owned by this
# process that is not in here was left behind by a drive that ended abnormally.
_DRIVEN: set[str] = set()
_driven_lock = threading.Lock()


_STORAGE_DRIVERS = ("sqlite3", "psycopg", "psycopg_pool", "sqlalchemy")


def is_storage_error(exc: BaseException) -> bool:
    """An error of a database driver (or WTB's ``StorageError``), not of workflow code."""
    module = type(exc).__module__.split(".")[0]
    return isinstance(exc, StorageError) or module in _STORAGE_DRIVERS


def driven_in_this_process(execution_id: str) -> bool:
    with _driven_lock:
        return execution_id in _DRIVEN


class Control:
    """What other threads asked of a running execution, and when it finished."""

    def __init__(self) -> None:
        self.requested: ExecutionStatus | None = None  # PAUSED or CANCELLED
        self.finished = threading.Event()
        self.aborted: RunOutcome | None = None  # set when a BaseException ends the drive
        self.telemetry: DriveTelemetry | None = None


class _Loop:
    """One drive's progress through the stream, shared by the sync and the async paths.

    ``on_item`` handles one ``(mode, payload)`` item and returns True when the drive must
    stop at this super-step boundary (a pause or stop was requested).
    """

    def __init__(self, driver: ExecutionDriver, request: RunRequest, control: Control) -> None:
        self.driver = driver
        self.telemetry = control.telemetry
        self.request = request
        self.control = control
        self.started = time.perf_counter()
        self.running: dict[str, tuple[str, float]] = {}  # task id -> (node, start)
        self.step_nodes: tuple[str, ...] = ()
        self.head = request.head
        self.last: dict[str, Any] | None = None
        self.stop_reason: ExecutionStatus | None = None
        self.interrupted = False
        self.node_errors: set[int] = set()  # ids of the exceptions tasks reported
        self.tap = request.tap
        # node -> keys of outputs the recording served, until the node's task shows up
        self.replayed: dict[str, list[str]] = {}

    def replay(self, node: str, key: str, recording: str) -> None:
        """The recording served ``node``'s output (told before the task's start event)."""
        self.replayed.setdefault(node, []).append(key)

    def on_item(self, mode: str, payload: Any) -> bool:
        request = self.request
        if self.tap is not None and mode in self.tap.modes:
            try:
                self.tap.on_chunk(mode, payload)
            except Exception:
                log.exception("a stream tap of execution %s failed; dropped", request.execution_id)
                self.tap = None
        if mode not in DRIVER_MODES:
            return False
        if mode == "tasks":
            if payload.get("error") is not None:
                self.node_errors.add(id(payload["error"]))
            keys = self.replayed.get(payload["name"]) if "input" in payload else None
            if keys:
                self.driver._on_replayed(request, payload["name"], keys.pop(0))
                return False
            self.interrupted |= self.driver._on_task(request, payload, self.running)
            return False
        self.head = payload["config"]["configurable"]["checkpoint_id"]
        if self.last is None and request.on_new_branch is not None:
            request.on_new_branch(self.head)
        self.last = payload
        if self.telemetry is not None:
            self.telemetry.checkpoint(self.head)
        self.driver._on_checkpoint(request, payload, self.step_nodes)
        self.step_nodes = user_nodes(task["name"] for task in payload["tasks"])
        if payload["metadata"].get("source") == "input":
            return False  # the input is applied at the next checkpoint: pause there
        self.stop_reason = self.control.requested
        if self.stop_reason is not None:
            return True
        if request.timeout and time.perf_counter() - self.started > request.timeout:
            raise TimeoutError(
                f"execution exceeded its timeout of {request.timeout:g} s; raise "
                "ExecutionConfig.default_timeout or resume it to continue"
            )
        return False

    async def consume(self, stream: AsyncIterator[tuple[str, Any]]) -> None:
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for mode, payload in stream:
                if self.on_item(mode, payload):
                    return

    def attempt_failed(self, node: str, attempt: int | None, error: BaseException) -> None:
        """A node with a ``RetryPolicy`` raised; LangGraph may run it again."""
        self.driver._event(
            self.request,
            EventType.NODE_ATTEMPT_FAILED,
            node=node,
            message=f"{type(error).__name__}: {error}",
            data={"attempt": attempt},
        )


class ExecutionDriver:
    """Runs executions and knows which of them are running in this process."""

    def __init__(
        self,
        publish: Callable[[Event], None],
        file_tracker: FileTracker,
        serde_of: Callable[[], Any],
    ) -> None:
        self._publish = publish
        self._file_tracker = file_tracker
        self._serde_of = serde_of
        self._controls: dict[str, Control] = {}
        self._lock = threading.Lock()

    # -- control from other threads ------------------------------------------------------

    def is_running(self, execution_id: str) -> bool:
        return execution_id in self._controls

    def running_ids(self) -> list[str]:
        """The executions this driver is driving now."""
        with self._lock:
            return list(self._controls)

    def request(self, execution_id: str, status: ExecutionStatus, timeout: float | None) -> bool:
        """Ask a running execution to pause or stop at its next node boundary.

        Waits up to ``timeout`` seconds (``None`` = until it does) and returns whether the
        execution has stopped running.
        """
        with self._lock:
            control = self._controls.get(execution_id)
            if control is None:
                return True
            if control.requested != ExecutionStatus.CANCELLED:
                control.requested = status
        if control.telemetry is not None:
            control.telemetry.event(f"wtb.{status.value}_requested")
        return control.finished.wait(timeout)

    # -- the loop ------------------------------------------------------------------------

    def drive(self, request: RunRequest, graph_input: Any, finish: Callable[[RunOutcome], T]) -> T:
        """Run until the execution stops; ``finish(outcome)`` (which persists it) runs before
        threads waiting in ``request`` are woken, so they read the final status."""
        control = Control()
        with self._lock:
            self._controls[request.execution_id] = control
        with _driven_lock:
            _DRIVEN.add(request.execution_id)
        try:
            with DriveTelemetry(request, graph_input) as telemetry:
                control.telemetry = telemetry
                with use_workspace(request.workspace):
                    outcome = self._drive(request, graph_input, control)
                telemetry.finished(outcome)
                return finish(outcome)
        except BaseException:
            if control.aborted is not None:  # KeyboardInterrupt: never leave it running
                with contextlib.suppress(Exception):
                    finish(control.aborted)
            raise
        finally:
            with _driven_lock:
                _DRIVEN.discard(request.execution_id)
            with self._lock:
                del self._controls[request.execution_id]
            control.finished.set()

    def _event(self, request: RunRequest, type_: EventType, **fields: Any) -> None:
        self._publish(
            Event(type=type_, execution_id=request.execution_id, project=request.project, **fields)
        )

    def _drive(self, request: RunRequest, graph_input: Any, control: Control) -> RunOutcome:
        config = thread_config(request.thread_id, request.head if request.address_head else None)
        config["recursion_limit"] = request.recursion_limit
        if control.telemetry is not None:
            control.telemetry.callbacks(config)
        tapped = sorted(request.tap.modes.difference(DRIVER_MODES)) if request.tap else []
        options: dict[str, Any] = {
            "stream_mode": [*DRIVER_MODES, *tapped],
            "interrupt_before": request.breakpoints or None,
            "durability": request.durability,
        }
        loop = _Loop(self, request, control)
        try:
            observer = control.telemetry.observer if control.telemetry is not None else None
            replays = loop.replay if request.recording is not None else None
            with (
                report_attempts(loop.attempt_failed),
                observing(observer),
                reporting_replays(replays),
            ):
                if is_async_graph(request.graph):
                    run_coroutine(
                        loop.consume(request.graph.astream(graph_input, config, **options))
                    )
                else:
                    for mode, payload in request.graph.stream(graph_input, config, **options):
                        if loop.on_item(mode, payload):
                            break
        except Exception as exc:
            outcome = self._failed(
                request, exc, loop.head, loop.running, loop.started, loop.node_errors
            )
            if control.telemetry is not None:
                control.telemetry.failed(exc, outcome.error or repr(exc))
            return outcome
        except BaseException as exc:  # KeyboardInterrupt: record it, then let it propagate
            error = (
                f"interrupted by {type(exc).__name__} in the process that ran it; resume "
                "continues from its last checkpoint"
            )
            self._event(request, EventType.EXECUTION_FAILED, checkpoint_id=loop.head, message=error)
            control.aborted = RunOutcome(
                ExecutionStatus.FAILED,
                loop.head,
                {},
                error=error,
                duration_ms=(time.perf_counter() - loop.started) * 1000,
            )
            raise
        elapsed = (time.perf_counter() - loop.started) * 1000
        last = loop.last
        if last is not None and not last["next"] and not loop.interrupted:  # nothing left
            return RunOutcome(
                ExecutionStatus.COMPLETED, loop.head, dict(last["values"]), duration_ms=elapsed
            )
        return self._stopped(request, loop.head, loop.stop_reason, elapsed)

    def _on_task(
        self, request: RunRequest, payload: dict[str, Any], running: dict[str, tuple[str, float]]
    ) -> bool:
        """Handle a task event; True when the task stopped at an ``interrupt()``."""
        node = payload["name"]
        if "input" in payload:
            running[payload["id"]] = (node, time.perf_counter())
            self._event(request, EventType.NODE_STARTED, node=node)
            return False
        _, start = running.pop(payload["id"], (node, time.perf_counter()))
        data = {"duration_ms": round((time.perf_counter() - start) * 1000, 3)}
        if payload.get("error") is not None:
            error = payload["error"]
            self._event(
                request,
                EventType.NODE_FAILED,
                node=node,
                message=f"{type(error).__name__}: {error}",
                data=data,
            )
            return False
        if payload.get("interrupts"):
            values = [i.get("value") if isinstance(i, dict) else i for i in payload["interrupts"]]
            self._event(
                request,
                EventType.EXECUTION_INTERRUPTED,
                node=node,
                message="waiting for resume=...",
                data={**data, "interrupts": values},
            )
            return True
        self._event(request, EventType.NODE_COMPLETED, node=node, data=data)
        return False

    def _on_replayed(self, request: RunRequest, node: str, key: str) -> None:
        """A task whose output the recording served: the node was not called."""
        recording = request.recording.name if request.recording is not None else ""
        self._event(request, EventType.NODE_STARTED, node=node)
        self._event(
            request,
            EventType.NODE_COMPLETED,
            node=node,
            message=f"replayed from recording {recording}",
            data={"duration_ms": 0.0, "replayed_from": recording, "recording_key": key},
        )

    def _on_checkpoint(
        self, request: RunRequest, payload: dict[str, Any], nodes: tuple[str, ...]
    ) -> None:
        checkpoint_id = payload["config"]["configurable"]["checkpoint_id"]
        self._event(
            request,
            EventType.CHECKPOINT_CREATED,
            checkpoint_id=checkpoint_id,
            data={
                "step": payload["metadata"].get("step"),
                "nodes": list(nodes),
                "next": list(user_nodes(payload["next"])),
            },
        )
        tracked = request.tracked
        if (
            tracked is not None
            and tracked.config.auto_commit
            and tracked.config.commit_on != "manual"
        ):
            cut("drive.before_snapshot")
            started = time.perf_counter()
            self._file_tracker.snapshot(tracked, checkpoint_id)
            observe_file_snapshot(started)
        cut("drive.after_checkpoint")

    def _stopped(
        self,
        request: RunRequest,
        head: str | None,
        stop_reason: ExecutionStatus | None,
        elapsed: float,
    ) -> RunOutcome:
        snapshot = head_snapshot(request.graph, request.thread_id, head, False) if head else None
        state = dict(snapshot.values) if snapshot is not None else {}
        next_nodes = user_nodes(snapshot.next) if snapshot is not None else ()
        interrupts = pending_interrupts(snapshot) if snapshot is not None else ()
        if stop_reason is ExecutionStatus.CANCELLED:
            self._event(request, EventType.EXECUTION_STOPPED, checkpoint_id=head)
            status = ExecutionStatus.CANCELLED
        elif stop_reason is ExecutionStatus.PAUSED or next_nodes or interrupts:
            self._event(
                request,
                EventType.EXECUTION_PAUSED,
                checkpoint_id=head,
                message="at an interrupt()" if interrupts else "before " + ", ".join(next_nodes),
            )
            status = ExecutionStatus.PAUSED
        else:
            status = ExecutionStatus.COMPLETED
        return RunOutcome(status, head, state, next_nodes, interrupts, duration_ms=elapsed)

    def _failed(
        self,
        request: RunRequest,
        exc: Exception,
        head: str | None,
        running: dict[str, tuple[str, float]],
        started: float,
        node_errors: set[int],
    ) -> RunOutcome:
        """The outcome of a drive that raised: a node's error, or a storage failure (an
        error of the checkpoint store's driver that no node raised)."""
        nodes = [node for node, _ in running.values()]
        storage_failure = id(exc) not in node_errors and is_storage_error(exc)
        if is_serialisation_error(exc):
            error = str(describe_failure(exc, self._serde_of(), nodes))
            for node in nodes:
                self._event(request, EventType.NODE_FAILED, node=node, message=error)
        elif isinstance(exc, RecordingMissingError):
            error = f"{type(exc).__name__}: {exc}"
            self._event(request, EventType.NODE_FAILED, node=exc.node, message=error)
        elif isinstance(exc, GraphRecursionError):
            error = (
                f"GraphRecursionError: {exc}. The graph ran more super-steps than "
                f"recursion_limit={request.recursion_limit}; raise ExecutionConfig.recursion_limit "
                "or fix the loop's exit condition"
            )
        elif storage_failure:
            error = f"the checkpoint store failed: {type(exc).__name__}: {exc}"
        else:
            error = f"{type(exc).__name__}: {exc}"
        try:
            snapshot = (
                head_snapshot(request.graph, request.thread_id, head, False) if head else None
            )
        except Exception:  # the store that just failed may not answer either
            snapshot = None
        self._event(request, EventType.EXECUTION_FAILED, checkpoint_id=head, message=error)
        return RunOutcome(
            ExecutionStatus.FAILED,
            head,
            dict(snapshot.values) if snapshot is not None else {},
            user_nodes(snapshot.next) if snapshot is not None else (),
            error=error,
            duration_ms=(time.perf_counter() - started) * 1000,
            storage_failure=storage_failure,
        )
