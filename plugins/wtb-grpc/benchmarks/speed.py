"""gRPC against the REST API and the SDK in process, one run, all on one bench.

1. ``Run`` of a 10-node chain to completion: ``bench.run`` vs gRPC ``Client.run`` vs
   REST ``POST /api/v1/executions?wait=true``, interleaved; p50, p99, ratio of p50s.
2. ``GetCheckpoints`` of a 100-checkpoint execution: ``bench.get_checkpoints`` vs
   ``Client.get_checkpoints`` vs ``GET /api/v1/executions/{id}/checkpoints``.
3. Event stream throughput to one subscriber: the stored log replayed from ``since=0``
   (every event the runs above stored) over gRPC ``Watch`` and over the REST WebSocket.

    PYTHONPATH=. .venv/bin/python plugins/wtb-grpc/benchmarks/speed.py [--runs 200]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from websockets.sync.client import connect

from benchmarks.api import HISTORY, long_chain
from benchmarks.overhead import NODES, chain
from wtb_core import WorkflowProject, WTBTestBench
from wtb_core.config import ExecutionConfig
from wtb_core.server.threaded import serve_in_thread as serve_rest
from wtb_grpc import Client, serve_in_thread


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _report(title: str, rows: dict[str, list[float]]) -> None:
    print(title)
    base = statistics.median(next(iter(rows.values())))
    for name, samples in rows.items():
        ordered = sorted(samples)
        p50, p99 = (
            statistics.median(ordered),
            ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)],
        )
        print(f"  {name:42s} p50 {p50:8.3f} ms  p99 {p99:8.3f} ms  {p50 / base:6.2f}x")


def _interleaved(calls: dict[str, Callable[[], object]], count: int) -> dict[str, list[float]]:
    for _ in range(10):  # warm-up
        for fn in calls.values():
            fn()
    gc.freeze()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(count):
        for name, fn in calls.items():
            samples[name].append(_timed(fn))
    return samples


def runs(bench: WTBTestBench, client: Client, http: httpx.Client, count: int) -> None:
    def rest() -> None:
        body = {"project": "chain", "initial_state": {"x": 0}}
        response = http.post("/api/v1/executions?wait=true", json=body)
        assert response.status_code == 200 and response.json()["state"]["x"] == NODES

    calls: dict[str, Callable[[], object]] = {
        "bench.run (in process)": lambda: bench.run("chain", {"x": 0}),
        "gRPC Run (Client.run)": lambda: client.run("chain", {"x": 0}),
        "REST POST /api/v1/executions?wait=true": rest,
    }
    _report(f"{NODES}-node chain run to completion, {count} runs each, interleaved",
            _interleaved(calls, count))  # fmt: skip


def history(bench: WTBTestBench, client: Client, http: httpx.Client, count: int) -> None:
    done = bench.run("long", {"x": 0})
    assert len(client.get_checkpoints(done.execution_id)) == HISTORY
    eid = done.execution_id
    calls: dict[str, Callable[[], object]] = {
        "bench.get_checkpoints (in process)": lambda: bench.get_checkpoints(eid),
        "gRPC GetCheckpoints (Client)": lambda: client.get_checkpoints(eid),
        "REST GET /api/v1/executions/{id}/checkpoints": lambda: http.get(
            f"/api/v1/executions/{eid}/checkpoints"
        ).raise_for_status(),
    }
    _report(f"{HISTORY}-checkpoint history, {count} reads each", _interleaved(calls, count))


def throughput(bench: WTBTestBench, client: Client, rest_url: str) -> None:
    total = bench.stack.metadata.last_event_seq()

    def over_grpc() -> int:
        got = 0
        with client.watch(channels=["*"], since=0) as events:
            for event in events:
                got += 1
                if event.seq >= total:
                    return got
        return got

    def over_websocket() -> int:
        got = 0
        with connect(rest_url.replace("http", "ws") + "/api/v1/stream") as socket:
            socket.send(json.dumps({"subscribe": ["*"], "since": 0}))
            while True:
                message = json.loads(socket.recv())
                if "execution_id" in message:
                    got += 1
                    if message["seq"] >= total:
                        return got

    print("event stream throughput to one subscriber: the stored log replayed from since=0")
    for name, read in (
        ("gRPC Watch", over_grpc),
        ("REST WebSocket /api/v1/stream", over_websocket),
    ):
        start = time.perf_counter()
        got = read()
        seconds = time.perf_counter() - start
        print(f"  {name:42s} {got} events in {seconds:6.2f} s: {got / seconds:9,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    bench = WTBTestBench(data_dir=Path(tempfile.mkdtemp(prefix="wtb-grpc-bench-")),
                         load_entrypoints=False)  # fmt: skip
    bench.register_project(WorkflowProject("chain", chain))
    execution = ExecutionConfig(recursion_limit=HISTORY * 2)
    bench.register_project(WorkflowProject("long", long_chain, execution=execution))
    rest = serve_rest(bench)
    grpc_server = serve_in_thread(bench)
    try:
        with (
            Client(grpc_server.address) as client,
            httpx.Client(base_url=rest.url, timeout=60) as http,
        ):
            runs(bench, client, http, args.runs)
            history(bench, client, http, max(20, args.runs // 2))
            throughput(bench, client, rest.url)
    finally:
        grpc_server.stop()
        rest.stop()
        bench.close()


if __name__ == "__main__":
    main()
