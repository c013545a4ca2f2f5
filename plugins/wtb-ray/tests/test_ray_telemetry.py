"""Telemetry across a real local Ray cluster: the cells' spans continue the driver's trace,
and the driver's metrics count Ray cells exactly as thread-pool cells."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import wtb_ray.plugin
from wtb_core import StackConfig, WorkflowProject, WTBTestBench
from wtb_core.telemetry import metrics, tracing


class OtelState(TypedDict, total=False):
    query: str
    spans: str


def _work(state: OtelState) -> dict[str, Any]:
    """In the Ray worker: the first call configures that process's SDK (spans to a file),
    as a user's worker setup would."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider as WorkerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor as Simple
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class FileExporter(SpanExporter):
        def __init__(self, path: str) -> None:
            self.path = path

        def export(self, spans: Any) -> SpanExportResult:
            with open(self.path, "a") as out:
                for span in spans:
                    out.write(json.dumps({
                        "name": span.name,
                        "trace_id": span.context.trace_id,
                        "span_id": span.context.span_id,
                        "parent": span.parent.span_id if span.parent else None,
                        "attributes": dict(span.attributes),
                    }) + "\n")  # fmt: skip
            return SpanExportResult.SUCCESS

    if not isinstance(trace.get_tracer_provider(), WorkerProvider):
        provider = WorkerProvider()
        provider.add_span_processor(Simple(FileExporter(state["spans"])))
        trace.set_tracer_provider(provider)
    return {"query": state["query"].upper()}


def otel_graph() -> StateGraph:
    builder = StateGraph(OtelState)
    builder.add_node("work", _work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    return builder


def _bench(tmp_path: Path) -> WTBTestBench:
    config = StackConfig(data_dir=tmp_path / "data", batch_runner="ray")
    return WTBTestBench(config=config, plugins=[wtb_ray.plugin], load_entrypoints=False)


def test_ray_cells_continue_the_driver_trace_and_are_counted_by_the_driver(tmp_path):
    spans_file = tmp_path / "worker-spans.jsonl"
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    registry = CollectorRegistry()
    metrics.install(registry)
    try:
        with _bench(tmp_path) as bench:
            bench.register_project(WorkflowProject("otel", otel_graph))
            warm = [{"query": "warm", "spans": str(spans_file)}]
            bench.run_batch_test("otel", [{}], warm, runner="ray")  # configures the workers
            spans_file.unlink(missing_ok=True)
            exporter.clear()
            cases = [{"query": f"q{i}", "spans": str(spans_file)} for i in range(3)]
            batch = bench.run_batch_test("otel", [{}], cases, runner="ray", parallelism=2)
            threaded = bench.run_batch_test("otel", [{}], cases, runner="threadpool")
    finally:
        tracing.use_tracer_provider(None)
        metrics.install(CollectorRegistry())
    (batch_span,) = [
        s for s in exporter.get_finished_spans()
        if s.name == "batch otel" and s.attributes["wtb.batch_id"] == batch.batch_id
    ]  # fmt: skip
    worker = [json.loads(line) for line in spans_file.read_text().splitlines()]
    executions = [s for s in worker if s["name"] == "invoke_workflow otel"]
    assert len(executions) == 3
    assert {s["trace_id"] for s in worker} == {batch_span.context.trace_id}
    assert {s["parent"] for s in executions} == {batch_span.context.span_id}
    assert sorted(s["attributes"]["wtb.case"] for s in executions) == sorted(
        r.case for r in batch.results
    )
    assert {s["attributes"]["wtb.batch_id"] for s in executions} == {batch.batch_id}
    nodes = [s for s in worker if s["name"] == "node work"]
    assert len(nodes) == 3
    assert {s["parent"] for s in nodes} == {s["span_id"] for s in executions}

    def cells(result: Any) -> Counter[tuple[str, str]]:
        return Counter((r.combination_label, r.status.value) for r in result.results)

    assert cells(batch) == cells(threaded)
    for (combination, status), count in cells(batch).items():
        labels = {"project": "otel", "combination": combination, "status": status}
        # warm-up (1) + ray (3) + threadpool (3): the same count from either runner
        assert registry.get_sample_value("wtb_batch_cells_total", labels) == 1 + 2 * count
    done = {"project": "otel", "status": "completed"}
    assert registry.get_sample_value("wtb_executions_total", done) == 7
    node = {"project": "otel", "node": "work", "variant": "default"}
    assert registry.get_sample_value("wtb_node_duration_seconds_count", node) == 7


def _slow(state: OtelState) -> dict[str, Any]:
    time.sleep(0.4)
    return {"query": state["query"]}


def slow_graph() -> StateGraph:
    builder = StateGraph(OtelState)
    builder.add_node("slow", _slow)
    builder.add_edge(START, "slow")
    builder.add_edge("slow", END)
    return builder


def test_ray_cells_in_flight_are_those_the_workers_run_now(tmp_path):
    registry = CollectorRegistry()
    metrics.install(registry)
    seen: list[float] = []
    running: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            seen.append(registry.get_sample_value("wtb_batch_cells_in_flight") or 0.0)
            time.sleep(0.02)

    try:
        with _bench(tmp_path) as bench:
            bench.register_project(WorkflowProject("slow", slow_graph))
            bench.run_batch_test("slow", [{}], [{"query": "warm"}], runner="ray")
            watcher = threading.Thread(target=sample)
            watcher.start()
            cases = [{"query": f"q{i}"} for i in range(4)]
            batch = bench.run_batch_test(
                "slow",
                [{}],
                cases,
                runner="ray",
                parallelism=2,
                on_progress=lambda progress: running.append(progress.running),
            )
            done.set()
            watcher.join()
    finally:
        metrics.install(CollectorRegistry())
    assert batch.status.value == "completed"
    assert max(seen) == 2  # parallelism 2: two cells on the worker at a time, never more
    assert registry.get_sample_value("wtb_batch_cells_in_flight") == 0
    assert max(running, default=0) == 2, running  # the batch's progress counts them too
