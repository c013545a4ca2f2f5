"""Time travel: rollback, fork and state updates, as LangGraph does them.

Rollback moves an execution's head (state and tracked files) to an earlier checkpoint;
fork copies the history up to a checkpoint into a new execution; an update writes values
at the head as a new checkpoint (``graph.update_state``), after checking them the way
LangGraph and a pydantic state schema would, so a refused value never reaches the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.errors import GraphBubbleUp, InvalidUpdateError

from wtb_core.domain.events import EventType
from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.engine.events import current_batch
from wtb_core.engine.history import resting_status, snapshot_at, snapshot_fields
from wtb_core.engine.records import execution_record, new_execution_id
from wtb_core.engine.threads import lineage, thread_config
from wtb_core.errors import InvalidInputError, InvalidStateError, WTBError
from wtb_core.integrity.cuts import cut
from wtb_core.integrity.outbox import OperationKind
from wtb_core.sdk.ledger import ExecutionLedger, LedgerService
from wtb_core.sdk.validation import check_keys, check_node, check_state, validate_model_fields
from wtb_core.storage.tables import ExecutionRecord
from wtb_core.telemetry.tracing import operation_span


def apply_update(
    ledger: ExecutionLedger,
    graph: Any,
    row: ExecutionRecord,
    values: Mapping[str, Any],
    as_node: str | None,
) -> str:
    """``graph.update_state`` at ``row``'s head after checking ``values``; returns the new
    head (``row`` is not changed). Publishes ``state_updated``."""
    values = check_state(ledger.checkpoints.saver.serde, values)
    check_keys(graph, values, graph.builder.state_schema, "state")
    check_node(graph, as_node, "as_node")
    validate_model_fields(graph.builder.state_schema, values)
    try:
        config = graph.update_state(
            thread_config(row.thread_id, row.head_checkpoint_id), dict(values), as_node=as_node
        )
    except InvalidUpdateError as exc:
        raise InvalidInputError(
            f"LangGraph refused the update ({exc}); pass as_node=<the node the values come "
            "from> to say which node's update this is"
        ) from exc
    except (WTBError, GraphBubbleUp):
        raise
    except Exception as exc:  # a reducer or the state schema rejected a value
        keys = ", ".join(map(repr, sorted(values)))
        who = f"node {as_node!r}" if as_node else "the node that wrote last"
        raise InvalidInputError(
            f"LangGraph refused the update of state key(s) {keys} as {who}: "
            f"{type(exc).__name__}: {exc}. Pass values of the type the state schema and "
            "its reducers expect"
        ) from exc
    new_head = str(config["configurable"]["checkpoint_id"])
    ledger.publish(
        row,
        EventType.STATE_UPDATED,
        checkpoint_id=new_head,
        data={"keys": sorted(values), "as_node": as_node},
    )
    return new_head


class TimeTravelService(LedgerService):
    """``rollback``, ``fork`` and ``update_state`` of stored executions.

    Thread-safe in the sense the bench is: each call refuses an execution that is running
    (here or in another process) before it changes anything, and writes through the
    metadata and checkpoint stores, which lock their own writes. A fork writes a new thread
    and a new row only; its source is never changed. Two time-travel calls on one paused
    execution at the same moment are not serialised against each other: the last write of
    the head wins, as with two ``update_state`` calls in LangGraph.

    Each call that writes two stores records its intent in the outbox first
    (``wtb_core.integrity.outbox``): a rollback with tracked files, a fork, an update; the
    row is closed in the transaction of the call's last metadata write.
    """

    def rollback(self, execution_id: str, checkpoint_id: str) -> ExecutionResult:
        """Move the head (state *and* tracked files) back to ``checkpoint_id``: paused
        there, or completed at a final checkpoint."""
        project = self._ledger.fetch(execution_id).project
        with operation_span(
            "rollback", project, execution_id, **{"wtb.checkpoint_id": checkpoint_id}
        ):
            return self._rollback(execution_id, checkpoint_id)

    def _rollback(self, execution_id: str, checkpoint_id: str) -> ExecutionResult:
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        ledger.require_not_running(row, ledger.seen(row)[0], "roll back")
        proj = self._catalog.get(row.project)
        graph = self._catalog.graph_of(row)
        snapshot = snapshot_at(graph, row.thread_id, checkpoint_id)
        tracked = self._workspaces.tracked(proj, row)
        update = {
            "status": resting_status(snapshot),
            "head_checkpoint_id": checkpoint_id,
            "time_travel": True,
            **snapshot_fields(snapshot),
            "error": None,
        }
        event = {
            "checkpoint_id": checkpoint_id,
            "data": {"from_checkpoint": row.head_checkpoint_id},
        }
        if tracked is None:  # one store: the head alone
            ledger.publish(row, EventType.EXECUTION_ROLLED_BACK, **event)
            ledger.set(row, **update)
            return ledger.result(row)
        commit = ledger.metadata.file_snapshot_links(row.id).get(checkpoint_id)
        with self._outbox.begin(
            OperationKind.ROLLBACK,
            row.id,
            checkpoint_id=checkpoint_id,
            file_commit=commit,
            from_checkpoint=row.head_checkpoint_id,
        ) as operation:
            cut("rollback.after_intent")
            operation.touch()
            try:
                self._file_tracker.restore(tracked, checkpoint_id)
            except WTBError:
                operation.touched = False  # the port's contract: a refused restore changed no file
                raise
            cut("rollback.after_files")
            ledger.publish(row, EventType.EXECUTION_ROLLED_BACK, **event)
            ledger.metadata.update_execution_closing(row.id, update, operation.id)
            operation.close()
        for name, value in update.items():
            setattr(row, name, value)
        return ledger.result(row)

    def fork(
        self,
        execution_id: str,
        checkpoint_id: str,
        updates: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> ExecutionResult:
        """A new execution whose history is a copy of this one's up to ``checkpoint_id``,
        paused there (after ``updates``, if given), or completed at a final checkpoint."""
        project = self._ledger.fetch(execution_id).project
        with operation_span(
            "fork", project, execution_id, **{"wtb.checkpoint_id": checkpoint_id}
        ) as span:
            result = self._ledger.result(self._fork(execution_id, checkpoint_id, updates, as_node))
            if span is not None:
                span.set_attribute("wtb.fork.execution_id", result.execution_id)
            return result

    def branch(
        self,
        execution_id: str,
        checkpoint_id: str,
        variant_config: Mapping[str, str],
        breakpoints: Sequence[str],
        prefix_key: str | None,
        *,
        fork_id: str,
        running: bool,
    ) -> ExecutionRecord:
        """A fork ``fork_id`` of a shared-prefix trunk (``batch.prefix``) that runs on with
        other node variants and breakpoints: a fork as ``fork`` makes it (the same copied
        lineage), recorded for the current batch; ``prefix_key`` marks it as a trunk
        itself. ``running``: stored as ``running``, owned by this process, for the caller
        (holding ``fork_id``) to drive at once (``ExecutionService.drive_fork``)."""
        return self._fork(
            execution_id, checkpoint_id, None, None,
            variant_config=variant_config, breakpoints=breakpoints, prefix_key=prefix_key,
            fork_id=fork_id, running=running,
        )  # fmt: skip

    def _fork(
        self,
        execution_id: str,
        checkpoint_id: str,
        updates: Mapping[str, Any] | None,
        as_node: str | None,
        *,
        variant_config: Mapping[str, str] | None = None,
        breakpoints: Sequence[str] | None = None,
        prefix_key: str | None = None,
        fork_id: str | None = None,
        running: bool = False,
    ) -> ExecutionRecord:
        ledger = self._ledger
        source = ledger.fetch(execution_id)
        proj = self._catalog.get(source.project)
        branching = variant_config is not None
        if not branching:  # a batch branches from a head it was just given
            snapshot_at(self._catalog.graph_of(source), source.thread_id, checkpoint_id)
        row = ExecutionRecord(
            **execution_record(
                execution_id=fork_id or new_execution_id(),
                project=source.project,
                status=ExecutionStatus.RUNNING if running else ExecutionStatus.PAUSED,
                initial_state=source.initial_state,
                variant_config=source.variant_config if variant_config is None else variant_config,
                workflow_variant=source.workflow_variant,
                project_version=source.project_version,
                owner=ledger.owner,
                workspace=source.workspace,
                head_checkpoint_id=checkpoint_id,
                # A running branch goes on from its thread's newest checkpoint, the head
                # (LangGraph's plain resume): no time-travel "fork" checkpoint is written.
                time_travel=not running,
                breakpoints=source.breakpoints if breakpoints is None else breakpoints,
                parent_execution_id=source.id,
                parent_checkpoint_id=checkpoint_id,
                batch_id=current_batch() if branching else None,
                prefix_key=prefix_key,
            )
        )
        graph = self._catalog.graph_of(row)
        store = ledger.checkpoints
        with self._outbox.begin(
            OperationKind.FORK, row.id, checkpoint_id=checkpoint_id, source_execution_id=source.id
        ) as operation:
            cut("fork.after_intent")
            operation.touch()
            store.copy_thread(source.thread_id, row.thread_id, checkpoint_id)
            cut("fork.after_copy")
            tracked_source = self._workspaces.tracked(proj, source)
            tracked_fork = self._workspaces.tracked(proj, row)
            if tracked_source is not None and tracked_fork is not None:
                chain = lineage(store.saver, row.thread_id, checkpoint_id)
                self._file_tracker.link_fork(
                    tracked_source,
                    tracked_fork,
                    [tup.config["configurable"]["checkpoint_id"] for tup in chain],
                )
            cut("fork.after_links")
            head = checkpoint_id
            if updates:
                head = row.head_checkpoint_id = apply_update(ledger, graph, row, updates, as_node)
                cut("fork.after_update")
            if not running:  # a running fork's drive sets these
                snapshot = snapshot_at(graph, row.thread_id, head)
                for name, value in snapshot_fields(snapshot).items():
                    setattr(row, name, value)
                row.status = resting_status(snapshot)  # completed when forked at a final checkpoint
            ledger.publish(
                row,
                EventType.EXECUTION_FORKED,
                checkpoint_id=checkpoint_id,
                data={"source_execution_id": source.id},
            )
            ledger.metadata.create_execution_closing(row, operation.id)
            operation.close()
        return row

    def update_state(
        self, execution_id: str, values: Mapping[str, Any], as_node: str | None = None
    ) -> ExecutionResult:
        """Write ``values`` into the state at the head, as a new checkpoint (as if ``as_node``
        had returned them; by default the node that wrote last)."""
        project = self._ledger.fetch(execution_id).project
        with operation_span("update_state", project, execution_id, **{"wtb.as_node": as_node}):
            return self._update_state(execution_id, values, as_node)

    def _update_state(
        self, execution_id: str, values: Mapping[str, Any], as_node: str | None
    ) -> ExecutionResult:
        ledger = self._ledger
        row = ledger.fetch(execution_id)
        ledger.require_not_running(row, ledger.seen(row)[0], "update the state of")
        stored_head = row.head_checkpoint_id
        row.head_checkpoint_id = ledger.current_head(row, crashed=True)
        graph = self._catalog.graph_of(row)
        if row.head_checkpoint_id is None:
            raise InvalidStateError(
                f"execution {execution_id} has no checkpoint yet; resume it (which re-runs it "
                "from its initial state) before editing its state"
            )
        with self._outbox.begin(
            OperationKind.UPDATE_STATE,
            row.id,
            from_checkpoint=row.head_checkpoint_id,
            stored_head=stored_head,
            thread_id=row.thread_id,
        ) as operation:
            cut("update_state.after_intent")
            operation.touch()
            head = apply_update(ledger, graph, row, values, as_node)
            cut("update_state.after_checkpoint")
            snapshot = snapshot_at(graph, row.thread_id, head)
            update = {
                "status": resting_status(snapshot),
                "head_checkpoint_id": head,
                **snapshot_fields(snapshot),
                "error": None,
            }
            ledger.metadata.update_execution_closing(row.id, update, operation.id)
            operation.close()
        for name, value in update.items():
            setattr(row, name, value)
        return ledger.result(row)
