"""How a running batch reports progress and learns it was cancelled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wtb_core.batch.models import BatchRow, BatchStatus
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
