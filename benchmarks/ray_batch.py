"""The Ray runner vs the thread pool at equal concurrency, plus Ray's start-up cost.

200 cells of a 5-node chain whose nodes sleep 20 ms, on the same SQLite stores.

    .venv/bin/python -m benchmarks.ray_batch [--cells 200] [--parallelism 16]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import ray

import wtb_ray.plugin
from benchmarks.batch import chain
from wtb_core import StackConfig, WorkflowProject, WTBTestBench
from wtb_core.config import RayConfig
from wtb_ray.cluster import connect


def timed_batch(bench: WTBTestBench, runner: str, cells: int, parallelism: int) -> float:
    start = time.perf_counter()
    batch = bench.run_batch_test(
        "chain", [{}], [{"query": str(i)} for i in range(cells)], runner=runner,
        parallelism=parallelism,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    assert all(r.error is None for r in batch.results) and len(batch.results) == cells
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args()

    start = time.perf_counter()
    connect(RayConfig(address="local"))
    startup = time.perf_counter() - start
    config = StackConfig(data_dir=Path(tempfile.mkdtemp(prefix="wtb-ray-bench-")))
    with WTBTestBench(config=config, plugins=[wtb_ray.plugin], load_entrypoints=False) as bench:
        bench.register_project(WorkflowProject("chain", chain))
        first_ray = timed_batch(bench, "ray", args.parallelism, args.parallelism)  # warm-up
        timed_batch(bench, "threadpool", args.parallelism, args.parallelism)
        pool = timed_batch(bench, "threadpool", args.cells, args.parallelism)
        on_ray = timed_batch(bench, "ray", args.cells, args.parallelism)
    ray.shutdown()
    print(f"{args.cells} cells x 5 nodes x 20 ms sleep, concurrency {args.parallelism}")
    print(f"  Ray start-up (ray.init, local)  : {startup:6.2f} s")
    print(f"  first Ray batch (actors start)  : {first_ray:6.2f} s for {args.parallelism} cells")
    print(f"  thread pool                     : {pool:6.2f} s")
    print(f"  Ray runner                      : {on_ray:6.2f} s")
    print(f"  ratio Ray / thread pool         : {on_ray / pool:.3f}x  (must be <= 1.5x)")


if __name__ == "__main__":
    main()
