"""SQLite vs PostgreSQL stores: per-node overhead and a 16-thread batch, in one run.

Needs wtb-postgres and a server (default ``postgresql://postgres@127.0.0.1:5432``; set
``WTB_BENCH_POSTGRES``). A database of its own is created and dropped.

    .venv/bin/python -m benchmarks.stores [--runs 100] [--cells 64]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

import wtb_postgres.plugin
from benchmarks import batch as batch_bench
from benchmarks import overhead
from wtb_core import StackConfig, WorkflowProject, WTBTestBench

SERVER = os.environ.get("WTB_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    name = f"wtb_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(config: StackConfig, runs: int, cells: int) -> tuple[float, float]:
    """(median ms per node of a 10-node trivial chain, seconds for a 16-thread batch)."""
    with WTBTestBench(config=config, plugins=[wtb_postgres.plugin], load_entrypoints=False) as b:
        b.register_project(WorkflowProject("chain", overhead.chain))
        b.register_project(WorkflowProject("sleepy", batch_bench.chain))
        for _ in range(10):
            b.run("chain", {"x": 0})
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            b.run("chain", {"x": 0})
            times.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        result = b.run_batch_test(
            "sleepy",
            [{}],
            [{"query": str(i)} for i in range(cells)],
            runner="threadpool",
            parallelism=16,
        )
        batch_s = time.perf_counter() - start
        assert all(r.error is None for r in result.results), "a cell failed"
    return statistics.median(times) / overhead.NODES, batch_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--cells", type=int, default=64)
    args = parser.parse_args()

    sqlite = StackConfig(data_dir=Path(tempfile.mkdtemp(prefix="wtb-stores-")))
    sqlite_node, sqlite_batch = measure(sqlite, args.runs, args.cells)
    with scratch_database() as url:
        postgres = StackConfig(
            data_dir=Path(tempfile.mkdtemp(prefix="wtb-stores-")),
            checkpoint_store="postgres",
            database_url=url,
            pool_size=20,
        )
        pg_node, pg_batch = measure(postgres, args.runs, args.cells)

    print(f"10-node trivial chain via bench.run ({args.runs} runs): median wall time per node")
    print(f"  SQLite     : {sqlite_node * 1000:7.0f} µs/node")
    print(f"  PostgreSQL : {pg_node * 1000:7.0f} µs/node   ({pg_node / sqlite_node:.2f}x SQLite)")
    print(f"{args.cells} cells x 5 nodes x 20 ms sleep, thread pool of 16")
    print(f"  SQLite     : {sqlite_batch:6.2f} s")
    print(f"  PostgreSQL : {pg_batch:6.2f} s   ({pg_batch / sqlite_batch:.2f}x SQLite)")


if __name__ == "__main__":
    main()
