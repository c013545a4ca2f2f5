"""WTB's Prometheus metrics, and how domain events move them.

Labels are low-cardinality only: project, node, variant, combination, status — never an
execution, thread or checkpoint id. A project's children are created at zero the first time
the project is heard of (a node's when it first starts, a batch's combinations when the
batch starts), so ``rate()`` and ``increase()`` see every series from its first scrape.

``active()`` is the metrics every listener updates, on ``prometheus_client.REGISTRY`` unless
``install(registry)`` put them on another registry (tests and benchmarks do). In Prometheus
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before the process starts) the values
live in that directory and ``exposition.render`` aggregates them across processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from wtb_core.domain.events import EventType

EXECUTION_STATUSES = ("completed", "failed", "paused", "cancelled")
CELL_STATUSES = ("completed", "failed")
CHECKPOINT_WRITES = ("put", "put_writes")
DEFAULT_VARIANT = "default"
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_IO_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_TERMINAL = {
    EventType.EXECUTION_COMPLETED: "completed",
    EventType.EXECUTION_FAILED: "failed",
    EventType.EXECUTION_PAUSED: "paused",
    EventType.EXECUTION_STOPPED: "cancelled",
}
_OPEN_LIMIT = 10_000  # started executions remembered for their duration


def variant_of(node: str, variants: Mapping[str, str], workflow_variant: str | None) -> str:
    """The ``variant`` label of ``node``: its node variant, else the workflow variant, else
    ``default``."""
    return variants.get(node) or workflow_variant or DEFAULT_VARIANT


class WTBMetrics:
    """The metric families on one registry, and the bookkeeping that feeds them."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self.registry = registry
        self.executions = Counter(
            "wtb_executions",
            "Execution calls (run, resume) by how they ended",
            ("project", "status"),
            registry=registry,
        )
        self.execution_duration = Histogram(
            "wtb_execution_duration_seconds",
            "Wall time of one execution call (run or resume), start to end",
            ("project",),
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.node_duration = Histogram(
            "wtb_node_duration_seconds",
            "Wall time of one node run (completed or failed)",
            ("project", "node", "variant"),
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.node_failures = Counter(
            "wtb_node_failures",
            "Node runs that failed (after their RetryPolicy's attempts)",
            ("project", "node", "variant"),
            registry=registry,
        )
        self.checkpoints = Counter(
            "wtb_checkpoints",
            "Checkpoints written by executions",
            ("project",),
            registry=registry,
        )
        self.batch_cells = Counter(
            "wtb_batch_cells",
            "Finished batch cells, counted by the driver whichever runner ran them",
            ("project", "combination", "status"),
            registry=registry,
        )
        self.cells_in_flight = Gauge(
            "wtb_batch_cells_in_flight",
            "Batch cells running now in the batches this process drives (in-process or on Ray)",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.checkpoint_write = Histogram(
            "wtb_checkpoint_write_seconds",
            "Time the checkpoint store takes to write a checkpoint (put) or a task's writes "
            "(put_writes), in the process that writes it",
            ("store", "operation"),
            buckets=_IO_BUCKETS,
            registry=registry,
        )
        self.file_snapshot = Histogram(
            "wtb_file_snapshot_seconds",
            "Time to snapshot an execution's tracked files at a checkpoint",
            buckets=_IO_BUCKETS,
            registry=registry,
        )
        self._projects: set[str] = set()
        self._open: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()
        # Label children by family and labels: prometheus-client's ``labels()`` costs tens
        # of microseconds a call, and every node event needs two.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _child(self, family: Any, *labels: str) -> Any:
        key = (id(family), labels)
        child = self._children.get(key)
        if child is None:  # two threads may both look it up: labels() gives them one child
            child = self._children[key] = family.labels(*labels)
        return child

    # -- children known in advance --------------------------------------------------------

    def know_project(self, project: str) -> None:
        """Create ``project``'s execution and checkpoint series at zero (once)."""
        if project in self._projects:
            return
        with self._lock:
            self._projects.add(project)
        for status in EXECUTION_STATUSES:
            self.executions.labels(project, status)
        self.execution_duration.labels(project)
        self.checkpoints.labels(project)

    def know_store(self, store: str) -> None:
        """Create ``store``'s checkpoint-write series at zero."""
        for operation in CHECKPOINT_WRITES:
            self._child(self.checkpoint_write, store, operation)

    def checkpoint_write_child(self, store: str, operation: str) -> Any:
        """The ``wtb_checkpoint_write_seconds`` series of ``store`` and ``operation``."""
        return self._child(self.checkpoint_write, store, operation)

    def know_combinations(self, project: str, combinations: Iterable[str]) -> None:
        """Create a batch's cell series at zero for every combination and status."""
        self.know_project(project)
        for combination in combinations:
            for status in CELL_STATUSES:
                self.batch_cells.labels(project, combination, status)

    # -- events -----------------------------------------------------------------------------

    def record(
        self,
        type_: EventType,
        project: str,
        execution_id: str,
        timestamp: datetime,
        node: str | None,
        data: Mapping[str, Any],
        variants: Mapping[str, str],
        workflow_variant: str | None,
    ) -> None:
        """Move the metrics one event moves (its fields as ``Event`` has them)."""
        self.know_project(project)
        if type_ in (EventType.EXECUTION_STARTED, EventType.EXECUTION_RESUMED):
            with self._lock:
                self._open[execution_id] = timestamp
                while len(self._open) > _OPEN_LIMIT:
                    self._open.popitem(last=False)
        elif type_ in _TERMINAL:
            self._child(self.executions, project, _TERMINAL[type_]).inc()
            with self._lock:
                started = self._open.pop(execution_id, None)
            if started is not None:
                seconds = (timestamp - started).total_seconds()
                self._child(self.execution_duration, project).observe(max(seconds, 0.0))
        elif type_ is EventType.CHECKPOINT_CREATED:
            self._child(self.checkpoints, project).inc()
        elif node is not None and type_ in (
            EventType.NODE_STARTED,
            EventType.NODE_COMPLETED,
            EventType.NODE_FAILED,
        ):
            variant = variant_of(node, variants, workflow_variant)
            failures = self._child(
                self.node_failures, project, node, variant
            )  # exists from the start
            if type_ is EventType.NODE_FAILED:
                failures.inc()
            duration = data.get("duration_ms")
            if type_ is not EventType.NODE_STARTED and isinstance(duration, int | float):
                self._child(self.node_duration, project, node, variant).observe(duration / 1000)
        elif type_ is EventType.BATCH_PROGRESS:
            combination, status = data.get("combination"), data.get("status")
            if isinstance(combination, str) and isinstance(status, str):
                self._child(self.batch_cells, project, combination, status).inc()


_active: WTBMetrics | None = None
_active_lock = threading.Lock()


def active() -> WTBMetrics:
    """The metrics listeners update (created on the default registry on first use)."""
    global _active
    if _active is None:
        with _active_lock:
            if _active is None:
                _active = WTBMetrics()
    return _active


def install(registry: CollectorRegistry) -> WTBMetrics:
    """Put WTB's metrics on ``registry`` from now on (a fresh set of families); returns them."""
    global _active
    with _active_lock:
        _active = WTBMetrics(registry)
    return _active
