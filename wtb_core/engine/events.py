"""The event bus: every domain event goes to ``wtb_on_event`` listeners and the audit trail.

Listeners hear each event synchronously. Audit rows are buffered and written by a
background writer in batches — every ``interval`` seconds or once ``max_buffered`` rows
wait — so a run never waits for its audit rows and never commits one row at a time.
``flush()`` writes what is buffered now (``bench.audit`` calls it before reading);
``close()`` (also run at interpreter exit) writes the rest and stops the writer.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from wtb_core.domain.events import Event
from wtb_core.registry import PluginRegistry
from wtb_core.storage.metadata import MetadataStore

log = logging.getLogger(__name__)


def audit_row(event: Event) -> dict[str, Any]:
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

    def publish(self, event: Event) -> None:
        self._plugins.emit(event)
        with self._wake:
            self._buffer.append(audit_row(event))
            if self._writer is None and not self._closed:
                self._start_writer()
            if len(self._buffer) >= self._max_buffered:
                self._wake.notify()

    def flush(self) -> None:
        """Write every buffered row now."""
        with self._write_lock:
            with self._wake:
                rows, self._buffer = self._buffer, []
            if rows:
                self._metadata.append_events(rows)

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
            with self._wake:
                self._wake.wait_for(
                    lambda: self._closed or len(self._buffer) >= self._max_buffered,
                    timeout=self._interval,
                )
                closed = self._closed
            try:
                self.flush()
            except Exception:  # keep the rows' owner (the bench) alive; report and retry
                log.exception("writing audit rows failed; retrying in %.2fs", self._interval)
            if closed:
                return
