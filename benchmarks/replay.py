"""Replaying recorded node outputs vs recording them: the same batch, twice per round.

A batch of a 2-node chain whose upstream node ("retriever") sleeps 200 ms (an external
call) and whose downstream node is trivial, over ``--cases`` test cases and two
downstream variants, is run with ``record=True`` and then with ``replay=<its batch id>``
on one bench (SQLite, the embedded default), ``--rounds`` times. Printed: the wall time of
each, the ratio replayed / recorded per round and its median, and the "must" line.

The bound: a replayed cell no longer sleeps; what is left is WTB's own cost per cell
(execution and batch rows, checkpoints, one recording lookup), about 10 ms on a quiet
machine against the 200 ms call it replaces (a ratio near 0.05). ``MAX_RATIO = 0.2``
allows four times that cost — a shared 2-core machine — and still fails a replay that
called the node even once per four cells.

    .venv/bin/python -m benchmarks.replay [--cases 8] [--rounds 3] [--runner sequential]

``measure(...)`` returns the figures (``ReplayFigures``) for other benchmarks to use.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from wtb_core import ExecutionStatus, WorkflowProject, WTBTestBench

SLEEP_S = 0.200
MAX_RATIO = 0.2
CALLS = {"retriever": 0}


class RagState(TypedDict, total=False):
    query: str
    documents: list[str]
    answer: str


def retriever(state: RagState) -> RagState:
    CALLS["retriever"] += 1
    time.sleep(SLEEP_S)
    return {"documents": [f"doc about {state['query']}"]}


def generator(state: RagState) -> RagState:
    return {"answer": " ".join(state["documents"])}


def terse(state: RagState) -> RagState:
    return {"answer": state["documents"][0]}


def rag() -> StateGraph:
    builder = StateGraph(RagState)
    builder.add_node("retriever", retriever)
    builder.add_node("generator", generator)
    builder.add_edge(START, "retriever")
    builder.add_edge("retriever", "generator")
    builder.add_edge("generator", END)
    return builder


@dataclass
class ReplayFigures:
    """Wall times (s) of each round's recorded and replayed batch, and their ratios."""

    cells: int
    recorded_s: list[float] = field(default_factory=list)
    replayed_s: list[float] = field(default_factory=list)
    replay_calls: int = 0  # calls of the recorded node during the replays (must be 0)

    @property
    def ratios(self) -> list[float]:
        return [b / a for a, b in zip(self.recorded_s, self.replayed_s, strict=True)]

    @property
    def ratio(self) -> float:
        """The median of the rounds' replayed / recorded ratios."""
        return statistics.median(self.ratios)


def measure(
    cases: int = 8,
    rounds: int = 3,
    runner: str = "sequential",
    parallelism: int | None = None,
    data_dir: Path | None = None,
) -> ReplayFigures:
    """Record and replay the batch ``rounds`` times on one bench; return the figures."""
    with tempfile.TemporaryDirectory() as scratch:
        bench = WTBTestBench(data_dir=data_dir or Path(scratch) / "wtb", load_entrypoints=False)
        project = WorkflowProject("replay_bench", rag, recorded_nodes=["retriever"])
        project.register_variant(node="generator", name="terse", implementation=terse)
        bench.register_project(project)
        matrix = [{}, {"generator": "terse"}]
        test_cases = [{"query": f"q{i}"} for i in range(cases)]
        figures = ReplayFigures(cells=len(matrix) * cases)
        try:
            for _ in range(rounds):
                start = time.perf_counter()
                recorded = bench.run_batch_test(
                    "replay_bench", matrix, test_cases, runner=runner, parallelism=parallelism,
                    record=True,
                )  # fmt: skip
                figures.recorded_s.append(time.perf_counter() - start)
                calls = CALLS["retriever"]
                start = time.perf_counter()
                replayed = bench.run_batch_test(
                    "replay_bench", matrix, test_cases, runner=runner, parallelism=parallelism,
                    replay=recorded.batch_id,
                )  # fmt: skip
                figures.replayed_s.append(time.perf_counter() - start)
                figures.replay_calls += CALLS["retriever"] - calls
                for batch in (recorded, replayed):
                    statuses = {row.status for row in batch.results}
                    assert statuses == {ExecutionStatus.COMPLETED}, batch.results
        finally:
            bench.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runner", default="sequential")
    parser.add_argument("--parallelism", type=int, default=None)
    args = parser.parse_args()
    figures = measure(args.cases, args.rounds, args.runner, args.parallelism)
    print(
        f"{figures.cells} cells, upstream node sleeping {SLEEP_S * 1000:.0f} ms, "
        f"runner {args.runner}, {args.rounds} rounds"
    )
    for i, (rec, rep, ratio) in enumerate(
        zip(figures.recorded_s, figures.replayed_s, figures.ratios, strict=True), 1
    ):
        print(f"round {i}: recorded {rec:.3f} s, replayed {rep:.3f} s, ratio {ratio:.3f}")
    print(f"calls of the recorded node while replaying: {figures.replay_calls}")
    ok = figures.ratio <= MAX_RATIO and figures.replay_calls == 0
    verdict = "ok" if ok else "FAILED"
    print(
        f"must: replayed / recorded <= {MAX_RATIO} with no call of the recorded node: "
        f"median ratio {figures.ratio:.3f}, {figures.replay_calls} calls -> {verdict}"
    )
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
