"""The outbox: every operation that writes more than one store records its intent first,
and a processor finishes or compensates the ones a crash (or an error) left half-way.

Which operations write a row, and what a pending row is turned into:

* ``rollback`` (only when the project tracks files: the files and the head are two
  stores) — compensated: the files are put back as they are at the execution's stored
  head, which a pending rollback never moved (the head moves in the transaction that
  closes the row).
* ``fork`` — compensated: the thread copy and the file links of the new execution are
  removed (its row is stored in the transaction that closes the row, so it does not exist).
* ``update_state`` — finished when the update's checkpoint reached the checkpoint store
  (it is the thread's newest, which a resume would continue from anyway): the row's head
  and state move to it; compensated (nothing to do) when it did not.
* ``delete`` — finished: the thread is deleted (again) and the metadata rows with it.

Run, resume and batch cells write none: their execution row is stored before their first
checkpoint, every later checkpoint is already the truth a resume continues from, and a run
whose process died is found by its claim (``ExecutionLedger.seen``, ``wtb integrity``).

A row is settled only when its operation is not in progress: not active in this process,
and its owner's process gone (this host) or silent for ``claim_timeout`` seconds (another
host). An execution that is running meanwhile postpones it. A row whose settling fails is
retried up to ``MAX_ATTEMPTS`` times (attempts and the last error on the row), then
``failed``: ``wtb integrity`` reports it and ``--repair`` tries once more.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from wtb_core.domain.models import ExecutionStatus
from wtb_core.engine.history import resting_status, snapshot_at, snapshot_fields
from wtb_core.engine.records import owner_alive, thread_id_of
from wtb_core.engine.threads import thread_config
from wtb_core.errors import ExecutionNotFoundError
from wtb_core.ports.file_tracker import TrackedExecution
from wtb_core.storage.database import as_utc, utcnow
from wtb_core.storage.outbox import COMPENSATED, DONE, FAILED, PENDING
from wtb_core.storage.tables import OutboxRecord

if TYPE_CHECKING:
    from types import TracebackType

    from wtb_core.ports import FileTracker
    from wtb_core.sdk.catalog import ProjectCatalog
    from wtb_core.sdk.ledger import ExecutionLedger
    from wtb_core.sdk.workspaces import WorkspaceRoots

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""Attempts to settle an outbox row before it is ``failed``."""

_ACTIVE: set[int] = set()  # operations in progress in this process
_active_lock = threading.Lock()


class OperationKind(StrEnum):
    ROLLBACK = "rollback"
    FORK = "fork"
    UPDATE_STATE = "update_state"
    DELETE = "delete"


@dataclass(frozen=True)
class Settled:
    """What the processor did with one outbox row: ``outcome`` is ``done``,
    ``compensated``, ``pending`` (an attempt failed, retried later), ``failed`` (out of
    attempts) or ``postponed`` (its execution is running)."""

    operation_id: int
    kind: str
    execution_id: str
    outcome: str
    detail: str


class _Postponed(Exception):
    """The execution of an outbox row is running: settle it later."""


class Operation:
    """One multi-store operation in progress (``Outbox.begin``).

    The operation calls ``touch()`` before its first write to a store other than the
    metadata database, and ``close()`` once its closing metadata write is committed.
    Leaving the block with an exception before ``close()``: untouched, the row is closed
    as compensated (nothing changed); touched, it is settled at once as the processor
    would, and left pending for the processor if that fails too.
    """

    def __init__(self, outbox: Outbox, operation_id: int) -> None:
        self._outbox = outbox
        self.id = operation_id
        self.touched = False
        self.closed = False

    def touch(self) -> None:
        self.touched = True

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Operation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None and not self.closed:
                self._outbox.abandon(self)
        except Exception:  # the caller's exception is the one to see; the row stays pending
            log.exception("settling outbox row %s after a failed operation failed", self.id)
        finally:
            with _active_lock:
                _ACTIVE.discard(self.id)


