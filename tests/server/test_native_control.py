"""Control calls over HTTP: resume answering an interrupt, pause and stop of an execution
running on the pool, rollback / fork / update_state — each compared with the SDK."""

from __future__ import annotations

import time

from tests import workflows
from tests.server.test_native_executions import API, error_of, poll, run, sdk, untimed


def test_an_interrupt_is_answered_with_resume(live, http):
    asked = run(http, "human")
    assert asked["status"] == "paused"
    [pending] = asked["interrupts"]
    assert pending["node"] == "ask" and pending["value"] == {"question": "approve?"}
    execution_id = asked["execution_id"]

    unanswered = http.post(f"{API}/executions/{execution_id}/resume")
    error = error_of(unanswered, 409)
    assert error["type"] == "InvalidStateError" and "resume=" in error["message"]

    resumed = http.post(f"{API}/executions/{execution_id}/resume", json={"resume": "yes"})
    assert resumed.status_code == 202
    assert resumed.headers["Location"] == f"{API}/executions/{execution_id}"
    done = poll(http, execution_id, {"completed"})
    assert done["state"]["answer"] == "yes"
    assert done["state"]["log"] == ["draft", "publish"]
    assert untimed(done) == sdk(live.bench.get_execution(execution_id))


def test_pause_of_a_running_execution_then_resume_to_completion(live, http):
    started = http.post(f"{API}/executions", json={"project": "slow"}).json()
    execution_id = started["execution_id"]
    assert workflows.STARTED.wait(5)
    asked = http.post(f"{API}/executions/{execution_id}/pause", params={"timeout": 0.1})
    assert asked.status_code == 202  # asked; the slow node still holds the boundary
    assert asked.json()["status"] == "running"
    workflows.GATE.set()
    paused = poll(http, execution_id, {"paused", "completed"})
    assert paused["status"] == "paused" and paused["next"] == ["after"]

    again = http.post(f"{API}/executions/{execution_id}/pause")  # paused already: unchanged
    assert again.status_code == 200 and again.json()["status"] == "paused"
    done = http.post(f"{API}/executions/{execution_id}/resume", params={"wait": True})
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert done.json()["state"]["log"] == ["first", "slow", "after", "last"]


def test_a_pause_right_after_the_202_reaches_the_run(live, http, monkeypatch):
    """The ``202`` comes once the execution is stored, before its drive starts: a pause
    sent at once waits for the drive instead of being refused as "not running"."""
    executions = live.bench.services.executions
    drive = executions._drive

    def late_drive(*args, **kwargs):  # failure injection: widen the stored-to-driven gap
        time.sleep(0.2)
        return drive(*args, **kwargs)

    monkeypatch.setattr(executions, "_drive", late_drive)
    for _ in range(3):
        workflows.GATE.clear()
        execution_id = http.post(f"{API}/executions", json={"project": "slow"}).json()[
            "execution_id"
        ]
        asked = http.post(f"{API}/executions/{execution_id}/pause", params={"timeout": 0})
        assert asked.status_code in (200, 202), asked.text
        workflows.GATE.set()
        paused = poll(http, execution_id, {"paused", "completed"})
        assert paused["status"] == "paused", paused


def test_stop_waits_for_the_node_boundary(live, http, monkeypatch):
    workflows.open_gate_once_asked(monkeypatch, live.bench)
    execution_id = http.post(f"{API}/executions", json={"project": "slow"}).json()["execution_id"]
    assert workflows.STARTED.wait(5)
    stopped = http.post(f"{API}/executions/{execution_id}/stop", params={"timeout": 10})
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "cancelled"
    error = error_of(http.post(f"{API}/executions/{execution_id}/resume"), 409)
    assert "stopped" in error["message"]
    assert error_of(http.post(f"{API}/executions/{execution_id}/stop"), 409)


