"""Runs of the LangGraph-compatible API, driven by the real ``langgraph_sdk`` client over
a real uvicorn server, compared with what the bench itself says of the executions."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

from tests import workflows
from tests.conftest import register
from wtb_core.domain.models import ExecutionStatus


@pytest.fixture
def client(live):
    return get_sync_client(url=live.url, api_key=None)


def _refusal(call, *args, **kwargs):
    """``runs.wait`` raises httpx's own error (the SDK reads it as a stream): its status and
    the typed body's message."""
    with pytest.raises(httpx.HTTPStatusError) as refused:
        call(*args, **kwargs)
    response = refused.value.response
    return response.status_code, response.json()["error"]["message"]


def _history_ids(client, thread_id):
    return [
        s["checkpoint"]["checkpoint_id"] for s in client.threads.get_history(thread_id, limit=100)
    ]


def test_a_streamed_run_to_an_interrupt_and_its_resume(client, served_bench):
    thread = client.threads.create()
    tid = thread["thread_id"]
    created = []
    parts = list(
        client.runs.stream(
            tid,
            "human",
            input={"query": "q"},
            stream_mode=["values", "updates", "debug"],
            on_run_created=created.append,
        )
    )
    assert parts[0].event == "metadata"
    run_id = parts[0].data["run_id"]
    assert created == [{"run_id": run_id, "thread_id": tid}]
    events = {p.event for p in parts}
    assert events == {"metadata", "values", "updates", "debug"}
    assert parts[1].event == "debug" and parts[1].data["type"] == "checkpoint"

    execution = served_bench.get_execution(tid)  # thread id = execution id
    assert execution.status is ExecutionStatus.PAUSED
    (pending,) = execution.interrupts
    last_values = [p.data for p in parts if p.event == "values"][-1]
    assert last_values == {
        **execution.state,
        "__interrupt__": [{"value": pending.value, "id": pending.id, "response_schema": None}],
    }
    assert {"__interrupt__": last_values["__interrupt__"]} in [
        p.data for p in parts if p.event == "updates"
    ]
    checkpoints = [
        p.data["payload"]["checkpoint"]["checkpoint_id"]
        for p in parts
        if p.event == "debug" and p.data["type"] == "checkpoint"
    ]
    assert checkpoints == [c.checkpoint_id for c in served_bench.get_checkpoints(tid)]
    debug_threads = {
        p.data["payload"]["config"]["configurable"]["thread_id"]
        for p in parts
        if p.event == "debug" and p.data["type"] == "checkpoint"
    }
    assert debug_threads == {tid}
    run = client.runs.get(tid, run_id)
    assert (run["status"], run["thread_id"]) == ("success", tid)
    assert client.threads.get(tid)["status"] == "interrupted"
    assert client.threads.get(tid)["interrupts"].popitem()[1] == [
        {"value": pending.value, "id": pending.id}
    ]

    resumed = list(client.runs.stream(tid, "human", command={"resume": "yes"}))
    assert resumed[-1].data == served_bench.get_state(tid)
    assert resumed[-1].data["answer"] == "yes"
    assert served_bench.get_execution(tid).status is ExecutionStatus.COMPLETED
    assert client.threads.get(tid)["status"] == "idle"
    assert len(client.runs.list(tid)) == 2


