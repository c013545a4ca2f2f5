"""WTB ``run`` vs the same graph invoked directly by bare LangGraph with the same SqliteSaver.

A 10-node chain of trivial nodes: what WTB adds per execution (metadata rows, events, audit,
the streaming loop) is as visible as it can be. Both sides run in this process, interleaved,
on SqliteSavers built by the same function (WAL, synchronous=NORMAL); medians are compared.

    .venv/bin/python -m benchmarks.overhead [--runs 300]

It also times ``bench.run`` with telemetry on (Prometheus metrics on a fresh registry, spans
to the OpenTelemetry SDK's in-memory exporter) against off (``StackConfig.metrics`` and
``.tracing`` false), interleaved run by run: the ratio must stay <= 1.05. Beside it, the
floor any tracing of the chain pays: bare LangGraph whose nodes each run in a current SDK
span (plus one span per invoke), against bare LangGraph.
"""

from __future__ import annotations

import argparse
import itertools
import operator
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from wtb_core import WorkflowProject, WTBTestBench
from wtb_core.builtins.checkpoint_stores import open_sqlite_saver

NODES = 10


class ChainState(TypedDict, total=False):
    x: int
    seen: Annotated[list[str], operator.add]


def _node(name: str):
    def node(state: ChainState) -> dict[str, Any]:
        return {"x": state.get("x", 0) + 1}

    return node


def chain(length: int = NODES) -> StateGraph:
    builder = StateGraph(ChainState)
    names = [f"n{i}" for i in range(length)]
    for name in names:
        builder.add_node(name, _node(name))
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder


def _timed(fn, i: int) -> float:
    start = time.perf_counter()
    fn(i)
    return (time.perf_counter() - start) * 1000


class Telemetry:
    """Switches WTB's telemetry on (real SDK, in-memory exporter, own registry) or off."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from prometheus_client import CollectorRegistry

        from wtb_core.telemetry import metrics

        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        metrics.install(CollectorRegistry())

    def set(self, on: bool) -> None:
        from wtb_core.telemetry import tracing
        from wtb_core.telemetry.settings import SWITCHES

        SWITCHES.metrics = SWITCHES.tracing = on
        tracing.use_tracer_provider(self.provider if on else None)
        self.exporter.clear()


def spanned_chain(provider: Any, length: int = NODES) -> StateGraph:
    """The chain with what any tracing of it must do at the least: each node runs inside a
    current SDK span of its own (four attributes, two more at its end)."""
    tracer = provider.get_tracer("floor")
    builder = StateGraph(ChainState)
    names = [f"n{i}" for i in range(length)]

    def traced(name: str):
        node = _node(name)
        attributes = {"wtb.node": name, "wtb.step": 1, "wtb.attempt": 1, "wtb.variant": "default"}

        def run(state: ChainState) -> dict[str, Any]:
            with tracer.start_as_current_span(f"node {name}", attributes=attributes) as span:
                update = node(state)
                span.set_attributes({"wtb.status": "completed", "wtb.checkpoint_id": "x"})
                return update

        return run

    for name in names:
        builder.add_node(name, traced(name))
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="wtb-bench-"))
    bare = chain().compile(checkpointer=open_sqlite_saver(str(workdir / "bare.sqlite")))
    bench = WTBTestBench(data_dir=workdir / "wtb", load_entrypoints=False)
    bench.register_project(WorkflowProject("chain", chain))

    def run_bare(i: int) -> None:
        assert bare.invoke({"x": 0}, {"configurable": {"thread_id": f"bare-{i}"}})["x"] == NODES

    def run_wtb(i: int) -> None:
        assert bench.run("chain", {"x": 0}).state["x"] == NODES

    for i in range(20):  # warm-up: imports, connections, compiled-graph cache
        run_bare(-i - 1)
        run_wtb(i)
    bare_ms, wtb_ms = [], []
    for i in range(args.runs):
        bare_ms.append(_timed(run_bare, i))
        wtb_ms.append(_timed(run_wtb, i))
    telemetry = Telemetry()
    off_ms, on_ms = [], []
    for i in range(args.runs):
        telemetry.set(False)
        off_ms.append(_timed(run_wtb, i))
        telemetry.set(True)
        on_ms.append(_timed(run_wtb, i))
    spans = len(telemetry.exporter.get_finished_spans())
    # The floor: bare LangGraph with an SDK span per node and one per invoke vs without.
    spanned = spanned_chain(telemetry.provider).compile(checkpointer=bare.checkpointer)
    root = telemetry.provider.get_tracer("floor")
    plain_ms, spanned_ms = [], []

    def run_spanned(i: int) -> None:
        with root.start_as_current_span("invoke_workflow chain"):
            config = {"configurable": {"thread_id": f"spanned-{i}"}}
            assert spanned.invoke({"x": 0}, config)["x"] == NODES

    for i in range(args.runs):
        plain_ms.append(_timed(run_bare, args.runs + i))
        spanned_ms.append(_timed(run_spanned, i))
        telemetry.exporter.clear()
    telemetry.set(False)
    bench.close()

    bare_median, wtb_median = statistics.median(bare_ms), statistics.median(wtb_ms)
    print(f"{NODES}-node chain, {args.runs} runs each, interleaved, same SqliteSaver setup")
    print(f"  bare LangGraph invoke : median {bare_median:7.3f} ms")
    print(f"  WTB bench.run         : median {wtb_median:7.3f} ms")
    print(f"  overhead per node     : {(wtb_median - bare_median) / NODES * 1000:7.1f} µs")
    print(f"  ratio WTB / bare      : {wtb_median / bare_median:.3f}x  (must be <= 1.3x)")
    off_median, on_median = statistics.median(off_ms), statistics.median(on_ms)
    print(f"  telemetry off         : median {off_median:7.3f} ms")
    print(f"  telemetry on          : median {on_median:7.3f} ms  ({spans} spans in the last run)")
    print(f"  ratio on / off        : {on_median / off_median:.3f}x  (must be <= 1.05x)")
    plain_median, spanned_median = statistics.median(plain_ms), statistics.median(spanned_ms)
    print(
        f"  floor: bare LangGraph with an SDK span per node vs without: "
        f"{spanned_median / plain_median:.3f}x ({spanned_median:.3f} / {plain_median:.3f} ms)"
    )


if __name__ == "__main__":
    main()
