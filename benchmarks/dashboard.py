"""The dashboard on large data, in headless Chromium: each page's first render and each
filter change must complete in under 1 s.

Seeds a data dir with a real batch of 10,000 rows (10 combinations x 200 cases x 5
repetitions of a one-node graph) and a real 500-checkpoint execution (an agent/tool loop:
LangGraph's history of a 500-*node* chain is quadratic in its own ``get_state_history``),
serves it with
``serve_in_thread``, and times, from navigation (or the change) to the page showing its
data: the executions list and a status filter, the 500-checkpoint execution, the batch
page (comparison and the first grid page) and its filters (failures only, a score under
a threshold, one combination), the project page and the batches list.

    .venv/bin/python -m benchmarks.dashboard [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from playwright.sync_api import Page, sync_playwright

from wtb_core import TestCase, WorkflowProject, WTBTestBench
from wtb_core.config import ExecutionConfig
from wtb_core.server.threaded import serve_in_thread

COMBINATIONS, CASES, REPETITIONS = 10, 200, 5
CHECKPOINTS = 500
LIMIT_MS = 1000.0


class State(TypedDict, total=False):
    x: int


def one_node() -> StateGraph:
    def answer(state: State) -> dict[str, Any]:
        return {"x": state.get("x", 0) + 1}

    builder = StateGraph(State)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder


def variant(k: int) -> Callable[[State], dict[str, Any]]:
    def answer(state: State) -> dict[str, Any]:
        return {"x": state.get("x", 0) + (1 if k % 3 else 2)}

    return answer


def agent_loop() -> StateGraph:
    """An agent and its tool calling each other until the work is done — the shape of
    LangGraph's agent examples — for ``CHECKPOINTS - 2`` node steps (the input and start
    checkpoints make the rest)."""
    steps = CHECKPOINTS - 2

    def agent(state: State) -> dict[str, Any]:
        return {"x": state.get("x", 0) + 1}

    def tool(state: State) -> dict[str, Any]:
        return {"x": state.get("x", 0) + 1}

    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_node("tool", tool)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", lambda s: "tool" if s["x"] < steps else END)
    builder.add_conditional_edges("tool", lambda s: "agent" if s["x"] < steps else END)
    return builder


def projects(bench: WTBTestBench) -> None:
    wide = WorkflowProject("wide", one_node)
    for k in range(1, COMBINATIONS):
        wide.register_variant("answer", f"v{k}", variant(k))
    bench.register_project(wide)
    limit = ExecutionConfig(recursion_limit=2 * CHECKPOINTS)
    bench.register_project(WorkflowProject("long", agent_loop, execution=limit))


def seed(data_dir: Path) -> tuple[str, str]:
    bench = WTBTestBench(data_dir=data_dir, load_entrypoints=False)
    projects(bench)
    started = time.perf_counter()
    execution = bench.run("long", {"x": 0})
    assert len(bench.get_checkpoints(execution.execution_id)) == CHECKPOINTS
    matrix = [{}] + [{"answer": f"v{k}"} for k in range(1, COMBINATIONS)]
    cases = [
        TestCase(inputs={"x": i}, expected={"x": i + 1}, name=f"case-{i}") for i in range(CASES)
    ]
    batch = bench.run_batch_test(
        "wide", matrix, cases, repetitions=REPETITIONS, evaluators=["exact_match"],
        runner="threadpool", parallelism=2,
    )  # fmt: skip
    assert len(batch.results) == COMBINATIONS * CASES * REPETITIONS
    print(f"seeded {len(batch.results)} batch rows and a {CHECKPOINTS}-checkpoint execution "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
    bench.close()
    return execution.execution_id, batch.batch_id


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def batch_page(page: Page, url: str, batch_id: str) -> None:
    total = COMBINATIONS * CASES * REPETITIONS
    page.goto(f"{url}/#/batches/{batch_id}")
    page.wait_for_selector(f"#grid-total:has-text('{total} rows match')")
    page.wait_for_selector("#comparison table")
    page.wait_for_selector("#pairs select[name=a]")


def measurements(page: Page, url: str, execution_id: str, batch_id: str) -> dict[str, float]:
    out: dict[str, float] = {}

    def goto(path: str, ready: str) -> Callable[[], None]:
        def action() -> None:
            page.goto(url + path)
            page.wait_for_selector(ready)

        return action

    out["executions list"] = timed(goto("/#/executions", "#executions tbody tr[data-execution]"))
    out["  filter: status=completed"] = timed(
        lambda: (
            page.select_option("select[name=status]", "completed"),
            page.wait_for_function("location.hash.includes('status=completed')"),
            page.wait_for_selector("#executions tbody tr[data-status=completed]"),
        )
    )
    out[f"execution ({CHECKPOINTS} checkpoints)"] = timed(
        goto(f"/#/executions/{execution_id}", f"ol.timeline[data-checkpoints='{CHECKPOINTS}']")
    )
    out["  select a checkpoint"] = timed(
        lambda: (
            page.locator("ol.timeline li.cp").nth(CHECKPOINTS // 2).click(),
            page.wait_for_selector("ol.timeline li.cp.selected >> nth=0"),
            page.wait_for_selector(".detail table.diff, .detail p.muted"),
        )
    )
    total = COMBINATIONS * CASES * REPETITIONS

    out[f"batch ({total} rows: comparison + grid)"] = timed(lambda: batch_page(page, url, batch_id))

    def grid_change(change: Callable[[], None]) -> Callable[[], None]:
        def action() -> None:
            before = page.inner_text("#grid-total")
            change()
            page.wait_for_function(
                "(b) => { const t = document.querySelector('#grid-total');"
                " return !!t && t.innerText !== b; }",
                arg=before,
            )

        return action

    out["  filter: failures only"] = timed(
        grid_change(lambda: page.check("#grid input[name=failures]"))
    )
    page.uncheck("#grid input[name=failures]")
    page.wait_for_selector(f"#grid-total:has-text('{total} rows match')")
    out["  filter: one combination"] = timed(
        grid_change(lambda: page.select_option("#grid select[name=combination]", "answer=v3"))
    )
    page.select_option("#grid select[name=combination]", "")
    page.wait_for_selector(f"#grid-total:has-text('{total} rows match')")
    page.select_option("#grid select[name=metric]", "exact_match")
    out["  filter: exact_match below 0.5"] = timed(
        grid_change(
            lambda: (
                page.fill("#grid input[name=below]", "0.5"),
                page.press("#grid input[name=below]", "Enter"),
            )
        )
    )
    out["project page (graph drawn)"] = timed(goto("/#/projects/wide", "#graph svg"))
    out["batches list"] = timed(goto("/#/batches", f"tr[data-batch='{batch_id}']"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="wtb-dashboard-bench-"))
    execution_id, batch_id = seed(data_dir)
    bench = WTBTestBench(data_dir=data_dir, load_entrypoints=False)
    projects(bench)
    server = serve_in_thread(bench)
    samples: dict[str, list[float]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=args.chromium, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            cold = timed(lambda: batch_page(page, server.url, batch_id))
            measurements(page, server.url, execution_id, batch_id)  # warm-up (caches, JIT)
            for _ in range(args.rounds):
                for name, value in measurements(page, server.url, execution_id, batch_id).items():
                    samples.setdefault(name, []).append(value)
            browser.close()
    finally:
        server.stop()
        bench.close()
    print(f"headless Chromium, {args.rounds} rounds; each must stay under {LIMIT_MS:.0f} ms")
    print(
        f"  batch page, first view of a batch run by another process (its comparison stored "
        f"with it): {cold:.0f} ms  {cold / LIMIT_MS:5.2f}x the limit"
    )
    worst = cold
    for name, values in samples.items():
        p50, top = statistics.median(values), max(values)
        worst = max(worst, top)
        print(
            f"  {name:38s} p50 {p50:7.1f} ms  max {top:7.1f} ms  {top / LIMIT_MS:5.2f}x the limit"
        )
    print("all under the limit" if worst < LIMIT_MS else f"OVER THE LIMIT: worst {worst:.0f} ms")


if __name__ == "__main__":
    main()
