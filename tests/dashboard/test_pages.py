"""The dashboard in a real headless Chromium against a real ``wtb serve``: what a person
sees and does on each page."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import ARTIFACTS, Served
from wtb_core import WTBTestBench
from wtb_core.server.settings import ServeSettings
from wtb_core.server.threaded import serve_in_thread

API = "/api/v1"
CASES = [
    {"inputs": {"query": "a"}, "expected": {"answer": "echo: a"}, "name": "a"},
    {"inputs": {"query": "b"}, "expected": {"answer": "echo: b"}, "name": "b"},
    {"inputs": {"query": "c"}, "expected": {"answer": "nothing like it"}, "name": "c"},
]


def run(served: Served, project: str, state: dict[str, Any] | None = None) -> dict[str, Any]:
    response = served.http.post(
        f"{API}/executions",
        params={"wait": True},
        json={"project": project, "initial_state": state or {}},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def confirm(page: Page, says: str) -> None:
    expect(page.locator("#confirm-text")).to_contain_text(says)
    page.click("#confirm-ok")


def batch(served: Served, **body: Any) -> str:
    response = served.http.post(f"{API}/batches", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["batch_id"])


def finished(served: Served, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        summary = dict(served.http.get(f"{API}/batches/{batch_id}").json())
        if summary["status"] != "running":
            return summary
        assert time.monotonic() < deadline, summary
        time.sleep(0.05)


def leaves(checkpoints: list[dict[str, Any]]) -> int:
    parents = {c["parent_checkpoint_id"] for c in checkpoints}
    return sum(1 for c in checkpoints if c["checkpoint_id"] not in parents)


def test_the_timeline_shows_every_checkpoint_and_branch_after_a_rollback_and_a_fork(
    page: Page, served: Served
):
    done = run(served, "linear", {"query": "timeline"})
    eid = done["execution_id"]
    base = f"{API}/executions/{eid}"
    cps = served.http.get(f"{base}/checkpoints").json()
    assert (
        served.http.post(
            f"{base}/rollback", json={"checkpoint_id": cps[2]["checkpoint_id"]}
        ).status_code
        == 200
    )
    assert served.http.post(f"{base}/resume", params={"wait": True}, json={}).status_code == 200
    fork = served.http.post(f"{base}/fork", json={"checkpoint_id": cps[1]["checkpoint_id"]}).json()
    every = served.http.get(f"{base}/checkpoints", params={"all_branches": True}).json()
    assert leaves(every) == 2

    page.goto(f"{served.url}/#/executions/{eid}")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_have_attribute("data-checkpoints", str(len(every)))
    expect(timeline).to_have_attribute("data-branches", "2")
    expect(page.locator("ol.timeline li.cp")).to_have_count(len(every))
    expect(page.locator("ol.timeline li.head")).to_have_attribute(
        "data-checkpoint", served.http.get(base).json()["checkpoint_id"]
    )
    expect(page.locator("ol.timeline li.branch-start")).to_have_count(1)
    expect(page.locator(".forks a")).to_have_text(fork["execution_id"][:8])

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "execution-timeline.png"), full_page=True)
    page.reload()  # a stable URL: the same page after a reload
    expect(page.locator("ol.timeline")).to_have_attribute("data-branches", "2")
    page.click(".forks a")
    expect(page).to_have_url(re.compile(f"#/executions/{fork['execution_id']}"))
    expect(page.locator(".header")).to_contain_text("Forked from")


@pytest.mark.parametrize("project", ["parallel", "fan_out"])
def test_a_parallel_super_step_is_one_step_with_several_nodes(
    page: Page, served: Served, project: str
):
    done = run(served, project, {"query": "q"})
    cps = served.http.get(f"{API}/executions/{done['execution_id']}/checkpoints").json()
    parallel = [c for c in cps if len(c["nodes"]) > 1]
    assert parallel  # LangGraph wrote the fan-out as one super-step
    page.goto(f"{served.url}/#/executions/{done['execution_id']}")
    expect(page.locator("ol.timeline li.cp")).to_have_count(len(cps))
    steps = page.locator("ol.timeline li.cp.parallel")
    expect(steps).to_have_count(len(parallel))
    for c in parallel:
        step = page.locator(f"li.cp[data-checkpoint='{c['checkpoint_id']}'] .nodes")
        expect(step).to_have_text(" ‖ ".join(c["nodes"]))


def test_forking_from_the_page_with_an_edited_state_creates_an_execution_with_the_edit(
    page: Page, served: Served
):
    done = run(served, "linear", {"query": "original"})
    eid = done["execution_id"]
    cps = served.http.get(f"{API}/executions/{eid}/checkpoints").json()
    chosen = cps[2]["checkpoint_id"]
    page.goto(f"{served.url}/#/executions/{eid}")
    page.click(f"li.cp[data-checkpoint='{chosen}']")
    expect(page).to_have_url(re.compile(f"checkpoint={chosen}"))
    page.fill("textarea[name=fork-updates]", '{"query": "not valid json"')
    page.click("form.fork button")
    expect(page.locator(".error")).to_contain_text("not valid JSON")  # checked before sending
    page.fill("textarea[name=fork-updates]", '{"query": "edited"}')
    page.click("form.fork button")
    confirm(page, f"Fork a new execution from checkpoint {chosen[:8]} with edits to query")
    expect(page).not_to_have_url(re.compile(f"#/executions/{eid}"))
    fork_id = page.url.split("#/executions/")[1].split("?")[0]
    forked = served.http.get(f"{API}/executions/{fork_id}").json()
    assert forked["parent_execution_id"] == eid
    assert forked["state"]["query"] == "edited"
    expect(page.locator(".header")).to_contain_text("Forked from")


def test_answering_an_interrupt_from_the_page_completes_the_execution(page: Page, served: Served):
    paused = run(served, "human", {"query": "q"})
    assert paused["status"] == "paused" and paused["interrupts"]
    page.goto(f"{served.url}/#/executions/{paused['execution_id']}")
    expect(page.locator("form.resume .interrupts")).to_contain_text("approve?")
    expect(page.locator(".detail")).to_contain_text("Pending interrupts")
    page.fill("textarea[name=resume]", '"yes"')
    page.click("form.resume button")
    confirm(page, "Resume")
    expect(page.locator(".header .badge")).to_have_text("completed")
    result = served.http.get(f"{API}/executions/{paused['execution_id']}").json()
    assert result["status"] == "completed" and result["state"]["answer"] == "yes"


def test_a_batch_shows_its_progress_live_and_its_comparison_equals_the_sdk(
    page: Page, served: Served
):
    page.goto(f"{served.url}/#/batches")
    expect(page.locator("#batches")).to_be_visible()
    cases = [{"n": i} for i in range(8)]
    live_id = batch(
        served, project="napper", variant_matrix=[{}], test_cases=cases, runner="sequential"
    )
    bar = page.locator(f"tr[data-batch='{live_id}'] .progress")
    expect(bar).to_have_attribute("data-total", "8")
    seen: set[int] = set()
    while len(seen) < 3:  # the bar moves while the batch runs, without a reload
        seen.add(int(bar.get_attribute("data-done") or 0))
        page.wait_for_timeout(100)
    assert min(seen) < 8
    expect(bar).to_have_attribute("data-done", "8", timeout=30_000)
    expect(page.locator(f"tr[data-batch='{live_id}'] .badge")).to_have_text("completed")

    compared = batch(
        served, project="linear", variant_matrix=[{}, {"generate": "echo"}], test_cases=CASES,
        evaluators=["exact_match"], repetitions=2,
    )  # fmt: skip
    finished(served, compared)
    page.goto(f"{served.url}/#/batches/{compared}?baseline=generate%3Decho")
    with WTBTestBench(data_dir=served.data_dir, load_entrypoints=False) as bench:
        expected = bench.get_batch(compared).comparison({"generate": "echo"})
    paired = {p.combination_label: p for p in expected.paired}
    for stats in expected.combinations:
        row = page.locator(f"#comparison tr[data-combination='{stats.combination_label}']")
        expect(row.locator("[data-field=n]")).to_have_text(str(stats.n))
        expect(row.locator("[data-field=success]")).to_have_text(f"{stats.success_rate:.3f}")
        metric = stats.metrics["exact_match"]
        mean = f"{metric.mean:.3f}" + (
            f" [{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]" if metric.ci else ""
        )
        expect(row.locator("[data-field='exact_match.mean']")).to_have_text(mean)
        delta = paired.get(stats.combination_label)
        if delta is not None:
            d = delta.metrics["exact_match"]
            expect(row.locator("[data-field='exact_match.delta']")).to_have_text(f"{d.delta:.3f}")
            p_value = "–" if d.p_value is None else f"{d.p_value:.3f}"
            expect(row.locator("[data-field='exact_match.p']")).to_have_text(p_value)
    expect(page.locator("#comparison tr.baseline")).to_have_attribute(
        "data-combination", "generate=echo"
    )

    grid = page.locator("#grid")
    expect(grid.locator("#grid-total")).to_have_text("12 rows match")
    page.select_option("#grid select[name=metric]", "exact_match")
    page.fill("#grid input[name=below]", "0.5")
    page.press("#grid input[name=below]", "Enter")
    misses = served.http.get(
        f"{API}/batches/{compared}/rows", params={"metric": "exact_match", "below": 0.5}
    ).json()
    expect(grid.locator("#grid-total")).to_have_text(f"{misses['total']} rows match")
    expect(grid.locator(".cell")).to_have_count(misses["total"])
    grid.locator(".cell").first.click()
    expect(page).to_have_url(re.compile(f"#/executions/{misses['items'][0]['execution_id']}"))


def test_two_combinations_side_by_side_highlight_exactly_the_differing_keys(
    page: Page, served: Served
):
    compared = batch(
        served, project="linear", variant_matrix=[{}, {"generate": "echo"}], test_cases=CASES
    )
    finished(served, compared)
    rows = f"{API}/batches/{compared}/rows"
    left = served.http.get(rows, params={"combination": "default", "order": "case"}).json()["items"]
    right = served.http.get(rows, params={"combination": "generate=echo", "order": "case"}).json()[
        "items"
    ]
    page.goto(f"{served.url}/#/batches/{compared}?a=default&b=generate%3Decho")
    pairs = page.locator("#pairs .pair")
    expect(pairs).to_have_count(len(left))
    for a, b in zip(left, right, strict=True):
        differing = sorted(
            k for k in {*a["state"], *b["state"]} if a["state"].get(k) != b["state"].get(k)
        )
        assert differing  # the variant answers differently
        pair = page.locator(f"#pairs .pair[data-case='{a['case']}']")
        expect(pair).to_have_attribute("data-differs", ",".join(differing))
        marked = sorted(set(pair.locator("dt.differs").all_inner_texts()))
        assert marked == differing
        same = sorted(set(pair.locator("dt:not(.differs)").all_inner_texts()))
        assert same == sorted(k for k in a["state"] if k not in differing)


def test_the_executions_list_filters_by_status_and_keeps_the_filter_in_its_url(
    page: Page, served: Served
):
    run(served, "human", {"query": "waits"})
    run(served, "linear", {"query": "done"})
    page.goto(f"{served.url}/#/executions")
    expect(page.locator("#executions tbody tr").first).to_be_visible()
    page.select_option("select[name=status]", "paused")
    paused = served.http.get(f"{API}/executions", params={"status": "paused", "limit": 50}).json()
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(len(paused["items"]))
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.status)")) == {"paused"}
    expect(page).to_have_url(re.compile(r"status=paused"))
    page.reload()
    expect(page.locator("select[name=status]")).to_have_value("paused")
    expect(rows).to_have_count(len(paused["items"]))
    page.fill("input[name=q]", "WAITS")
    expect(rows).to_have_count(1)


def test_projects_show_their_graph_variants_and_versions(page: Page, served: Served):
    page.goto(f"{served.url}/#/projects/linear")
    expect(page.locator("#graph svg")).to_be_visible()
    expect(page.locator("#graph svg")).to_contain_text("generate")
    expect(page.locator("#variants")).to_contain_text("default, echo")
    expect(page.locator("#versions tbody tr")).to_have_count(1)


def test_api_errors_read_as_messages_not_blank_panels(page: Page, served: Served):
    page.goto(f"{served.url}/#/executions/no-such-execution")
    expect(page.locator(".error")).to_contain_text("ExecutionNotFoundError")
    page.goto(f"{served.url}/#/batches/no-such-batch")
    expect(page.locator(".error")).to_contain_text("BatchNotFoundError")
    page.goto(f"{served.url}/#/projects/nope")
    expect(page.locator(".error")).to_contain_text("ProjectNotFoundError")


@pytest.mark.parametrize("bad", ["wrong-token-0123456789"])
def test_a_server_with_a_token_asks_for_it_and_the_page_then_works(
    page: Page, bench: WTBTestBench, bad: str
):
    token = "dashboard-token-0123456789"
    server = serve_in_thread(bench, ServeSettings(port=0, token=token))
    try:
        page.goto(f"{server.url}/#/executions")
        expect(page.locator("form.token")).to_be_visible()
        page.fill("input[name=token]", bad)
        page.click("form.token button")
        expect(page.locator("form.token")).to_contain_text("refused")
        page.fill("input[name=token]", token)
        page.click("form.token button")
        expect(page.locator("#executions")).to_be_visible()
        expect(page.locator("#live")).to_have_text("live")
    finally:
        server.stop()
