"""wtb-uvenv's speed, each figure against a baseline measured in the same run.

    .venv/bin/python plugins/wtb-uvenv/benchmarks/run_benchmarks.py [--rounds 5] [--calls 2000]

1. Creating an environment of three small packages with a warm uv cache, vs
   ``uv venv && uv pip install`` of the same packages by hand (same cache, same interpreter).
2. Calling a trivial node in a warm worker vs calling it in process: per-call p50 / p99.
3. A 5-node chain, every node in its own environment, vs the same chain in process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the benchmark's own node module, by reference

import bench_nodes  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402

import wtb_uvenv.plugin  # noqa: E402
from wtb_core import StackConfig, WorkflowProject, WTBTestBench  # noqa: E402
from wtb_core.config import EnvironmentConfig, EnvSpec  # noqa: E402
from wtb_uvenv.provider import UvEnvironmentProvider  # noqa: E402
from wtb_uvenv.settings import UvEnvSettings  # noqa: E402
from wtb_uvenv.uvcli import uv_bin, uv_environ  # noqa: E402

PACKAGES = ["tomli==2.0.1", "termcolor==2.4.0", "tabulate==0.9.0"]
CHAIN_ENVS = [[], ["tomli==2.0.1"], ["termcolor==2.4.0"], ["tabulate==0.9.0"], ["tomli==1.2.3"]]


class State(TypedDict, total=False):
    n: int


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6  # µs


def creation(base: Path, rounds: int) -> tuple[float, float]:
    """Median seconds of building the environment through the provider and by hand."""
    cache = base / "uv-cache"
    spec = EnvSpec(dependencies=PACKAGES)

    def provider(root: Path) -> UvEnvironmentProvider:
        settings = UvEnvSettings(env_root=root, cache_dir=cache)
        return UvEnvironmentProvider(StackConfig(data_dir=base / "data"), settings)

    warm = provider(base / "warm-up")
    warm.ensure(spec)  # fills the cache (downloads on a cold machine)
    python = warm.interpreter(spec.python_version).path
    env = uv_environ(cache)
    ours, by_hand = [], []
    for i in range(rounds):
        fresh = provider(base / f"ours-{i}")
        fresh.interpreter(spec.python_version)  # found when the graph is built, not here
        start = time.perf_counter()
        _, built = fresh.ensure(spec)
        ours.append(time.perf_counter() - start)
        assert built
        venv = base / f"hand-{i}"
        start = time.perf_counter()
        subprocess.run([uv_bin(), "venv", "-q", "--python", python, str(venv)], env=env, check=True)
        install = [uv_bin(), "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        subprocess.run([*install, *PACKAGES], env=env, check=True)
        by_hand.append(time.perf_counter() - start)
    return _median_ms(ours), _median_ms(by_hand)


def per_call(base: Path, calls: int) -> tuple[list[float], list[float]]:
    """Seconds per call of a trivial node: in a warm worker, and in process."""
    settings = UvEnvSettings(env_root=base / "envs", cache_dir=base / "uv-cache")
    provider = UvEnvironmentProvider(StackConfig(data_dir=base / "data"), settings)
    remote = provider.wrap_node("bench", "step", None, EnvSpec(), bench_nodes.step)
    try:
        for _ in range(50):  # start the worker, warm both paths
            remote({"n": 1})
            bench_nodes.step({"n": 1})
        timings: dict[str, list[float]] = {"remote": [], "local": []}
        for _ in range(calls):
            for name, func in (("remote", remote), ("local", bench_nodes.step)):
                start = time.perf_counter()
                func({"n": 1})
                timings[name].append(time.perf_counter() - start)
    finally:
        provider.close()
    return timings["remote"], timings["local"]


def _chain() -> StateGraph[Any]:
    graph = StateGraph(State)
    previous = START
    for i in range(5):
        graph.add_node(f"n{i}", bench_nodes.step)
        graph.add_edge(previous, f"n{i}")
        previous = f"n{i}"
    graph.add_edge(previous, END)
    return graph


def whole_run(base: Path, runs: int) -> tuple[float, float]:
    """Median seconds of one run of the 5-node chain: each node in its own environment,
    and all in process."""
    environments = EnvironmentConfig(
        granularity="node",
        node_environments={f"n{i}": EnvSpec(dependencies=d) for i, d in enumerate(CHAIN_ENVS)},
    )
    medians = []
    for provider, env in (("uv", environments), ("inprocess", None)):
        config = StackConfig(data_dir=base / f"chain-{provider}", environment_provider=provider)
        with WTBTestBench(config=config, plugins=[wtb_uvenv.plugin], load_entrypoints=False) as b:
            b.register_project(WorkflowProject("chain", _chain, environment=env))
            assert b.run("chain", {"n": 0}).state["n"] == 5  # builds, starts the workers
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                b.run("chain", {"n": 0})
                samples.append(time.perf_counter() - start)
        medians.append(_median_ms(samples))
    return medians[0], medians[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="environment builds per side")
    parser.add_argument("--calls", type=int, default=2000, help="node calls per side")
    parser.add_argument("--runs", type=int, default=20, help="runs of the 5-node chain per side")
    args = parser.parse_args()
    os.environ["WTB_LOAD_PLUGINS"] = ""
    with tempfile.TemporaryDirectory(prefix="wtb-uvenv-bench-") as tmp:
        base = Path(tmp)
        ours, by_hand = creation(base, args.rounds)
        print(f"1. create env ({', '.join(PACKAGES)}), warm cache, median of {args.rounds}:")
        print(
            f"   wtb-uvenv {ours:.1f} ms | uv venv && uv pip install {by_hand:.1f} ms | "
            f"ratio {ours / by_hand:.2f}x (target <= 1.5x)"
        )
        remote, local = per_call(base, args.calls)
        overhead = statistics.median(remote) - statistics.median(local)
        print(f"2. trivial node, {args.calls} calls each:")
        print(
            f"   warm worker p50 {_percentile(remote, 0.5):.0f} µs, p99 "
            f"{_percentile(remote, 0.99):.0f} µs | in process p50 {_percentile(local, 0.5):.1f} "
            f"µs, p99 {_percentile(local, 0.99):.1f} µs | overhead p50 {overhead * 1000:.3f} ms "
            "(target <= 2 ms)"
        )
        uv, inprocess = whole_run(base, args.runs)
        print(f"3. 5-node chain, median of {args.runs} runs:")
        print(
            f"   every node in its own environment {uv:.1f} ms | in process {inprocess:.1f} ms "
            f"| ratio {uv / inprocess:.2f}x"
        )


if __name__ == "__main__":
    main()
