"""Batches over HTTP: started on the pool without holding other requests, rows paged and
filtered, the comparison, cancel and resume, and the errors."""

from __future__ import annotations

import time

import httpx
import pytest

from tests import workflows
from tests.server.test_native_executions import API, error_of

CASES = [
    {"inputs": {"query": "a"}, "expected": {"answer": "echo: a"}, "name": "a"},
    {"inputs": {"query": "b"}, "expected": {"answer": "echo: b"}, "name": "b"},
    {"query": "plain"},
]


def poll_batch(http: httpx.Client, batch_id: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = http.get(f"{API}/batches/{batch_id}").json()
        if body["status"] != "running":
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


@pytest.fixture
def echo(live):
    """The ``linear`` project with a variant of ``generate`` that answers with the query."""
    live.bench.get_project("linear").register_variant("generate", "echo", workflows.echo_answer)


def start(http: httpx.Client, **body) -> str:
    response = http.post(f"{API}/batches", json=body)
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "running"
    assert response.headers["Location"] == f"{API}/batches/{started['batch_id']}"
    return str(started["batch_id"])


def test_a_batch_runs_on_the_pool_while_other_requests_are_answered(live, http):
    batch_id = start(
        http, project="slow", variant_matrix=[{}], test_cases=[{"query": "x"}], runner="sequential"
    )
    assert workflows.STARTED.wait(5)  # its first cell holds its worker now
    for path in ("/healthz", f"{API}/executions", f"{API}/batches/{batch_id}", f"{API}/projects"):
        began = time.perf_counter()
        assert http.get(path).status_code == 200
        assert time.perf_counter() - began < 1.0, path
    assert http.get(f"{API}/batches/{batch_id}").json()["status"] == "running"
    other = http.post(f"{API}/executions", params={"wait": True}, json={"project": "linear"})
    assert other.json()["status"] == "completed"
    workflows.GATE.set()
    done = poll_batch(http, batch_id)
    assert done["status"] == "completed"
    assert done["finished_cells"] == done["total_cells"] == 1


def test_rows_are_filtered_and_paged_and_the_comparison_names_the_baseline(live, http, echo):
    batch_id = start(
        http,
        project="linear",
        variant_matrix=[{}, {"generate": "echo"}],
        test_cases=CASES,
        evaluators=["exact_match", "latency"],
        repetitions=2,
    )
    summary = poll_batch(http, batch_id)
    assert summary["status"] == "completed"
    assert summary["total_cells"] == summary["finished_cells"] == 12
    assert summary["failed_cells"] == 0
    assert summary["combination_labels"] == ["default", "generate=echo"]
    batch = live.bench.get_batch(batch_id)
    rows = http.get(f"{API}/batches/{batch_id}/rows").json()
    assert rows["total"] == 12 and rows["next_offset"] is None
    assert rows["items"] == [r.model_dump(mode="json") for r in batch.results]

    echo_rows = http.get(f"{API}/batches/{batch_id}/rows", params={"combination": "generate=echo"})
    as_entry = http.get(
        f"{API}/batches/{batch_id}/rows", params={"combination": '{"generate": "echo"}'}
    )
    assert echo_rows.json() == as_entry.json()
    assert [r["execution_id"] for r in echo_rows.json()["items"]] == [
        r.execution_id for r in batch.rows_for({"generate": "echo"})
    ]
    of_case = http.get(
        f"{API}/batches/{batch_id}/rows", params={"combination": "generate=echo", "case": "a"}
    ).json()
    assert of_case["total"] == 2
    assert all(r["scores"]["exact_match"] == 1.0 for r in of_case["items"])
    failed = http.get(f"{API}/batches/{batch_id}/rows", params={"status": "failed"}).json()
    assert failed == {"items": [], "total": 0, "offset": 0, "next_offset": None}

    seen, offset = [], 0
    while offset is not None:
        page = http.get(
            f"{API}/batches/{batch_id}/rows", params={"limit": 5, "offset": offset}
        ).json()
        seen += [(r["combination_index"], r["case_index"], r["repetition"]) for r in page["items"]]
        offset = page["next_offset"]
    assert seen == [(r.combination_index, r.case_index, r.repetition) for r in batch.results]

    by_case = http.get(f"{API}/batches/{batch_id}/rows", params={"order": "case"}).json()
    assert [
        (r["case_index"], r["combination_index"], r["repetition"]) for r in by_case["items"]
    ] == sorted((r.case_index, r.combination_index, r.repetition) for r in batch.results)
    misses = http.get(
        f"{API}/batches/{batch_id}/rows", params={"metric": "exact_match", "below": 0.5}
    ).json()
    expected = [r for r in batch.results if r.scores.get("exact_match", 1.0) < 0.5]
    assert 0 < misses["total"] == len(expected) < 12
    assert [r["execution_id"] for r in misses["items"]] == [r.execution_id for r in expected]

    comparison = http.get(f"{API}/batches/{batch_id}/comparison").json()
    assert comparison == batch.comparison().model_dump(mode="json")
    assert comparison["baseline_label"] == "default"
    against_echo = http.get(
        f"{API}/batches/{batch_id}/comparison", params={"baseline": "generate=echo"}
    ).json()
    assert against_echo["baseline_label"] == "generate=echo"
    [paired] = against_echo["paired"]
    assert paired["combination_label"] == "default"
    assert paired["metrics"]["exact_match"]["delta"] < 0

    listed = http.get(f"{API}/batches", params={"project": "linear"}).json()
    assert [b["batch_id"] for b in listed] == [batch_id]
    assert http.get(f"{API}/batches", params={"project": "chain10"}).json() == []


def test_cancel_and_resume(live, http):
    batch_id = start(
        http,
        project="slow",
        variant_matrix=[{}],
        test_cases=[{"query": "x"}, {"query": "y"}],
        runner="sequential",
    )
    assert workflows.STARTED.wait(5)
    cancelled = http.post(f"{API}/batches/{batch_id}/cancel")
    assert cancelled.status_code == 200
    workflows.GATE.set()
    stopped = poll_batch(http, batch_id)
    assert stopped["status"] == "cancelled"
    assert stopped["finished_cells"] == 1  # the cell in flight finished; none started after
    assert error_of(http.post(f"{API}/batches/{batch_id}/cancel"), 409)

    resumed = http.post(f"{API}/batches/{batch_id}/resume")
    assert resumed.status_code == 202
    finished = poll_batch(http, batch_id)
    assert finished["status"] == "completed" and finished["finished_cells"] == 2
    assert (
        "already completed"
        in error_of(http.post(f"{API}/batches/{batch_id}/cancel"), 409)["message"]
    )


@pytest.mark.parametrize(
    "path", ["", "/rows", "/comparison", "/cancel", "/resume"], ids=lambda p: p or "get"
)
def test_an_unknown_batch_is_a_typed_404(http, path):
    method = http.post if path in ("/cancel", "/resume") else http.get
    error = error_of(method(f"{API}/batches/nope{path}"), 404)
    assert error["type"] == "BatchNotFoundError"


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"project": "linear", "test_cases": [{}]}, 422, "ValidationError"),  # no matrix
        ({"project": "linear", "variant_matrix": {}, "test_cases": [{}]}, 422, "ValidationError"),
        ({"project": "linear", "variant_matrix": [{}], "test_cases": [{}], "repetitions": 0}, 422,
         "ValidationError"),
        ({"project": "nope", "variant_matrix": [{}], "test_cases": [{}]}, 404,
         "ProjectNotFoundError"),
        ({"project": "linear", "variant_matrix": [{}], "test_cases": []}, 422,
         "ConfigurationError"),
        ({"project": "linear", "variant_matrix": [{"grade": "nope"}], "test_cases": [{}]}, 422,
         "ProjectError"),
        ({"project": "linear", "variant_matrix": [{}], "test_cases": [{}],
          "evaluators": ["no_such_metric"]}, 422, "PluginNotFoundError"),
    ],
)  # fmt: skip
def test_a_refused_batch_is_typed_and_stores_nothing(live, http, body, status, kind):
    assert error_of(http.post(f"{API}/batches", json=body), status)["type"] == kind
    assert live.bench.list_batches() == []


def test_bad_row_and_comparison_filters_are_422(live, http):
    batch_id = start(http, project="linear", variant_matrix=[{}], test_cases=[{"query": "x"}])
    poll_batch(http, batch_id)
    rows = f"{API}/batches/{batch_id}/rows"
    assert "default" in error_of(http.get(rows, params={"combination": "x=y"}), 422)["message"]
    assert error_of(http.get(rows, params={"combination": "{bad json"}), 422)
    assert error_of(http.get(rows, params={"status": "sleeping"}), 422)
    assert error_of(http.get(rows, params={"limit": 0}), 422)
    assert "below=" in error_of(http.get(rows, params={"metric": "exact_match"}), 422)["message"]
    assert error_of(http.get(rows, params={"metric": "m", "below": "low"}), 422)
    assert error_of(http.get(rows, params={"order": "random"}), 422)
    comparison = http.get(f"{API}/batches/{batch_id}/comparison", params={"baseline": "x=y"})
    assert error_of(comparison, 422)["type"] == "ConfigurationError"
