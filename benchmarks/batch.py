"""A batch on WTB's thread pool vs a bare ThreadPoolExecutor calling ``graph.invoke``.

64+ cells of a 5-node chain whose nodes sleep 20 ms (simulated model latency), 16 at a
time, both with a SqliteSaver built the same way (WAL, synchronous=NORMAL), in one run.
WTB also writes execution rows, audit events and batch rows, and scores every cell.

    .venv/bin/python -m benchmarks.batch [--cells 64] [--parallelism 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from wtb_core import WorkflowProject, WTBTestBench
from wtb_core.builtins.checkpoint_stores import open_sqlite_saver

NODES = 5
SLEEP_S = 0.020


class CellState(TypedDict, total=False):
    query: str
    x: int


def _node(state: CellState) -> dict[str, Any]:
    time.sleep(SLEEP_S)
    return {"x": state.get("x", 0) + 1}


def chain() -> StateGraph:
    builder = StateGraph(CellState)
    names = [f"n{i}" for i in range(NODES)]
    for name in names:
        builder.add_node(name, _node)
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder


def bare_round(cells: int, parallelism: int, workdir: Path, round_: int) -> float:
    graph = chain().compile(checkpointer=open_sqlite_saver(str(workdir / f"bare{round_}.sqlite")))

    def cell(i: int) -> None:
        config = {"configurable": {"thread_id": f"bare-{round_}-{i}"}}
        assert graph.invoke({"query": str(i)}, config)["x"] == NODES

    start = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(cell, range(cells)))
    return time.perf_counter() - start


def wtb_round(cells: int, parallelism: int, bench: WTBTestBench) -> float:
    start = time.perf_counter()
    batch = bench.run_batch_test(
        "chain",
        [{}],
        [{"query": str(i)} for i in range(cells)],
        evaluators=["latency"],
        runner="threadpool",
        parallelism=parallelism,
    )
    elapsed = time.perf_counter() - start
    assert len(batch.results) == cells and all(r.state["x"] == NODES for r in batch.results)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=64)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="wtb-batch-bench-"))
    bench = WTBTestBench(data_dir=workdir / "wtb", load_entrypoints=False)
    bench.register_project(WorkflowProject("chain", chain))
    wtb_round(args.parallelism, args.parallelism, bench)  # warm-up
    bare_round(args.parallelism, args.parallelism, workdir, -1)
    bare_s, wtb_s = [], []
    for round_ in range(args.rounds):
        bare_s.append(bare_round(args.cells, args.parallelism, workdir, round_))
        wtb_s.append(wtb_round(args.cells, args.parallelism, bench))
    bench.close()

    bare, wtb = statistics.median(bare_s), statistics.median(wtb_s)
    ideal = args.cells / args.parallelism * NODES * SLEEP_S
    print(
        f"{args.cells} cells x {NODES} nodes x {SLEEP_S * 1000:.0f} ms sleep, "
        f"{args.parallelism} threads, median of {args.rounds} rounds"
    )
    print(f"  ideal (sleep only)           : {ideal:6.3f} s")
    print(f"  bare ThreadPoolExecutor      : {bare:6.3f} s")
    print(f"  WTB run_batch_test threadpool: {wtb:6.3f} s")
    print(f"  ratio WTB / bare             : {wtb / bare:.3f}x  (must be <= 1.3x)")


if __name__ == "__main__":
    main()
