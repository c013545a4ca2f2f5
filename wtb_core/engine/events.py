"""The event bus: every domain event goes to ``wtb_on_event`` listeners and the audit trail.

Listeners hear each event synchronously. Audit rows are buffered and written by a
background writer in batches — at most ``interval`` seconds after the first row of a
batch was published, or once ``max_buffered`` rows wait — so a run never waits for its
audit rows and never commits one row at a time. ``flush()`` writes what is buffered now
(``bench.audit`` calls it before reading); ``close()`` (also run at interpreter exit)
writes the rest and stops the writer.

The audit rows are the stored event log: ``audit_events.id`` is each event's ``seq``.
``on_stored(callback)`` hands a reader of that log (the server's event hub) the rows just
committed with their seqs, so it needs neither to poll nor to read them back. Events
published inside ``in_batch(id)`` carry that batch's id.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from wtb_core.domain.events import Event
from wtb_core.registry import PluginRegistry
from wtb_core.storage.metadata import MetadataStore

log = logging.getLogger(__name__)

_current_batch: ContextVar[str | None] = ContextVar("wtb_current_batch", default=None)

StoredListener = Callable[[list[tuple[int, dict[str, Any]]]], None]
"""What ``EventBus.on_stored`` calls: the rows just committed, with their seqs."""


@contextlib.contextmanager
def in_batch(batch_id: str) -> Iterator[None]:
    """Events published in this block (this thread, and the threads and tasks it starts
    with its context) belong to batch ``batch_id``."""
    token = _current_batch.set(batch_id)
    try:
        yield
    finally:
        _current_batch.reset(token)


def current_batch() -> str | None:
    """The batch of the ``in_batch`` block this runs in, if any."""
    return _current_batch.get()


def audit_row(event: Event) -> dict[str, Any]:
    """The stored row of ``event``; an event without a ``batch_id`` takes the one of the
    ``in_batch`` block it is published in."""
    return {
        "execution_id": event.execution_id,
        "project": event.project,
        "timestamp": event.timestamp,
        "event_type": event.type.value,
        "severity": event.severity.value,
        "node": event.node,
        "checkpoint_id": event.checkpoint_id,
        "message": event.message,
        "data": event.data,
        "batch_id": event.batch_id if event.batch_id is not None else _current_batch.get(),
    }


class EventBus:
    """Publishes events to plugins and writes their audit rows in the background."""

    def __init__(
        self,
        plugins: PluginRegistry,
        metadata: MetadataStore,
        interval: float = 0.25,
        max_buffered: int = 2000,
    ) -> None:
        self._plugins = plugins
        self._metadata = metadata
        self._interval = interval
        self._max_buffered = max_buffered
        self._buffer: list[dict[str, Any]] = []
        self._wake = threading.Condition()
        self._write_lock = threading.Lock()  # rows reach the table in publish order
        self._writer: threading.Thread | None = None
        self._closed = False
        self._stored: list[StoredListener] = []

    @property
    def interval(self) -> float:
        """Seconds a published row waits at most before the writer stores it."""
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"the audit writer's interval must be positive, not {seconds!r}")
        with self._wake:
            self._interval = seconds
            self._wake.notify()

    def on_stored(self, callback: StoredListener) -> Callable[[], None]:
        """Call ``callback(stored)`` after every commit of audit rows, on the writing
        thread (it must be quick): ``stored`` is ``[(seq, row), ...]`` in seq order, or
        ``[]`` when the database did not say which seqs the rows got (read the log then).
        Returns the function that unregisters it."""
        with self._wake:
            self._stored = [*self._stored, callback]

        def remove() -> None:
            with self._wake:
                self._stored = [c for c in self._stored if c is not callback]

        return remove

    def publish(self, event: Event) -> None:
        self._plugins.emit(event)
        row = audit_row(event)
        with self._wake:
            self._buffer.append(row)
            if self._writer is None and not self._closed:
                self._start_writer()
            if len(self._buffer) == 1 or len(self._buffer) >= self._max_buffered:
                self._wake.notify()

    def flush(self) -> None:
        """Write every buffered row now."""
        with self._write_lock:
            with self._wake:
                rows, self._buffer = self._buffer, []
            if rows:
                seqs = self._metadata.append_events(rows)
                stored = list(zip(seqs, rows, strict=True)) if len(seqs) == len(rows) else []
                for callback in self._stored:
                    try:
                        callback(stored)
                    except Exception:  # a listener's defect must not lose the writer
                        log.exception("an on_stored listener of the event bus failed")

    def close(self) -> None:
        """Write what is left and stop the background writer."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._writer is not None:
            self._writer.join()
            atexit.unregister(self.close)
        self.flush()

    def _start_writer(self) -> None:
        self._writer = threading.Thread(target=self._run, name="wtb-audit-writer", daemon=True)
        self._writer.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while True:
            with self._wake:  # sleep while there is nothing to write
                self._wake.wait_for(lambda: self._closed or bool(self._buffer))
                first = time.monotonic()
                # then until the batch is due (a changed interval counts at once) or full
                while not self._closed and len(self._buffer) < self._max_buffered:
                    remaining = first + self._interval - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
                closed = self._closed
            try:
                self.flush()
            except Exception:  # keep the rows' owner (the bench) alive; report and retry
                log.exception("writing audit rows failed; retrying in %.2fs", self._interval)
            if closed:
                return
