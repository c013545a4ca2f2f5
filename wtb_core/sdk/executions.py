"""Executions: run, resume, pause, stop — and the rules that keep one execution driven by
one caller at a time.

A run or resume *claims* the execution (a compare-and-set of its stored status and owner)
before it drives it, so of two callers resuming one execution at once exactly one runs it.
A ``running`` row that nothing drives is read as ``failed`` (``ExecutionLedger.seen``) and
``resume`` continues it from the newest checkpoint its thread holds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from wtb_core.domain.events import EventType
from wtb_core.domain.models import (
    ExecutionResult,
    ExecutionStatus,
    FileSnapshot,
)
from wtb_core.engine.events import current_batch
from wtb_core.engine.history import answered_interrupts, head_snapshot, pending_interrupts
from wtb_core.engine.recorded import RecordingRequest, RecordingSpec, recording_spec
from wtb_core.engine.records import execution_record, new_execution_id, outcome_fields
from wtb_core.engine.runs import RunOutcome, RunRequest, StreamTap
from wtb_core.engine.threads import thread_config
from wtb_core.errors import (
    InvalidInputError,
    InvalidStateError,
    StorageError,
)
from wtb_core.integrity.cuts import cut
from wtb_core.integrity.outbox import OperationKind
from wtb_core.project import WorkflowProject
from wtb_core.sdk.ledger import LedgerService
from wtb_core.sdk.time_travel import apply_update
from wtb_core.sdk.validation import check_breakpoints, check_keys, check_state, resume_input
from wtb_core.storage.tables import ExecutionRecord
from wtb_core.telemetry.tracing import operation_span

STARTING_WAIT = 10.0
"""Seconds a pause or stop waits for an accepted run of this process to start driving."""

_EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ExecutionService(LedgerService):
    """Starts, continues, pauses and stops executions; commits and deletes them.

    Thread-safe: any number of threads may run and resume different executions at once.
    For one execution, ``run``/``resume`` claim it in the metadata store first (one caller
    wins, the other gets ``InvalidStateError``); ``pause`` and ``stop`` from another thread
    are honoured at the next node boundary and wait for it; every other call refuses an
    execution that is running. Results are read after the drive's final write.
    """

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
        execution_id: str | None = None,
        on_created: Callable[[str], None] | None = None,
        tap: StreamTap | None = None,
        prefix_key: str | None = None,
        recording: RecordingRequest | RecordingSpec | None = None,
    ) -> ExecutionResult:
        """Run ``project`` from ``initial_state`` until it completes, fails or pauses.
        ``execution_id`` chooses the new execution's id (a server hands it out before the
        run starts); ``InvalidStateError`` when an execution has it already. Every check
        of the arguments happens before the execution is stored; ``on_created(id)`` is
        called once it is (a server answers ``202`` then). ``tap`` watches the drive's
        LangGraph stream (``StreamTap``). ``prefix_key`` marks the execution as a
        shared-prefix trunk of the current batch (``batch.prefix``). ``recording`` records
        or replays node outputs: a
        call's ``RecordingRequest`` (checked by ``engine.recorded.recording_spec``;
        ``record=True`` names the recording after the execution), or the ``RecordingSpec``
        a batch cell runs with."""
        ledger = self._ledger
        execution_id = new_execution_id() if execution_id is None else self._unused(execution_id)
        proj = self._catalog.get(project)
        variant_config = dict(variant_config or {})
        graphs = self._catalog.graphs
        spec: RecordingSpec | None = None
        if isinstance(recording, RecordingSpec):
            spec = recording
        elif recording is not None and recording.asked:
            spec = recording_spec(graphs.recordings, proj, recording, execution_id)
        graph = graphs.get(proj, variant_config, workflow_variant, recording=spec)
        bps = check_breakpoints(graph, breakpoints)
        state = check_state(ledger.checkpoints.saver.serde, initial_state)
        check_keys(graph, state, graph.builder.input_schema, "initial state")
        row = ExecutionRecord(
            **execution_record(
                execution_id=execution_id,
                project=proj.name,
                status=ExecutionStatus.RUNNING,
                initial_state=state,
                variant_config=variant_config,
                workflow_variant=workflow_variant,
                project_version=proj.current_version,
                owner=ledger.owner,
                workspace=str(self._workspaces.for_run(workspace)),
                breakpoints=bps,
                batch_id=current_batch(),
                prefix_key=prefix_key,
            )
        )
        ledger.publish(row, EventType.EXECUTION_STARTED, data={"variants": variant_config})
        with ledger.holding(row.id):
            ledger.create(row)
            if on_created is not None:
                on_created(row.id)
            cut("run.after_create")
            return self._drive(proj, row, graph, state, tap, spec)

    def drive_fork(self, row: ExecutionRecord) -> ExecutionResult:
        """Drive a fork this process has just stored as ``running`` (``TimeTravelService.
        branch``) from its head, as ``resume`` would after a fork, without claiming it
        again: the caller holds it (``ledger.holding``) since before it was stored."""
        proj = self._catalog.get(row.project)
        graph = self._catalog.graph_of(row)
        self._ledger.publish(row, EventType.EXECUTION_RESUMED, checkpoint_id=row.head_checkpoint_id)
        return self._drive(proj, row, graph, None)

    def _unused(self, execution_id: str) -> str:
        if not isinstance(execution_id, str) or not _EXECUTION_ID.fullmatch(execution_id):
            raise InvalidInputError(
                f"execution id {execution_id!r} is not valid: use 1 to 64 letters, digits, "
                "'-', '_' or '.'"
            )
        if not self._ledger.metadata.execution_exists(execution_id):
            return execution_id
        raise InvalidStateError(
            f"an execution with id {execution_id!r} exists already; choose another id or "
            "resume that one"
        )

    def resume(
        self,
        execution_id: str,
        resume: Any = None,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
        *,
        on_started: Callable[[str], None] | None = None,
        tap: StreamTap | None = None,
    ) -> ExecutionResult:
        """Continue from the head; ``resume=`` answers pending ``interrupt()`` calls,
        ``updates=`` edits the state first. Every check happens before the execution is
        claimed; ``on_started(id)`` is called once it runs (a server answers ``202`` then).
        ``tap`` watches the drive's LangGraph stream (``StreamTap``)."""
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        status, _ = ledger.seen(row)
        ledger.require_not_running(row, status, "resume")
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
        proj = self._catalog.get(row.project)
        graph = self._catalog.graph_of(row)
        seen_status, seen_owner = row.status, row.owner
        # A crash leaves the head behind the checkpoints the run went on to write: continue
        # from the thread's newest, as invoke(None, {"thread_id": ...}) would.
        row.head_checkpoint_id = ledger.current_head(row, crashed=True)
        with ledger.holding(row.id):
            ledger.claim(row, seen_status, seen_owner)
            try:
                cut("resume.after_claim")
                if row.head_checkpoint_id is None:  # failed before its first checkpoint
                    ledger.publish(
                        row, EventType.EXECUTION_RESUMED, message="from its initial state"
                    )
                    if on_started is not None:
                        on_started(row.id)
                    return self._drive(proj, row, graph, row.initial_state, tap)
                snapshot = head_snapshot(
                    graph, row.thread_id, row.head_checkpoint_id, row.time_travel
                )
                pending = pending_interrupts(snapshot)
                # Rolled back to a checkpoint whose interrupt() was answered on a later
                # branch: the node asks again when it re-runs (as after LangGraph's
                # invoke(None, cfg)), and ``resume=`` answers that new question.
                ask_again = (
                    resume is not None
                    and row.time_travel
                    and not pending
                    and bool(answered_interrupts(snapshot))
                )
                graph_input = None if ask_again else resume_input(execution_id, pending, resume)
                self._restore_files(proj, row)
                if updates:
                    row.head_checkpoint_id = apply_update(ledger, graph, row, updates, as_node)
                    ledger.set(row, head_checkpoint_id=row.head_checkpoint_id)
            except BaseException:
                ledger.set(row, status=seen_status, owner=seen_owner)  # release the claim
                raise
            ledger.publish(row, EventType.EXECUTION_RESUMED, checkpoint_id=row.head_checkpoint_id)
            if on_started is not None:
                on_started(row.id)
            result = self._drive(proj, row, graph, graph_input, tap)
            asked = result.status is ExecutionStatus.PAUSED and bool(result.interrupts)
            if not ask_again or not asked:
                return result
            graph_input = resume_input(execution_id, result.interrupts, resume)
            ledger.claim(row, row.status, row.owner)
            ledger.publish(
                row,
                EventType.EXECUTION_RESUMED,
                checkpoint_id=row.head_checkpoint_id,
                message="answering the interrupt() asked again",
            )
            return self._drive(proj, row, graph, graph_input, tap)

    def send(
        self,
        execution_id: str,
        input: Mapping[str, Any],
        *,
        on_started: Callable[[str], None] | None = None,
        tap: StreamTap | None = None,
    ) -> ExecutionResult:
        """A new input for an execution that is not running, as LangGraph's
        ``invoke(input, {"thread_id": ...})`` on a thread that holds state: the graph runs
        from START over the state at the head with ``input`` applied (through the
        reducers), and whatever was pending there (a question of ``interrupt()``, the rest
        of a failed step) is left behind. A completed execution takes its next turn so (a
        chat); after a rollback the run branches from the head. A stopped execution is
        refused, as ``resume`` refuses it. Checks and the claim are ``resume``'s;
        ``on_started(id)`` is called once it runs; ``tap`` watches the drive's stream."""
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        status, _ = ledger.seen(row)
        ledger.require_not_running(row, status, "send input to")
        if status is ExecutionStatus.CANCELLED:
            raise InvalidStateError(
                f"execution {execution_id} was stopped; roll it back to a checkpoint "
                "(bench.rollback) or fork it (bench.fork) to give it input again"
            )
        proj = self._catalog.get(row.project)
        graph = self._catalog.graph_of(row)
        state = check_state(ledger.checkpoints.saver.serde, input)
        check_keys(graph, state, graph.builder.input_schema, "input")
        seen_status, seen_owner = row.status, row.owner
        row.head_checkpoint_id = ledger.current_head(row, crashed=True)
        with ledger.holding(row.id):
            ledger.claim(row, seen_status, seen_owner)
            try:
                self._restore_files(proj, row)
            except BaseException:
                ledger.set(row, status=seen_status, owner=seen_owner)  # release the claim
                raise
            ledger.publish(
                row,
                EventType.EXECUTION_RESUMED,
                checkpoint_id=row.head_checkpoint_id,
                message="with a new input",
                data={"input_keys": sorted(state)},
            )
            if on_started is not None:
                on_started(row.id)
            return self._drive(proj, row, graph, state, tap)

    def _restore_files(self, proj: WorkflowProject, row: ExecutionRecord) -> None:
        """Put the tracked files of ``row``'s head back before it runs on: the workspace
        may hold another execution's files (a fork shares it).

        A run cut off between writing a checkpoint and snapshotting its files leaves a head
        a drive wrote (source ``input`` or ``loop``) newer than every snapshot, and the
        workspace holding its files (the next node had not started): they are snapshotted
        now rather than replaced by an older snapshot's."""
        tracked = self._workspaces.tracked(proj, row)
        head = row.head_checkpoint_id
        if tracked is None or tracked.config.commit_on == "manual" or head is None:
            return
        if tracked.config.auto_commit and self._snapshot_missed(row, head):
            self._file_tracker.snapshot(tracked, head)
            return
        self._file_tracker.restore(tracked, head)

    def _snapshot_missed(self, row: ExecutionRecord, head: str) -> bool:
        if row.time_travel:  # a head chosen by rollback or fork has its snapshot
            return False
        links = self._ledger.metadata.file_snapshot_links(row.id)
        if head in links or any(head < taken for taken in links):
            return False
        tup = self._ledger.checkpoints.saver.get_tuple(thread_config(row.thread_id, head))
        return tup is not None and (tup.metadata or {}).get("source") in ("input", "loop")

    def _drive(
        self,
        proj: WorkflowProject,
        row: ExecutionRecord,
        graph: Any,
        graph_input: Any,
        tap: StreamTap | None = None,
        recording: RecordingSpec | None = None,
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
            workspace=self._workspaces.of(row),
            tracked=self._workspaces.tracked(proj, row),
            tap=tap,
            variants=dict(row.variant_config or {}),
            workflow_variant=row.workflow_variant,
            project_version=row.project_version,
            recording=recording,
        )
        driver = self._ledger.driver
        return driver.drive(request, graph_input, lambda outcome: self._finish(row, outcome))

    def _left_time_travel(self, row: ExecutionRecord, head: str) -> None:
        """The first checkpoint of the branch a time-travel drive started: stored at once,
        so a crash from here on continues this branch."""
        self._ledger.set(row, head_checkpoint_id=head, time_travel=False)

    def _finish(self, row: ExecutionRecord, outcome: RunOutcome) -> ExecutionResult:
        cut("drive.before_finish")
        ledger = self._ledger
        if outcome.status is ExecutionStatus.COMPLETED:
            ledger.publish(row, EventType.EXECUTION_COMPLETED, checkpoint_id=outcome.head)
        ledger.set(
            row,
            **outcome_fields(outcome),
            duration_ms=row.duration_ms + outcome.duration_ms,
            time_travel=False,
        )
        if outcome.storage_failure:
            raise StorageError(
                f"execution {row.id} failed because its checkpoint store did: {outcome.error}. "
                "Fix the store (disk space, the database server), then resume it"
            )
        return ledger.result(row)

    # -- control from other threads --------------------------------------------------------

    def pause(self, execution_id: str, timeout: float | None = None) -> ExecutionResult:
        """Pause a running execution at its next node boundary; waits up to ``timeout``
        seconds (``None`` = until it has paused) and returns its state then."""
        with operation_span("pause", self._ledger.fetch(execution_id).project, execution_id):
            return self._pause(execution_id, timeout)

    def _pause(self, execution_id: str, timeout: float | None) -> ExecutionResult:
        if (asked := self._ask(execution_id, ExecutionStatus.PAUSED, timeout)) is not None:
            return asked
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        status, _ = ledger.seen(row)
        if status is ExecutionStatus.PAUSED:
            return ledger.result(row)
        ledger.require_not_running(row, status, "pause")
        raise InvalidStateError(
            f"execution {execution_id} is {status.value}; only a running execution can be paused"
        )

    def stop(self, execution_id: str, timeout: float | None = None) -> ExecutionResult:
        """Cancel an execution (at its next node boundary if running). Its checkpoints stay."""
        with operation_span("stop", self._ledger.fetch(execution_id).project, execution_id):
            return self._stop(execution_id, timeout)

    def _stop(self, execution_id: str, timeout: float | None) -> ExecutionResult:
        if (asked := self._ask(execution_id, ExecutionStatus.CANCELLED, timeout)) is not None:
            return asked
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        status, error = ledger.seen(row)
        ledger.require_not_running(row, status, "stop")
        if status in (ExecutionStatus.COMPLETED, ExecutionStatus.CANCELLED):
            raise InvalidStateError(f"execution {execution_id} is already {status.value}")
        ledger.publish(row, EventType.EXECUTION_STOPPED, checkpoint_id=row.head_checkpoint_id)
        ledger.set(row, status=ExecutionStatus.CANCELLED.value)
        # A run that crashed keeps saying why in this result (the reason is not stored).
        return ledger.result(row, error)

    def pause_all(self) -> list[str]:
        """Ask every execution this process drives to pause at its next node boundary
        (without waiting); returns their ids. A server's shutdown uses it."""
        driver = self._ledger.driver
        ids = driver.running_ids()
        for execution_id in ids:
            driver.request(execution_id, ExecutionStatus.PAUSED, 0)
        return ids

    def _ask(
        self, execution_id: str, status: ExecutionStatus, timeout: float | None
    ) -> ExecutionResult | None:
        """For an execution driven here: ask it to pause or stop at its next node boundary,
        wait up to ``timeout`` and return its result then; ``None`` when it is not driven
        here. One whose run has been accepted but not started driving (a server's ``202``
        comes before that) is waited for, up to ``STARTING_WAIT`` seconds."""
        driver, ledger = self._ledger.driver, self._ledger
        deadline = time.monotonic() + STARTING_WAIT
        while ledger.starting_here(execution_id) and time.monotonic() < deadline:
            time.sleep(0.005)
        if not driver.is_running(execution_id):
            return None
        driver.request(execution_id, status, timeout)
        return self._ledger.result(self._ledger.fetch(execution_id))

    # -- files and deletion ------------------------------------------------------------------

    def commit_files(self, execution_id: str) -> FileSnapshot | None:
        """Snapshot the tracked files now, linked to the head (for ``commit_on="manual"``)."""
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        ledger.require_not_running(row, ledger.seen(row)[0], "commit the files of")
        tracked = self._workspaces.tracked(self._catalog.get(row.project), row)
        if tracked is None or row.head_checkpoint_id is None:
            raise InvalidStateError(
                f"execution {execution_id} has nothing to commit: its project does not track "
                "files (FileTrackingConfig(enabled=True)) or it has no checkpoint yet"
            )
        return self._file_tracker.snapshot(tracked, row.head_checkpoint_id)

    def delete(self, execution_id: str) -> None:
        """Delete an execution: its checkpoints, audit trail and file-snapshot links. The
        intent is in the outbox first: a delete cut off after its checkpoints went is
        finished by the outbox processor."""
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        ledger.require_not_running(row, ledger.seen(row)[0], "delete")
        ledger.bus.flush()
        with self._outbox.begin(
            OperationKind.DELETE, execution_id, thread_id=row.thread_id
        ) as operation:
            cut("delete.after_intent")
            operation.touch()
            ledger.checkpoints.delete_thread(row.thread_id)
            cut("delete.after_checkpoints")
            ledger.metadata.delete_execution(execution_id, closing=operation.id)
            operation.close()