def test_rollback_fork_and_update_state_equal_the_sdk(live, http):
    bench = live.bench
    execution_id = run(http, initial_state={"query": "hi"})["execution_id"]
    checkpoints = http.get(f"{API}/executions/{execution_id}/checkpoints").json()
    after_retrieve = next(c for c in checkpoints if c["nodes"] == ["retrieve"])["checkpoint_id"]

    rolled = http.post(
        f"{API}/executions/{execution_id}/rollback", json={"checkpoint_id": after_retrieve}
    )
    assert rolled.status_code == 200
    assert rolled.json()["status"] == "paused"
    assert rolled.json()["checkpoint_id"] == after_retrieve
    assert untimed(rolled.json()) == sdk(bench.get_execution(execution_id))

    forked = http.post(
        f"{API}/executions/{execution_id}/fork",
        json={"checkpoint_id": after_retrieve, "updates": {"query": "changed"}},
    )
    assert forked.status_code == 201
    fork = forked.json()
    assert forked.headers["Location"] == f"{API}/executions/{fork['execution_id']}"
    assert fork["parent_execution_id"] == execution_id
    assert fork["state"]["query"] == "changed"
    assert untimed(fork) == sdk(bench.get_execution(fork["execution_id"]))
    fork_checkpoints = http.get(f"{API}/executions/{fork['execution_id']}/checkpoints").json()
    assert fork_checkpoints == [
        c.model_dump(mode="json") for c in bench.get_checkpoints(fork["execution_id"])
    ]

    updated = http.post(
        f"{API}/executions/{fork['execution_id']}/state", json={"values": {"answer": "set"}}
    )
    assert updated.status_code == 200
    assert updated.json()["state"]["answer"] == "set"
    assert untimed(updated.json()) == sdk(bench.get_execution(fork["execution_id"]))
    assert bench.get_state(fork["execution_id"])["answer"] == "set"

    finished = http.post(
        f"{API}/executions/{fork['execution_id']}/resume", params={"wait": True}
    ).json()
    assert finished["status"] == "completed"
    assert finished["state"]["log"] == ["retrieve", "grade", "generate"]
    original = http.post(f"{API}/executions/{execution_id}/resume", params={"wait": True})
    assert original.json()["state"]["query"] == "hi"  # the fork never changed its parent


def test_control_calls_refuse_what_the_state_does_not_allow(live, http):
    execution_id = run(http)["execution_id"]  # completed
    post = lambda path, **kw: http.post(f"{API}/executions/{execution_id}/{path}", **kw)  # noqa: E731
    assert "completed" in error_of(post("resume"), 409)["message"]
    assert "only a running execution" in error_of(post("pause"), 409)["message"]
    unknown_checkpoint = post("rollback", json={"checkpoint_id": "nope"})
    assert error_of(unknown_checkpoint, 404)["type"] == "CheckpointNotFoundError"
    assert error_of(post("fork", json={"checkpoint_id": "nope"}), 404)
    bad_key = post("state", json={"values": {"nope": 1}})
    assert error_of(bad_key, 422)["type"] == "InvalidInputError"


def test_control_calls_on_a_running_execution_are_409(live, http):
    execution_id = http.post(f"{API}/executions", json={"project": "slow"}).json()["execution_id"]
    assert workflows.STARTED.wait(5)
    checkpoint = http.get(f"{API}/executions/{execution_id}/checkpoints").json()[0]
    post = lambda path, **kw: http.post(f"{API}/executions/{execution_id}/{path}", **kw)  # noqa: E731
    assert "while it runs" in error_of(post("resume"), 409)["message"]
    assert error_of(post("rollback", json={"checkpoint_id": checkpoint["checkpoint_id"]}), 409)
    assert error_of(post("state", json={"values": {"query": "x"}}), 409)
    assert error_of(http.delete(f"{API}/executions/{execution_id}"), 409)
    workflows.GATE.set()
    assert poll(http, execution_id)["status"] == "completed"


def test_unknown_executions_and_bad_bodies(http):
    for path, body in [
        ("pause", None),
        ("stop", None),
        ("resume", None),
        ("rollback", {"checkpoint_id": "x"}),
        ("fork", {"checkpoint_id": "x"}),
        ("state", {"values": {}}),
    ]:
        response = http.post(f"{API}/executions/nope/{path}", json=body)
        assert error_of(response, 404)["type"] == "ExecutionNotFoundError", path
    execution_id = run(http)["execution_id"]
    for path, body in [
        ("rollback", {}),
        ("rollback", {"checkpoint_id": 3}),
        ("fork", {"checkpoint_id": "x", "updates": []}),
        ("state", {"values": "x"}),
        ("resume", {"resume": 1, "answer": 2}),
    ]:
        response = http.post(f"{API}/executions/{execution_id}/{path}", json=body)
        assert error_of(response, 422)["type"] == "ValidationError", path
    timeout = http.post(f"{API}/executions/{execution_id}/pause", params={"timeout": -1})
    assert error_of(timeout, 422)
