"""The event bus: every domain event goes to the audit trail and to ``wtb_on_event``.

Audit rows are buffered and written in batches — with the execution's own status update
when a control call finishes, or on their own once the buffer holds ``max_buffered`` rows
or its oldest row is ``max_age`` seconds old — never one commit per event.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from wtb_core.domain.events import Event
from wtb_core.registry import PluginRegistry
from wtb_core.storage.metadata import MetadataStore


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
    """Publishes events to plugins and buffers their audit rows."""

    def __init__(
        self,
        plugins: PluginRegistry,
        metadata: MetadataStore,
        max_buffered: int = 500,
        max_age: float = 1.0,
    ) -> None:
        self._plugins = plugins
        self._metadata = metadata
        self._max_buffered = max_buffered
        self._max_age = max_age
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []
        self._oldest = 0.0

    def publish(self, event: Event) -> None:
        self._plugins.emit(event)
        with self._lock:
            if not self._buffer:
                self._oldest = time.monotonic()
            self._buffer.append(audit_row(event))
            due = (
                len(self._buffer) >= self._max_buffered
                or time.monotonic() - self._oldest >= self._max_age
            )
        if due:
            self.flush()

    def drain(self) -> list[dict[str, Any]]:
        """Take the buffered rows, to be written by the caller's own transaction."""
        with self._lock:
            rows, self._buffer = self._buffer, []
        return rows

    def flush(self) -> None:
        """Write the buffered rows now."""
        rows = self.drain()
        if rows:
            self._metadata.append_events(rows)
