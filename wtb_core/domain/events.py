"""Domain events: what happened to an execution or a batch, as every listener hears it.

An event of a batch's cell carries the batch's id (``batch_id``); so do the batch's own
progress events (``batch_started``, ``batch_progress``, ``batch_finished``, with ``{done,
failed, total}`` in ``data``), which belong to no execution: their ``execution_id`` is
``""``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from wtb_core.domain.models import Severity


class EventType(StrEnum):
    EXECUTION_STARTED = "execution_started"
    EXECUTION_RESUMED = "execution_resumed"
    EXECUTION_PAUSED = "execution_paused"
    EXECUTION_INTERRUPTED = "execution_interrupted"
    EXECUTION_COMPLETED = "execution_completed"
    EXECUTION_FAILED = "execution_failed"
    EXECUTION_STOPPED = "execution_stopped"
    EXECUTION_ROLLED_BACK = "execution_rolled_back"
    EXECUTION_FORKED = "execution_forked"
    STATE_UPDATED = "state_updated"
    NODE_STARTED = "node_started"
    NODE_COMPLETED = "node_completed"
    NODE_FAILED = "node_failed"
    NODE_ATTEMPT_FAILED = "node_attempt_failed"  # one attempt of a node with a RetryPolicy
    CHECKPOINT_CREATED = "checkpoint_created"
    BATCH_STARTED = "batch_started"  # a batch (or its resume) starts driving its cells
    BATCH_PROGRESS = "batch_progress"  # a cell finished
    BATCH_FINISHED = "batch_finished"  # completed, cancelled or interrupted (data.status)


_SEVERITY = {
    EventType.EXECUTION_FAILED: Severity.ERROR,
    EventType.NODE_FAILED: Severity.ERROR,
    EventType.NODE_ATTEMPT_FAILED: Severity.WARNING,
    EventType.EXECUTION_STOPPED: Severity.WARNING,
    EventType.EXECUTION_ROLLED_BACK: Severity.WARNING,
    EventType.NODE_STARTED: Severity.DEBUG,
    EventType.CHECKPOINT_CREATED: Severity.DEBUG,
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Event:
    """One thing that happened; delivered to ``wtb_on_event`` and kept in the audit trail.

    A plain slotted dataclass, not a pydantic model: the engine makes several per node.
    """

    type: EventType
    execution_id: str
    project: str
    timestamp: datetime = field(default_factory=_now)
    node: str | None = None
    checkpoint_id: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    batch_id: str | None = None

    @property
    def severity(self) -> Severity:
        return _SEVERITY.get(self.type, Severity.INFO)
