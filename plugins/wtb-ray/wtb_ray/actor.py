"""The execution actor: its own checkpoint store and graphs, cells on its own threads.

One streaming call per actor runs a share of the batch on a thread pool inside the actor
and yields each cell's result as it finishes. (One Ray call per cell costs more: with many
busy Python threads the actor's task dispatch waits for the GIL.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ray
from opentelemetry import context as otel_context
from opentelemetry import propagate

from wtb_core import StackConfig, TestCase, WorkflowProject
from wtb_core.plugin import Cell, CellStarted, DetachedExecutor, DetachedResult, run_bounded
from wtb_ray.nodes import ray_node_wrapper


@dataclass
class SharedJob:
    """What every cell of a batch shares; put in the object store once."""

    config: StackConfig
    project: WorkflowProject
    cases: list[TestCase]
    evaluators: dict[str, Any]
    # W3C trace context of the driver's batch span: cells continue the driver's trace.
    trace_context: dict[str, str] = field(default_factory=dict)


# The OpenTelemetry context key whose mapping the kernel adds to execution spans.
SPAN_ATTRIBUTES = "wtb.span_attributes"


# ray's typed overloads of remote(...) list task options only, not an actor's max_concurrency
@ray.remote(num_cpus=0, max_concurrency=4)  # type: ignore[call-overload]
class CellActor:
    """Runs cells for the driver, batch after batch (starting one costs seconds: a new
    process imports LangGraph and loads plugins); ``cancel`` stops it starting more."""

    def __init__(self, config: StackConfig) -> None:
        self.executor = DetachedExecutor(config, wrap=ray_node_wrapper())
        self.cancelled = threading.Event()

    def run_cells(
        self, job: SharedJob, cells: list[tuple[Cell, str]], width: int
    ) -> Iterator[DetachedResult | CellStarted]:
        """Run ``(cell, execution id)`` pairs of ``job``, ``width`` at a time; yield a
        ``CellStarted`` as each cell starts and its result as it finishes."""
        self.cancelled.clear()

        def run(item: tuple[Cell, str]) -> DetachedResult | CellStarted:
            return self._run(job, *item)

        def started(item: tuple[Cell, str]) -> DetachedResult | CellStarted:
            return CellStarted(execution_id=item[1])

        yield from run_bounded(cells, run, width, self.cancelled.is_set, "wtb-cell", started)

    def _run(self, job: SharedJob, cell: Cell, execution_id: str) -> DetachedResult:
        case = job.cases[cell.case_index]
        attributes = {
            "wtb.batch_id": cell.batch_id,
            "wtb.case": cell.case_name,
            "wtb.repetition": cell.repetition,
            "wtb.variant_config": json.dumps(cell.combination, sort_keys=True),
            "wtb.runner": "ray",
        }
        parent = propagate.extract(job.trace_context)
        token = otel_context.attach(otel_context.set_value(SPAN_ATTRIBUTES, attributes, parent))
        try:
            return self.executor.run_cell(job.project, case, cell, job.evaluators, execution_id)
        finally:
            otel_context.detach(token)

    def cancel(self) -> None:
        self.cancelled.set()

    def ready(self) -> bool:
        return True
