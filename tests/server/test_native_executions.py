"""The native API's executions: run (wait or 202), list with cursor paging, read, delete and
the errors — through the real server, compared with what the SDK says."""

from __future__ import annotations

import time

import httpx
import pytest

from tests import workflows
from wtb_core.server.settings import ServeSettings
from wtb_core.server.threaded import serve_in_thread as serve

API = "/api/v1"
STOPPED = {"completed", "failed", "paused", "cancelled"}


def poll(http: httpx.Client, execution_id: str, statuses=STOPPED, timeout: float = 10.0) -> dict:
    """The execution once its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        body = http.get(f"{API}/executions/{execution_id}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"still {body['status']}"
        time.sleep(0.02)


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def sdk(result) -> dict:
    """An SDK result as the API renders it, without its timestamps (a result returned by
    ``run`` carries the in-memory ones, a read of the same execution the stored ones)."""
    return untimed(result.model_dump(mode="json"))


def untimed(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("created_at", "updated_at")}


def run(http: httpx.Client, project: str = "linear", **body) -> dict:
    response = http.post(
        f"{API}/executions", params={"wait": True}, json={"project": project, **body}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_run_with_wait_answers_its_result(live, http):
    body = run(http, initial_state={"query": "hi"})
    assert body["status"] == "completed"
    assert body["state"]["log"] == ["retrieve", "grade", "generate"]
    assert untimed(body) == sdk(live.bench.get_execution(body["execution_id"]))


def test_a_run_answers_202_with_its_location_and_runs_on(live, http):
    response = http.post(f"{API}/executions", json={"project": "chain10"})
    assert response.status_code == 202
    started = response.json()
    assert started["status"] in ("running", "completed")
    assert response.headers["Location"] == f"{API}/executions/{started['execution_id']}"
    done = poll(http, started["execution_id"], {"completed"})
    assert done["state"]["n"] == 10
    assert http.get(response.headers["Location"]).json() == done


def test_checkpoints_state_diff_audit_and_files_match_the_sdk(live, http):
    execution_id = run(http, initial_state={"query": "hi"})["execution_id"]
    bench = live.bench
    checkpoints = http.get(f"{API}/executions/{execution_id}/checkpoints").json()
    assert checkpoints == [c.model_dump(mode="json") for c in bench.get_checkpoints(execution_id)]
    assert [c["nodes"] for c in checkpoints][-3:] == [["retrieve"], ["grade"], ["generate"]]

    middle = checkpoints[2]["checkpoint_id"]
    state = http.get(f"{API}/executions/{execution_id}/state", params={"checkpoint_id": middle})
    assert state.json() == {
        "execution_id": execution_id,
        "checkpoint_id": middle,
        "values": bench.get_state(execution_id, middle),
    }
    head = http.get(f"{API}/executions/{execution_id}/state").json()
    assert head["values"] == bench.get_state(execution_id)

    first = checkpoints[0]["checkpoint_id"]
    diff = http.get(f"{API}/executions/{execution_id}/diff", params={"from": middle}).json()
    assert diff["from_checkpoint"] == middle
    assert diff["to_checkpoint"] == checkpoints[-1]["checkpoint_id"]
    assert diff["changes"] == [
        {"key": "log", "change": "changed", "before": ["retrieve"],
         "after": ["retrieve", "grade", "generate"]},
        {"key": "n", "change": "changed", "before": 1, "after": 3},
    ]  # fmt: skip
    added = http.get(
        f"{API}/executions/{execution_id}/diff", params={"from": first, "to": middle}
    ).json()
    assert added["changes"] == [  # from the input checkpoint, {"log": []}
        {"key": "log", "change": "changed", "before": [], "after": ["retrieve"]},
        {"key": "n", "change": "added", "before": None, "after": 1},
        {"key": "query", "change": "added", "before": None, "after": "hi"},
    ]
    assert (
        http.get(
            f"{API}/executions/{execution_id}/diff", params={"from": middle, "to": middle}
        ).json()["changes"]
        == []
    )

    audit = http.get(f"{API}/executions/{execution_id}/audit").json()
    assert audit == [a.model_dump(mode="json") for a in bench.audit(execution_id)]
    assert audit[0]["event_type"] == "execution_started"
    assert http.get(f"{API}/executions/{execution_id}/files").json() == []


def test_paging_with_a_cursor_lists_every_execution_once(live, http):
    bench = live.bench
    for i in range(7):
        bench.run("linear" if i % 2 else "chain10", {})
    expected = [r.execution_id for r in bench.list_executions()]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = http.get(f"{API}/executions", params=params).json()
        seen += [item["execution_id"] for item in page["items"]]
        pages += 1
        if pages == 1:  # created meanwhile: lands before the first page, breaks no page
            bench.run("linear", {})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 3

    linear = http.get(f"{API}/executions", params={"project": "linear", "limit": 100}).json()
    assert [i["execution_id"] for i in linear["items"]] == [
        r.execution_id for r in bench.list_executions(project="linear")
    ]
    assert linear["next_cursor"] is None
    paused = http.get(f"{API}/executions", params={"status": "paused"}).json()
    assert paused == {"items": [], "next_cursor": None}


def test_listing_filters_by_variant_batch_fork_parent_and_text(live, http):
    bench = live.bench
    bench.get_project("linear").register_variant("generate", "echo", workflows.echo_answer)
    plain = bench.run("linear", {"query": "Needle in a haystack"})
    echoed = bench.run("linear", {"query": "hay"}, variant_config={"generate": "echo"})
    checkpoints = bench.get_checkpoints(plain.execution_id)
    fork = bench.fork(plain.execution_id, checkpoints[1].checkpoint_id)
    batch = bench.run_batch_test("linear", [{}], [{"query": "batched"}], repetitions=2)
    listed = f"{API}/executions"

    def ids(**params: object) -> list[str]:
        return [i["execution_id"] for i in http.get(listed, params=params).json()["items"]]

    assert ids(variant="generate=echo") == [echoed.execution_id]
    assert ids(batch=batch.batch_id) == sorted(
        (r.execution_id for r in batch.results),
        key=lambda e: ids(project="linear").index(e),
    )
    assert len(ids(batch=batch.batch_id)) == 2
    assert ids(parent=plain.execution_id) == [fork.execution_id]
    assert set(ids(q="nEEDLE")) == {plain.execution_id, fork.execution_id}
    assert ids(q="100%") == []  # LIKE wildcards are literal
    assert ids(q="needle", variant="generate=echo") == []
    assert error_of(http.get(listed, params={"variant": "generate"}), 422)["type"] == (
        "InvalidInputError"
    )


def test_delete_removes_an_execution(live, http):
    execution_id = run(http)["execution_id"]
    deleted = http.delete(f"{API}/executions/{execution_id}")
    assert deleted.json() == {"execution_id": execution_id, "deleted": True}
    assert error_of(http.get(f"{API}/executions/{execution_id}"), 404)["type"] == (
        "ExecutionNotFoundError"
    )
    assert error_of(http.delete(f"{API}/executions/{execution_id}"), 404)


@pytest.mark.parametrize(
    "path",
    ["", "/checkpoints", "/state", "/diff?from=x", "/audit", "/files"],
)
def test_an_unknown_execution_is_a_typed_404(http, path):
    error = error_of(http.get(f"{API}/executions/nope{path}"), 404)
    assert error["type"] == "ExecutionNotFoundError"
    assert "nope" in error["message"]


def test_unknown_checkpoints_are_404(http):
    execution_id = run(http)["execution_id"]
    for path in ("/state?checkpoint_id=nope", "/diff?from=nope"):
        error = error_of(http.get(f"{API}/executions/{execution_id}{path}"), 404)
        assert error["type"] == "CheckpointNotFoundError"


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"{not json", "JSON"),
        (b'{"project": 5}', "project"),
        (b'{"project": "linear", "initial_state": []}', "initial_state"),
        (b'{"project": "linear", "variant_config": {"grade": 1}}', "variant_config"),
        (b'{"project": "linear", "varaint_config": {}}', "varaint_config"),
        (b"{}", "project"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(http, content, where):
    response = http.post(
        f"{API}/executions", content=content, headers={"Content-Type": "application/json"}
    )
    error = error_of(response, 422)
    assert error["type"] == "ValidationError"
    assert where in error["message"]


def test_refused_arguments_are_typed_and_store_nothing(live, http):
    post = lambda **body: http.post(f"{API}/executions", json=body)  # noqa: E731
    assert error_of(post(project="nope"), 404)["type"] == "ProjectNotFoundError"
    error = error_of(post(project="linear", variant_config={"grade": "nope"}), 422)
    assert error["type"] == "ProjectError"
    # Values that do not fit the graph are InvalidInputErrors (a kind of InvalidStateError).
    error = error_of(post(project="linear", breakpoints=["nope"]), 422)
    assert error["type"] == "InvalidInputError" and "nope" in error["message"]
    error = error_of(post(project="linear", initial_state={"unknown_key": 1}), 422)
    assert error["type"] == "InvalidInputError" and "unknown_key" in error["message"]
    assert live.bench.list_executions() == []


def test_bad_listing_parameters_are_422(http):
    for params in ({"status": "sleeping"}, {"limit": 0}, {"limit": "many"}):
        assert error_of(http.get(f"{API}/executions", params=params), 422)
    error = error_of(http.get(f"{API}/executions", params={"cursor": "garbage!"}), 422)
    assert error["type"] == "InvalidCursorError"


def test_a_start_with_every_worker_busy_is_503(served_bench):
    server = serve(served_bench, ServeSettings(port=0, workers=1, queue=0))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            started = http.post(f"{API}/executions", json={"project": "slow"})
            assert started.status_code == 202
            assert workflows.STARTED.wait(5)
            busy = http.post(f"{API}/executions", json={"project": "linear"})
            assert error_of(busy, 503)["type"] == "ServerBusyError"
            workflows.GATE.set()
            assert poll(http, started.json()["execution_id"])["status"] == "completed"
    finally:
        server.stop()
