"""The builtin telemetry plugin: every domain event moves the Prometheus metrics.

Registered like every builtin (``wtb_core.builtins.MODULES``). It hears events on the
thread that publishes them and only updates in-memory metrics; a failure is logged by the
registry, never raised into the run. Cells a batch runner ran in another process (Ray) are
counted by the driver from the events it stores for them (``count_detached``), so the
numbers are the same whichever runner ran a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from wtb_core.domain.events import Event, EventType
from wtb_core.hookspecs import hookimpl
from wtb_core.telemetry import metrics, scope
from wtb_core.telemetry.settings import SWITCHES

log = logging.getLogger(__name__)


@hookimpl
def wtb_on_event(event: Event) -> None:
    """Update the metrics ``event`` moves (when ``StackConfig.metrics`` is on)."""
    if not SWITCHES.metrics:
        return
    driven = scope.current()
    metrics.active().record(
        event.type,
        event.project,
        event.execution_id,
        event.timestamp,
        event.node,
        event.data,
        driven.variants,
        driven.workflow_variant,
    )


def count_detached(execution: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> None:
    """Count the stored events (audit rows) of an execution another process ran."""
    if not SWITCHES.metrics:
        return
    try:
        variants = execution.get("variant_config") or {}
        workflow_variant = execution.get("workflow_variant")
        recorder = metrics.active()
        for row in events:
            timestamp = row["timestamp"]
            if isinstance(timestamp, str):
                timestamp = datetime.fromisoformat(timestamp)
            recorder.record(
                EventType(row["event_type"]),
                row["project"],
                row["execution_id"],
                timestamp,
                row.get("node"),
                row.get("data") or {},
                variants,
                workflow_variant,
            )
    except Exception:  # telemetry never breaks a batch
        log.exception("counting the events of execution %s failed", execution.get("id"))
