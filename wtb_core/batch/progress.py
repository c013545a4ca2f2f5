"""How a running batch reports progress and learns it was cancelled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wtb_core.batch.models import BatchRow, BatchStatus
from wtb_core.domain.events import Event, EventType
from wtb_core.domain.models import ExecutionStatus


@dataclass(frozen=True)
class BatchProgress:
    """Handed to ``on_progress`` whenever a cell starts or finishes."""

    batch_id: str
    total: int
    done: int
    failed: int
    running: int
    elapsed_s: float


class CancelWatch:
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


class ProgressTracker:
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


class ProgressEvents:
    """A batch's progress as events of the log (``batch:<id>`` on the server's stream):
    ``batch_started``, a ``batch_progress`` per finished cell and ``batch_finished``, each
    with ``{done, failed, total}`` of the whole batch (a resume counts the rows already
    stored). They belong to no execution: ``execution_id`` is ``""``. Published by the
    driver's thread only; ``publish=None`` publishes nothing."""

    def __init__(
        self,
        publish: Callable[[Event], None] | None,
        batch_id: str,
        project: str,
        total: int,
        done: int = 0,
        failed: int = 0,
    ) -> None:
        self._publish, self._batch_id, self._project = publish, batch_id, project
        self._total, self._done, self._failed = total, done, failed

    def _event(self, type_: EventType, message: str = "", **data: object) -> None:
        if self._publish is None:
            return
        counts = {"done": self._done, "failed": self._failed, "total": self._total}
        self._publish(
            Event(
                type=type_,
                execution_id="",
                project=self._project,
                batch_id=self._batch_id,
                message=message,
                data={**counts, **data},
            )
        )

    def started(self) -> None:
        self._event(EventType.BATCH_STARTED)

    def cell_finished(self, row: BatchRow) -> None:
        self._done += 1
        self._failed += row.status is not ExecutionStatus.COMPLETED
        self._event(
            EventType.BATCH_PROGRESS,
            execution_id=row.execution_id,
            status=row.status.value,
            combination=row.combination_label,
            case=row.case,
        )

    def finished(self, status: BatchStatus, error: str | None = None) -> None:
        self._event(EventType.BATCH_FINISHED, error or "", status=status.value)
