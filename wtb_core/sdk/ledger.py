"""The stored executions and the rules every service reads them by.

``ExecutionLedger`` fetches execution rows, says what status a caller sees (a ``running``
row whose run is gone is ``failed``), writes fields, publishes events, finds the head of a
running execution and hands out the claim that lets exactly one caller drive an execution.
The execution, time-travel and inspection services share one ledger.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from wtb_core.domain.events import Event, EventType
from wtb_core.domain.models import ExecutionResult, ExecutionStatus
from wtb_core.engine.driver import ExecutionDriver, driven_in_this_process
from wtb_core.engine.events import EventBus
from wtb_core.engine.records import execution_result, owner_alive
from wtb_core.engine.threads import thread_config
from wtb_core.errors import InvalidStateError
from wtb_core.ports import CheckpointStore
from wtb_core.sdk.heartbeat import Heartbeat
from wtb_core.storage.database import as_utc, utcnow
from wtb_core.storage.metadata import MetadataStore
from wtb_core.storage.tables import ExecutionRecord

if TYPE_CHECKING:
    from wtb_core.integrity.outbox import Outbox
    from wtb_core.ports import FileTracker
    from wtb_core.sdk.catalog import ProjectCatalog
    from wtb_core.sdk.workspaces import WorkspaceRoots

# Executions a bench of this process has created or claimed and is about to drive (or is
# driving): from the claim until the drive's final write, so a ``running`` row in that
# window is not mistaken for one whose drive ended abnormally. Counted: two callers may
# hold one id while the loser of the claim backs out.
_HELD: dict[str, int] = {}
_held_lock = threading.Lock()


def _held_here(execution_id: str) -> bool:
    with _held_lock:
        return execution_id in _HELD


def held_ids() -> list[str]:
    """The executions benches of this process hold (see ``ExecutionLedger.holding``)."""
    with _held_lock:
        return list(_HELD)


DEFAULT_CLAIM_TIMEOUT = 120.0


class ExecutionLedger:
    """Thread-safe: it keeps no state of its own beyond its collaborators (the metadata
    store and the event bus lock their own writes); ``claim`` is a compare-and-set in the
    metadata store, so of two callers claiming one execution exactly one wins.

    ``heartbeat`` renews the claims this process holds (started by the first ``holding``);
    a claim of another host not renewed for ``claim_timeout`` seconds reads as lapsed."""

    def __init__(
        self,
        metadata: MetadataStore,
        checkpoints: CheckpointStore,
        bus: EventBus,
        driver: ExecutionDriver,
        owner: str,
        heartbeat: Heartbeat | None = None,
        claim_timeout: float = DEFAULT_CLAIM_TIMEOUT,
    ) -> None:
        self.metadata = metadata
        self.checkpoints = checkpoints
        self.bus = bus
        self.driver = driver
        self.owner = owner
        self.heartbeat = heartbeat
        self.claim_timeout = claim_timeout

    # -- reading -------------------------------------------------------------------------

    def fetch(self, execution_id: str) -> ExecutionRecord:
        """The stored row (``ExecutionNotFoundError`` when there is none)."""
        return self.metadata.get_execution(execution_id)

    def seen(self, row: ExecutionRecord) -> tuple[ExecutionStatus, str | None]:
        """The status and error a caller sees. Reads only: ``row`` is not changed.

        A ``running`` row that no drive of this process holds is ``failed`` when this
        process owns it (its drive ended abnormally), its owner's process has exited (this
        host) or its owner has not renewed the claim for ``claim_timeout`` seconds (another
        host); the error then says so unless the row has one. Any other row is as stored."""
        status = ExecutionStatus(row.status)
        if status is not ExecutionStatus.RUNNING or self._driven_here(row.id):
            return status, row.error
        if row.owner == self.owner:
            reason = (
                "its run in this process ended without finishing (an exception escaped the "
                "run loop); resume continues from its last checkpoint"
            )
        elif not owner_alive(row.owner):
            reason = (
                f"the process that ran it ({row.owner}) exited mid-run; resume continues "
                "from its last checkpoint"
            )
        elif self.claim_lapsed(row):
            reason = (
                f"the process that ran it ({row.owner}, another host) has not renewed its "
                f"claim for more than {self.claim_timeout:g} s; resume continues from its "
                "last checkpoint"
            )
        else:
            return status, row.error
        return ExecutionStatus.FAILED, row.error or reason

    def claim_lapsed(self, row: ExecutionRecord) -> bool:
        """Whether ``row``'s owner is on another host and has not renewed its claim for
        ``claim_timeout`` seconds (a row from before heartbeats counts from its last
        write)."""
        host = (row.owner or "").rpartition(":")[0]
        if not host or host == self.owner.rpartition(":")[0]:
            return False
        beat = row.heartbeat_at or row.updated_at
        return beat is not None and utcnow() - as_utc(beat) > timedelta(seconds=self.claim_timeout)

    def result(self, row: ExecutionRecord, error: str | None = None) -> ExecutionResult:
        """``row`` as callers see it (``seen``); ``error`` fills in a row that has none."""
        status, seen_error = self.seen(row)
        return execution_result(row, status, seen_error or error)

    def starting_here(self, execution_id: str) -> bool:
        """A run or resume of this process holds ``execution_id`` but its drive has not
        started yet (it is being stored, claimed or its files restored)."""
        return _held_here(execution_id) and not self.driver.is_running(execution_id)

    def _driven_here(self, execution_id: str) -> bool:
        return driven_in_this_process(execution_id) or _held_here(execution_id)

    def current_head(self, row: ExecutionRecord, crashed: bool = False) -> str | None:
        """The head; for an execution that is running (or, with ``crashed``, one whose run
        may have been cut off), the newest checkpoint its thread holds: the head is stored
        when a drive stops. A head chosen by time travel stays until a drive moves it."""
        running = row.status == ExecutionStatus.RUNNING.value
        if row.time_travel or not (running or crashed):
            return row.head_checkpoint_id
        latest = self.checkpoints.saver.get_tuple(thread_config(row.thread_id))
        return latest.config["configurable"]["checkpoint_id"] if latest else row.head_checkpoint_id

    def require_not_running(
        self, row: ExecutionRecord, status: ExecutionStatus, action: str
    ) -> None:
        """``InvalidStateError`` naming ``action`` while ``row`` runs, here or (its seen
        ``status`` is ``running``) in another process."""
        if self.driver.is_running(row.id) or _held_here(row.id):
            raise InvalidStateError(
                f"cannot {action} execution {row.id} while it runs; pause it first (bench.pause)"
            )
        if status is ExecutionStatus.RUNNING:
            raise InvalidStateError(
                f"cannot {action} execution {row.id}: it is running in another process "
                f"({row.owner}); pause it there first"
            )

    # -- writing -------------------------------------------------------------------------

    def create(self, row: ExecutionRecord) -> None:
        self.metadata.create_execution(row)

    def set(self, row: ExecutionRecord, **fields: Any) -> None:
        """Persist ``fields`` and mirror them on ``row``."""
        self.metadata.update_execution(row.id, fields)
        for name, value in fields.items():
            setattr(row, name, value)

    def publish(self, row: ExecutionRecord, type_: EventType, **fields: Any) -> None:
        self.bus.publish(Event(type=type_, execution_id=row.id, project=row.project, **fields))

    @contextlib.contextmanager
    def holding(self, execution_id: str) -> Iterator[None]:
        """Around a run or resume: while inside, a ``running`` row of ``execution_id`` is
        one this process is about to drive or driving, whatever the driver says."""
        with _held_lock:
            _HELD[execution_id] = _HELD.get(execution_id, 0) + 1
        if self.heartbeat is not None:
            self.heartbeat.start()
        try:
            yield
        finally:
            with _held_lock:
                if _HELD[execution_id] == 1:
                    del _HELD[execution_id]
                else:
                    _HELD[execution_id] -= 1

    def claim(self, row: ExecutionRecord, seen_status: str, seen_owner: str | None) -> None:
        """Make this process the one running ``row``, or raise if another caller just did."""
        if not self.metadata.claim_execution(row.id, seen_status, seen_owner, self.owner):
            raise InvalidStateError(
                f"execution {row.id} was resumed by another caller at the same moment; it is "
                "running now: wait for it (or pause it) and look at its result"
            )
        row.status, row.owner, row.error = ExecutionStatus.RUNNING.value, self.owner, None


class LedgerService:
    """Base of the services over stored executions (executions, time travel, inspection):
    one bench's ledger, project catalog, workspace roots, file tracker and outbox, shared."""

    def __init__(
        self,
        ledger: ExecutionLedger,
        catalog: ProjectCatalog,
        workspaces: WorkspaceRoots,
        file_tracker: FileTracker,
        outbox: Outbox,
    ) -> None:
        self._ledger = ledger
        self._catalog = catalog
        self._workspaces = workspaces
        self._file_tracker = file_tracker
        self._outbox = outbox