def test_the_wire_is_the_agent_servers(live, http):
    http.post("/threads", json={"thread_id": "wire"})
    body = {"assistant_id": "linear", "input": {"query": "q"}, "stream_mode": "updates"}
    with http.stream("POST", "/threads/wire/runs/stream", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "location" not in response.headers
        location = response.headers["content-location"]
        text = response.read().decode()
    frames = [f for f in text.split("\r\n\r\n") if f]
    assert frames[0].startswith("event: metadata\r\ndata: {")
    assert [f.split("\r\n")[0] for f in frames[1:]] == ["event: updates"] * 3
    run_id = location.rsplit("/", 1)[1]
    assert location == f"/threads/wire/runs/{run_id}"
    assert http.get(location).json()["status"] == "success"
    waited = http.post("/threads/wire/runs/wait", json={"assistant_id": "linear", "input": {}})
    assert waited.headers["content-location"].startswith("/threads/wire/runs/")
    assert waited.json()["log"] == ["retrieve", "grade", "generate"] * 2


def test_wait_create_join_and_a_stateless_run(client, served_bench):
    values = client.runs.wait(None, "linear", input={"query": "q"})
    assert values["log"] == ["retrieve", "grade", "generate"]
    (thread,) = client.threads.search(metadata={"graph_id": "linear"})
    assert served_bench.get_state(thread["thread_id"]) == values

    tid = client.threads.create(metadata={"user": "ann"})["thread_id"]
    run = client.runs.create(tid, "linear", input={"query": "bg"})
    assert run["status"] in ("running", "success")
    joined = client.runs.join(tid, run["run_id"])
    assert joined == served_bench.get_state(tid)
    assert client.runs.get(tid, run["run_id"])["status"] == "success"
    assert client.threads.get(tid)["metadata"]["user"] == "ann"


def test_a_run_from_a_past_checkpoint_branches_as_a_rollback_does(client, served_bench):
    tid = client.threads.create()["thread_id"]
    client.runs.wait(tid, "linear", input={"query": "q"})
    after_retrieve = served_bench.get_checkpoints(tid)[2]
    workflows.CALLS.clear()
    values = client.runs.wait(tid, "linear", checkpoint_id=after_retrieve.checkpoint_id)
    assert workflows.CALLS == ["grade", "generate"]

    reference = served_bench.run("linear", {"query": "q"})
    cp = served_bench.get_checkpoints(reference.execution_id)[2]
    served_bench.rollback(reference.execution_id, cp.checkpoint_id)
    expected = served_bench.resume(reference.execution_id)
    assert values == expected.state
    api_lineage = [(c.step, c.source, c.nodes) for c in served_bench.get_checkpoints(tid)]
    ref_lineage = [
        (c.step, c.source, c.nodes) for c in served_bench.get_checkpoints(reference.execution_id)
    ]
    assert api_lineage == ref_lineage
    assert after_retrieve.checkpoint_id in [
        c.checkpoint_id for c in served_bench.get_checkpoints(tid)
    ]
    history = _history_ids(client, tid)  # LangGraph's history: both branches
    assert len(history) == len(served_bench.get_checkpoints(tid, all_branches=True))


def test_interrupt_before_pauses_and_the_next_run_continues(client, served_bench):
    tid = client.threads.create()["thread_id"]
    values = client.runs.wait(tid, "linear", input={"query": "q"}, interrupt_before=["grade"])
    assert values["log"] == ["retrieve"]
    state = client.threads.get_state(tid)
    assert state["next"] == ["grade"]
    assert client.threads.get(tid)["status"] == "interrupted"
    assert client.runs.wait(tid, "linear")["log"] == ["retrieve", "grade", "generate"]
    assert served_bench.get_execution(tid).status is ExecutionStatus.COMPLETED


def test_a_new_input_on_a_finished_thread_is_its_next_turn(client, served_bench):
    tid = client.threads.create()["thread_id"]
    client.runs.wait(tid, "linear", input={"query": "one"})
    assert client.runs.wait(tid, "linear")["log"] == [
        "retrieve",
        "grade",
        "generate",
    ]  # nothing ran
    values = client.runs.wait(tid, "linear", input={"query": "two"})
    assert values["query"] == "two"
    assert values["log"] == ["retrieve", "grade", "generate"] * 2
    assert served_bench.get_state(tid) == values


def test_a_failing_node_is_an_error_event(client, served_bench):
    tid = client.threads.create()["thread_id"]
    parts = list(client.runs.stream(tid, "failing", input={"query": "q"}))
    assert parts[-1].event == "error"
    assert parts[-1].data == {"error": "ValueError", "message": "flaky node failed on purpose"}
    (run,) = client.runs.list(tid)
    assert run["status"] == "error"
    thread = client.threads.get(tid)
    assert thread["status"] == "error"
    assert served_bench.get_execution(tid).status is ExecutionStatus.FAILED
    with pytest.raises(Exception, match="ValueError: flaky node failed on purpose"):
        client.runs.wait(tid, "failing")
    workflows.FAIL["flaky"] = False
    assert client.runs.wait(tid, "failing")["log"] == ["first", "flaky", "last"]


def test_a_busy_thread_refuses_a_second_run_and_a_cancel_pauses_it(client, served_bench):
    tid = client.threads.create()["thread_id"]
    run = client.runs.create(tid, "slow", input={"query": "q"})
    assert workflows.STARTED.wait(10)
    assert client.runs.get(tid, run["run_id"])["status"] == "running"
    assert client.threads.get(tid)["status"] == "busy"
    with pytest.raises(ConflictError, match="while it runs"):
        client.runs.create(tid, "slow", input={"query": "again"})
    client.runs.cancel(tid, run["run_id"])
    workflows.GATE.set()
    client.runs.join(tid, run["run_id"])
    assert client.runs.get(tid, run["run_id"])["status"] == "interrupted"
    execution = served_bench.get_execution(tid)
    assert (execution.status, execution.next) == (ExecutionStatus.PAUSED, ("after",))
    with pytest.raises(ConflictError, match="only a pending or running run"):
        client.runs.cancel(tid, run["run_id"])
    assert client.runs.wait(tid, "slow")["log"] == ["first", "slow", "after", "last"]
    assert [r["status"] for r in client.runs.list(tid)] == ["success", "interrupted"]


def test_a_variant_is_chosen_in_the_configurable(client, served_bench):
    served_bench.get_project("linear").register_variant("generate", "echo", workflows.echo_answer)
    config = {"configurable": {"wtb_variants": {"generate": "echo"}}}
    tid = client.threads.create()["thread_id"]
    values = client.runs.wait(tid, "linear", input={"query": "hi"}, config=config)
    assert values["answer"] == "echo: hi"
    assert served_bench.get_execution(tid).variant_config == {"generate": "echo"}
    schemas = client.assistants.get_schemas("linear")
    assert schemas["config_schema"]["properties"]["wtb_variants"]["properties"]["generate"][
        "enum"
    ] == ["default", "echo"]
    other = {"configurable": {"wtb_variants": {}}}
    status, message = _refusal(client.runs.wait, tid, "linear", input={}, config=other)
    assert status == 422 and "variant selection applies" in message
    unknown = {"wtb_variants": {"generate": "x"}}
    status, message = _refusal(client.runs.wait, None, "linear", input={}, context=unknown)
    assert status == 422 and "'x'" in message


def test_refused_runs_say_why_and_leave_no_run(client, live):
    tid = client.threads.create()["thread_id"]
    with pytest.raises(UnprocessableEntityError, match="stream_mode 'events' is not served"):
        list(client.runs.stream(tid, "linear", input={}, stream_mode="events"))
    with pytest.raises(UnprocessableEntityError, match="nothing waits for a resume"):
        list(client.runs.stream(tid, "human", command={"resume": "x"}))
    with pytest.raises(UnprocessableEntityError, match=r"command\.goto is not served"):
        list(client.runs.stream(tid, "human", command={"goto": "ask"}))
    with pytest.raises(UnprocessableEntityError, match="interrupt_after is not served"):
        list(client.runs.stream(tid, "human", input={}, interrupt_after=["ask"]))
    with pytest.raises(NotFoundError, match="assistant 'nope' not found"):
        list(client.runs.stream(tid, "nope", input={}))
    with pytest.raises(NotFoundError, match="thread 'missing' not found"):
        list(client.runs.stream("missing", "linear", input={}))
    assert _refusal(client.runs.wait, "missing", "linear", input={})[0] == 404
    with pytest.raises(NotFoundError):
        client.runs.get(tid, "no-such-run")
    client.runs.wait(tid, "human", input={"query": "q"})
    status, message = _refusal(client.runs.wait, tid, "linear", input={})
    assert status == 422 and "runs project 'human'" in message
    status, message = _refusal(client.runs.wait, tid, "human")
    assert status == 409 and "waiting for an answer" in message
    assert len(client.runs.list(tid)) == 1
    body = httpx.post(f"{live.url}/threads/{tid}/runs/wait", json={"assistant_id": "human", "x": 1})
    assert body.status_code == 422
    assert body.json()["error"]["type"] == "ValidationError"


def test_cancel_with_wait_answers_the_values_it_stopped_with(client, served_bench, monkeypatch):
    workflows.open_gate_once_asked(monkeypatch, served_bench)
    tid = client.threads.create()["thread_id"]
    run = client.runs.create(tid, "slow", input={"query": "q"})
    assert workflows.STARTED.wait(10)
    values = client.runs.cancel(tid, run["run_id"], wait=True)
    assert values == served_bench.get_state(tid)
    assert values["log"] == ["first", "slow"]
    assert served_bench.get_execution(tid).status is ExecutionStatus.PAUSED
    with pytest.raises(ConflictError, match="only a pending or running run"):
        client.runs.cancel(tid, run["run_id"], action="rollback")


def test_a_client_that_leaves_a_cancel_on_disconnect_stream_pauses_the_run(
    live, http, served_bench, monkeypatch
):
    workflows.open_gate_once_asked(monkeypatch, served_bench)
    http.post("/threads", json={"thread_id": "leaving"})
    body = {"assistant_id": "slow", "input": {}, "on_disconnect": "cancel"}
    with http.stream("POST", "/threads/leaving/runs/stream", json=body) as response:
        lines = response.iter_lines()  # kept: a dropped iterator closes the connection
        assert next(lines) == "event: metadata"
        run_id = json.loads(next(lines).removeprefix("data: "))["run_id"]
        assert workflows.STARTED.wait(10)
    active = live.server.config.app.state.langgraph_api.active(run_id)
    deadline = time.monotonic() + 10
    while not active.cancelled:  # the server saw the client leave
        assert time.monotonic() < deadline
        time.sleep(0.01)
    while served_bench.get_execution("leaving").status is ExecutionStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    execution = served_bench.get_execution("leaving")
    assert (execution.status, execution.next) == (ExecutionStatus.PAUSED, ("after",))


def reporting():
    """start -> report (writes custom stream chunks)."""
    builder = StateGraph(workflows.State)

    def report(state):
        get_stream_writer()({"progress": 0.5})
        return {"log": ["report"]}

    builder.add_node("start", workflows.tag("start"))
    builder.add_node("report", report)
    builder.add_edge(START, "start")
    builder.add_edge("start", "report")
    builder.add_edge("report", END)
    return builder


def test_custom_checkpoints_and_tasks_modes(client, served_bench):
    register(served_bench, reporting)
    parts = list(
        client.runs.stream(
            None, "reporting", input={}, stream_mode=["custom", "checkpoints", "tasks"]
        )
    )
    assert {"event": "custom", "data": {"progress": 0.5}} in [
        {"event": p.event, "data": p.data} for p in parts
    ]
    checkpoints = [p.data for p in parts if p.event == "checkpoints"]
    tid = checkpoints[0]["config"]["configurable"]["thread_id"]
    assert [c["checkpoint"]["checkpoint_id"] for c in checkpoints] == [
        c.checkpoint_id for c in served_bench.get_checkpoints(tid)
    ]
    tasks = [p.data["name"] for p in parts if p.event == "tasks"]
    assert tasks == ["start", "start", "report", "report"]  # started, finished