class Outbox:
    """Opens outbox rows for operations and settles the pending ones (the processor).

    Thread-safe: settling one row is serialised by a lock; the metadata store and the
    checkpoint store lock their own writes."""

    def __init__(
        self,
        ledger: ExecutionLedger,
        catalog: ProjectCatalog,
        workspaces: WorkspaceRoots,
        file_tracker: FileTracker,
        claim_timeout: float,
    ) -> None:
        self._ledger = ledger
        self._catalog = catalog
        self._workspaces = workspaces
        self._file_tracker = file_tracker
        self._claim_timeout = claim_timeout
        self._lock = threading.Lock()

    # -- operations --------------------------------------------------------------------

    def begin(
        self,
        kind: OperationKind,
        execution_id: str,
        *,
        checkpoint_id: str | None = None,
        file_commit: str | None = None,
        **payload: Any,
    ) -> Operation:
        """Record the intent of an operation on ``execution_id``; use as a context manager."""
        operation_id = self._ledger.metadata.open_operation(
            kind.value,
            execution_id,
            owner=self._ledger.owner,
            checkpoint_id=checkpoint_id,
            file_commit=file_commit,
            payload=payload,
        )
        with _active_lock:
            _ACTIVE.add(operation_id)
        return Operation(self, operation_id)

    def abandon(self, operation: Operation) -> None:
        """An operation that failed before closing its row (see ``Operation``)."""
        metadata = self._ledger.metadata
        if not operation.touched:
            metadata.close_operation(operation.id, COMPENSATED)
            return
        row = metadata.operation(operation.id)
        if row is not None and row.state == PENDING:
            settled = self._settle(row)
            if settled.outcome not in (DONE, COMPENSATED):
                log.warning("outbox row %s is %s: %s", row.id, settled.outcome, settled.detail)

    # -- the processor -----------------------------------------------------------------

    def process(self, include_failed: bool = False) -> list[Settled]:
        """Finish or compensate every pending row whose operation is no longer in progress
        (and, with ``include_failed``, try ``failed`` ones once more)."""
        states = (PENDING, FAILED) if include_failed else (PENDING,)
        return [
            self._settle(row)
            for row in self._ledger.metadata.operations(states)
            if self._abandoned(row)
        ]

    def in_progress(self, row: OutboxRecord) -> bool:
        """Whether the operation of a pending row may still be running."""
        return not self._abandoned(row)

    def _abandoned(self, row: OutboxRecord) -> bool:
        with _active_lock:
            if row.id in _ACTIVE:
                return False
        if row.owner == self._ledger.owner or not owner_alive(row.owner):
            return True
        host = (row.owner or "").rpartition(":")[0]
        if host == self._ledger.owner.rpartition(":")[0]:
            return False  # a live process of this host
        silent = utcnow() - as_utc(row.updated_at)
        return silent > timedelta(seconds=self._claim_timeout)

    def _settle(self, row: OutboxRecord) -> Settled:
        metadata = self._ledger.metadata
        with self._lock:
            current = metadata.operation(row.id)
            if current is None or current.state not in (PENDING, FAILED):
                return Settled(row.id, row.kind, row.execution_id, "done", "settled meanwhile")
            try:
                outcome, detail = self._handlers()[OperationKind(row.kind)](current)
            except _Postponed as exc:
                return Settled(row.id, row.kind, row.execution_id, "postponed", str(exc))
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                state = metadata.operation_attempt_failed(row.id, error, MAX_ATTEMPTS)
                return Settled(row.id, row.kind, row.execution_id, state, error)
        return Settled(row.id, row.kind, row.execution_id, outcome, detail)

    def _handlers(self) -> dict[OperationKind, Any]:
        return {
            OperationKind.ROLLBACK: self._rollback,
            OperationKind.FORK: self._fork,
            OperationKind.UPDATE_STATE: self._update_state,
            OperationKind.DELETE: self._delete,
        }

    def _execution(self, row: OutboxRecord) -> Any:
        """The row's execution, or ``None``; ``_Postponed`` while it runs."""
        ledger = self._ledger
        try:
            execution = ledger.fetch(row.execution_id)
        except ExecutionNotFoundError:
            return None
        if ledger.seen(execution)[0] is ExecutionStatus.RUNNING or ledger.driver.is_running(
            execution.id
        ):
            raise _Postponed(f"execution {execution.id} is running")
        return execution

    def _rollback(self, row: OutboxRecord) -> tuple[str, str]:
        metadata = self._ledger.metadata
        execution = self._execution(row)
        note = "nothing to undo: the execution is gone"
        if execution is not None:
            head = execution.head_checkpoint_id
            if head != row.payload.get("from_checkpoint"):
                note = f"superseded: the head moved to {head} since"
            else:
                config = self._catalog.file_tracking(execution.project)
                if config.enabled and head is not None:
                    where = self._workspaces.trusted(execution)
                    tracked = TrackedExecution(execution.id, execution.project, config, where)
                    self._file_tracker.restore(tracked, head)
                note = f"undone: the files are back as at the head {head}"
        metadata.close_operation(row.id, COMPENSATED)
        return COMPENSATED, note

    def _fork(self, row: OutboxRecord) -> tuple[str, str]:
        metadata = self._ledger.metadata
        if metadata.execution_exists(row.execution_id):
            metadata.close_operation(row.id, DONE)
            return DONE, f"the fork {row.execution_id} is stored"
        self._ledger.checkpoints.delete_thread(thread_id_of(row.execution_id))
        metadata.delete_execution(row.execution_id, closing=row.id, closing_state=COMPENSATED)
        return COMPENSATED, f"undone: the thread copy and file links of {row.execution_id} removed"

    def _update_state(self, row: OutboxRecord) -> tuple[str, str]:
        ledger = self._ledger
        execution = self._execution(row)
        if execution is None or execution.head_checkpoint_id != row.payload.get("stored_head"):
            ledger.metadata.close_operation(row.id, COMPENSATED)
            return COMPENSATED, "superseded: the execution changed (or is gone) since"
        base = row.payload.get("from_checkpoint")
        latest = ledger.checkpoints.saver.get_tuple(thread_config(execution.thread_id))
        parent = latest.parent_config if latest is not None else None
        written = (
            latest is not None
            and parent is not None
            and parent["configurable"].get("checkpoint_id") == base
            and (latest.metadata or {}).get("source") == "update"
        )
        if not written or latest is None:
            ledger.metadata.close_operation(row.id, COMPENSATED)
            return COMPENSATED, "nothing to undo: the update's checkpoint was never written"
        head = latest.config["configurable"]["checkpoint_id"]
        graph = self._catalog.graph_of(execution)
        snapshot = snapshot_at(graph, execution.thread_id, head)
        update = {
            "status": resting_status(snapshot),
            "head_checkpoint_id": head,
            **snapshot_fields(snapshot),
        }
        ledger.metadata.update_execution_closing(execution.id, {**update, "error": None}, row.id)
        return DONE, f"finished: the head moved to the update's checkpoint {head}"

    def _delete(self, row: OutboxRecord) -> tuple[str, str]:
        thread = row.payload.get("thread_id") or thread_id_of(row.execution_id)
        self._ledger.checkpoints.delete_thread(thread)
        self._ledger.metadata.delete_execution(row.execution_id, closing=row.id)
        return DONE, f"finished: execution {row.execution_id} and its thread deleted"
