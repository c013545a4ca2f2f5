"""Batch speed-ups of issue #19: shared prefixes (``run_batch_test(reuse_prefix=True)``)
and recorded node outputs (``record=True`` / ``replay=``).

Every section measures its own baseline in the same run and prints ``must`` lines; the
command exits non-zero when a target is missed. Sections are listed in ``SECTIONS`` (a
name and a function returning ``Must`` results), so more can be added beside this one.

* ``prefix``: k variants of the last node of a (p+1)-node chain whose nodes sleep 20 ms
  (I/O-like), 8 cases, on the thread-pool runner: independent cells vs shared prefixes,
  for (p, k) = (4, 4) and (9, 8); the speed-up must reach 0.8 × k(p+1)/(p+k). And a batch
  with nothing to share (every combination differs at the first node): shared prefixes
  on vs off must cost at most 5% more.
* ``replay``: a batch whose upstream node sleeps 200 ms, recorded once and replayed
  (``benchmarks.replay``): replayed / recorded wall time, and no call while replaying.

The thread pool is 2 wide by default, the cores of the machine the targets were set on:
the sleeps overlap at any width, but WTB's own per-execution work (rows, events, checkpoint
writes) holds the GIL, and a shared-prefix batch does little else, so a pool wider than
the cores measures the CPU, not the sharing (x4 here: 1.99x and 3.64x; x8: 1.64x, 2.52x).

    .venv/bin/python -m benchmarks.prefix [--parallelism 2] [--rounds 3] [--only prefix|replay]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from benchmarks import replay
from wtb_core import WorkflowProject, WTBTestBench

SLEEP_S = 0.020
CASES = 8


@dataclass(frozen=True)
class Must:
    """One target: ``ok`` when met; ``line`` says what was measured against what."""

    ok: bool
    line: str


@dataclass(frozen=True)
class Options:
    parallelism: int
    rounds: int
    workdir: Path


class ChainState(TypedDict, total=False):
    query: str
    x: int
    tag: str


def _node(state: ChainState) -> dict[str, Any]:
    time.sleep(SLEEP_S)
    return {"x": state.get("x", 0) + 1}


def _variant(name: str) -> Callable[[ChainState], dict[str, Any]]:
    def node(state: ChainState) -> dict[str, Any]:
        time.sleep(SLEEP_S)
        return {"x": state.get("x", 0) + 1, "tag": name}

    return node


def _chain(length: int) -> Callable[[], StateGraph]:
    def factory() -> StateGraph:
        builder = StateGraph(ChainState)
        names = [f"n{i}" for i in range(length)]
        for name in names:
            builder.add_node(name, _node)
        builder.add_edge(START, names[0])
        for a, b in itertools.pairwise(names):
            builder.add_edge(a, b)
        builder.add_edge(names[-1], END)
        return builder

    return factory


def _project(
    bench: WTBTestBench, length: int, node: str, k: int
) -> tuple[str, list[dict[str, str]]]:
    """A chain of ``length`` nodes with ``k`` variants of ``node`` (the first is default)."""
    name = f"chain{length}-{node}-{k}"
    project = WorkflowProject(name, _chain(length))
    bench.register_project(project)
    for i in range(1, k):
        project.register_variant(node, f"v{i}", _variant(f"v{i}"))
    return name, [{node: "default" if i == 0 else f"v{i}"} for i in range(k)]


def _batch_s(
    bench: WTBTestBench, project: str, matrix: list[dict[str, str]], reuse: bool, options: Options
) -> float:
    cases = [{"query": f"q{i}"} for i in range(CASES)]
    start = time.perf_counter()
    batch = bench.run_batch_test(
        project, matrix, cases, runner="threadpool", parallelism=options.parallelism,
        reuse_prefix=reuse,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    assert len(batch.results) == len(matrix) * CASES
    assert all(r.status.value == "completed" for r in batch.results), batch.results[0].error
    return elapsed


def _paired_medians(
    bench: WTBTestBench, project: str, matrix: list[dict[str, str]], options: Options
) -> tuple[float, float]:
    """Median wall time of independent cells and of shared prefixes, rounds interleaved."""
    _batch_s(bench, project, matrix, True, options)  # warm-up: graphs compiled, files open
    naive, shared = [], []
    for _ in range(options.rounds):
        naive.append(_batch_s(bench, project, matrix, False, options))
        shared.append(_batch_s(bench, project, matrix, True, options))
    return statistics.median(naive), statistics.median(shared)


def prefix_section(options: Options) -> list[Must]:
    bench = WTBTestBench(data_dir=options.workdir / "prefix", load_entrypoints=False)
    results: list[Must] = []
    try:
        print(
            f"shared prefixes: chain nodes sleep {SLEEP_S * 1000:.0f} ms, {CASES} cases, "
            f"threadpool x{options.parallelism}, median of {options.rounds} rounds"
        )
        for p, k in ((4, 4), (9, 8)):
            project, matrix = _project(bench, p + 1, f"n{p}", k)
            naive, shared = _paired_medians(bench, project, matrix, options)
            speedup = naive / shared
            required = 0.8 * k * (p + 1) / (p + k)
            print(
                f"  p={p} k={k}: naive {naive:6.3f} s  shared {shared:6.3f} s  "
                f"speed-up {speedup:5.2f}x  required {required:5.2f}x"
            )
            results.append(
                Must(
                    speedup >= required, f"p={p} k={k}: speed-up {speedup:.2f}x >= {required:.2f}x"
                )
            )
        project, matrix = _project(bench, 5, "n0", 4)
        off, on = _paired_medians(bench, project, matrix, options)
        extra = on / off - 1
        print(f"  nothing to share (5 nodes, 4 variants of n0): off {off:6.3f} s  on {on:6.3f} s")
        results.append(Must(extra <= 0.05, f"nothing to share: extra cost {extra:+.1%} <= +5%"))
    finally:
        bench.close()
    return results


def replay_section(options: Options) -> list[Must]:
    """A batch whose upstream node sleeps 200 ms, recorded then replayed (``benchmarks.replay``)."""
    figures = replay.measure(rounds=options.rounds, data_dir=options.workdir / "replay")
    for i, (rec, rep) in enumerate(zip(figures.recorded_s, figures.replayed_s, strict=True), 1):
        print(f"replay round {i}: recorded {rec:.3f} s, replayed {rep:.3f} s")
    return [
        Must(
            figures.ratio <= replay.MAX_RATIO and figures.replay_calls == 0,
            f"replayed / recorded {figures.ratio:.3f} (<= {replay.MAX_RATIO}), "
            f"{figures.replay_calls} calls of the recorded node while replaying (0)",
        )
    ]


SECTIONS: dict[str, Callable[[Options], list[Must]]] = {
    "prefix": prefix_section,
    "replay": replay_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wtb-prefix-bench-"))
    options = Options(args.parallelism, args.rounds, workdir)
    failed = 0
    for name in args.only or list(SECTIONS):
        for must in SECTIONS[name](options):
            print(f"must {'ok  ' if must.ok else 'FAIL'} {must.line}")
            failed += not must.ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
