"""The server's cost over the bench in process, one run, baselines measured alongside.

The server is a real ``wtb serve`` in a process of its own (as users run it), on a data
dir of its own; the in-process baseline is a bench with the same configuration in this
process.

1. A 10-node chain run to completion: ``bench.run`` in process vs native
   ``POST /api/v1/executions?wait=true`` vs LangGraph's ``POST /threads/{id}/runs/wait``
   (the real ``langgraph-sdk`` client, on a thread it created before: ``POST /threads``
   is timed on its own row), interleaved, each round in a shuffled order; p50 and p99,
   ratios of p50s.
2. A 100-checkpoint history: ``bench.get_checkpoints`` vs ``GET /api/v1/executions/{id}/
   checkpoints`` and the SDK's ``threads.get_history(limit=100)``.
3. Event delivery: 20 WebSocket subscribers to ``*`` while a batch runs on the server;
   p50/p99 of the time from an event's creation (its ``timestamp``) to its arrival at
   each subscriber.

    .venv/bin/python -m benchmarks.api [--runs 200]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from langgraph_sdk import get_sync_client

from benchmarks.overhead import NODES, chain
from tests.server.stream_client import measure_delivery_latency
from wtb_core import WorkflowProject, WTBTestBench
from wtb_core.config import ExecutionConfig

HISTORY = 100
SUBSCRIBERS = 20
ROOT = Path(__file__).resolve().parents[1]
WTB = Path(sys.executable).with_name("wtb")


def long_chain() -> object:
    return chain(HISTORY - 2)  # the input and start checkpoints, then one per node


CHAIN = WorkflowProject("chain", chain)
LONG = WorkflowProject("long", long_chain, execution=ExecutionConfig(recursion_limit=HISTORY * 2))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _report(title: str, rows: dict[str, list[float]], baseline: str) -> None:
    print(title)
    base = _percentiles(rows[baseline])[0]
    for name, samples in rows.items():
        p50, p99 = _percentiles(samples)
        print(f"  {name:38s} p50 {p50:8.3f} ms  p99 {p99:8.3f} ms  {p50 / base:6.3f}x")


@contextmanager
def served(data_dir: Path) -> Iterator[str]:
    """``wtb serve`` of ``CHAIN`` and ``LONG`` on a free port, in a process of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(WTB), "--data-dir", str(data_dir), "serve", "--port", str(port),
               "--project", "benchmarks.api:CHAIN", "--project", "benchmarks.api:LONG"]  # fmt: skip
    env = {**os.environ, "WTB_LOAD_PLUGINS": "", "PYTHONPATH": str(ROOT)}
    log = data_dir.with_suffix(".log")
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"wtb serve exited: {log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("wtb serve did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def runs(bench: WTBTestBench, url: str, count: int) -> None:
    sdk = get_sync_client(url=url, api_key=None)
    with httpx.Client(base_url=url, timeout=60) as http:

        def in_process() -> None:
            assert bench.run("chain", {"x": 0}).state["x"] == NODES

        def native() -> None:
            response = http.post(
                "/api/v1/executions?wait=true", json={"project": "chain", "initial_state": {"x": 0}}
            )
            assert response.status_code == 200 and response.json()["state"]["x"] == NODES

        threads: list[str] = []

        def langgraph() -> None:  # on a thread made beforehand (a row of its own below)
            values = sdk.runs.wait(threads.pop(), "chain", input={"x": 0})
            assert values["x"] == NODES

        def new_thread() -> None:
            threads.append(sdk.threads.create(graph_id="chain")["thread_id"])

        calls = {"bench.run (in process)": in_process, "POST /api/v1/executions?wait": native,
                 "POST /threads (sdk)": new_thread,
                 "POST /threads/{id}/runs/wait (sdk)": langgraph}  # fmt: skip
        for _ in range(10):  # warm-up
            for fn in calls.values():
                fn()
        gc.freeze()  # as `wtb serve` does once started: the start-up heap is not rescanned
        samples: dict[str, list[float]] = {name: [] for name in calls}
        # Each round in its own order: a call pays for what the one before it left behind
        # (threads winding down, allocations), so every row follows every other as often.
        order, shuffle = list(calls), random.Random(0).shuffle
        for _ in range(count):
            shuffle(order)
            for name in order:
                if name == "POST /threads/{id}/runs/wait (sdk)" and not threads:
                    new_thread()  # its thread is made when its round put it first
                samples[name].append(_timed(calls[name]))
    _report(f"{NODES}-node chain run to completion, {count} runs each, interleaved in "
            "shuffled order", samples, "bench.run (in process)")  # fmt: skip


def history(bench: WTBTestBench, url: str, count: int) -> None:
    done = bench.run("long", {"x": 0})
    assert len(bench.get_checkpoints(done.execution_id)) == HISTORY, done
    sdk = get_sync_client(url=url, api_key=None)
    thread = sdk.threads.create()
    sdk.runs.wait(thread["thread_id"], "long", input={"x": 0})
    with httpx.Client(base_url=url, timeout=60) as http:
        served_run = http.post(
            "/api/v1/executions?wait=true", json={"project": "long", "initial_state": {"x": 0}}
        ).json()["execution_id"]
        calls = {
            "bench.get_checkpoints (in process)": lambda: bench.get_checkpoints(done.execution_id),
            "GET /api/v1/executions/{id}/checkpoints": lambda: http.get(
                f"/api/v1/executions/{served_run}/checkpoints"
            ).raise_for_status(),
            "POST /threads/{id}/history (sdk)": lambda: sdk.threads.get_history(
                thread["thread_id"], limit=HISTORY
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in calls}
        order, shuffle = list(calls), random.Random(1).shuffle
        for _ in range(count):
            shuffle(order)
            for name in order:
                samples[name].append(_timed(calls[name]))
    _report(f"{HISTORY}-checkpoint history, {count} reads each, shuffled order", samples,
            "bench.get_checkpoints (in process)")  # fmt: skip


def delivery(url: str) -> None:
    cases = [{"x": i} for i in range(40)]

    def load() -> None:  # a batch on the server, over the API, until it ends
        body = {"project": "chain", "variant_matrix": [{}], "test_cases": cases,
                "parallelism": 2}  # fmt: skip
        with httpx.Client(base_url=url, timeout=60) as http:
            batch_id = http.post("/api/v1/batches", json=body).json()["batch_id"]
            while http.get(f"/api/v1/batches/{batch_id}").json()["status"] == "running":
                time.sleep(0.05)

    # The subscribers run in a child process, so they take neither the GIL nor threads
    # from the server they measure.
    latencies = measure_delivery_latency(url, load, subscribers=SUBSCRIBERS)
    p50, p99 = _percentiles(latencies)
    print(f"event delivery to {SUBSCRIBERS} WebSocket subscribers while a 40-case batch runs")
    print(f"  {len(latencies)} deliveries: p50 {p50:.1f} ms  p99 {p99:.1f} ms  (must be <= 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wtb-api-bench-"))
    bench = WTBTestBench(data_dir=workdir / "in-process", load_entrypoints=False)
    bench.register_project(CHAIN)
    bench.register_project(LONG)
    try:
        with served(workdir / "served") as url:
            runs(bench, url, args.runs)
            history(bench, url, max(20, args.runs // 4))
            delivery(url)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
