"""The SDK scenario through ``Client`` over a real socket gives what the SDK gives."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from wtb_core import ExecutionStatus, InvalidStateError, TestCase, WTBTestBench
from wtb_grpc import Client


def plain(value: Any) -> Any:
    """A model (or list of them) as data, every timestamp timezone-aware (the SDK hands
    back naive UTC ones from SQLite reads, aware ones elsewhere; gRPC always aware)."""
    if isinstance(value, BaseModel):
        return plain(value.model_dump())
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def outcome(result: Any) -> dict[str, Any]:
    """What a control call decided (ids, timestamps and durations differ between runs)."""
    return {
        "status": result.status,
        "state": result.state,
        "next": result.next,
        "interrupts": [(i.node, i.value) for i in result.interrupts],
        "error": result.error,
    }


def scenario(bench: WTBTestBench | Client) -> list[dict[str, Any]]:
    """Run, checkpoints, rollback + resume, fork with updates + resume, interrupt answered."""
    seen: list[dict[str, Any]] = []
    r = bench.run(project="linear", initial_state={"n": 0})
    seen.append(outcome(r))
    cps = bench.get_checkpoints(r.execution_id)
    seen.append({"checkpoints": [(c.step, c.nodes, c.next, c.values) for c in cps]})
    back = bench.rollback(r.execution_id, cps[2].checkpoint_id)
    seen.append(outcome(back))
    seen.append(outcome(bench.resume(r.execution_id)))
    f = bench.fork(r.execution_id, cps[2].checkpoint_id, updates={"n": 40})
    seen.append(outcome(f))
    seen.append({"forked": bench.get_state(f.execution_id)})
    seen.append(outcome(bench.resume(f.execution_id)))
    seen.append(outcome(bench.update_state(f.execution_id, {"n": 7})))
    h = bench.run(project="human", initial_state={})
    seen.append(outcome(h))
    seen.append(outcome(bench.resume(h.execution_id, resume="approved")))
    seen.append({"audit": [(a.event_type, a.node) for a in bench.audit(h.execution_id)]})
    return seen


def batch_scenario(bench: WTBTestBench | Client) -> dict[str, Any]:
    cases = [
        TestCase(inputs={"n": 0}, expected={"n": 3}, name="zero"),
        TestCase(inputs={"n": 1}, expected={"n": 3}, name="one"),
        {"n": 5},
    ]
    batch = bench.run_batch_test(
        project="linear",
        variant_matrix=[{}, {"generate": "echo"}],
        test_cases=cases,
        evaluators=["exact_match"],
        repetitions=2,
    )
    rows = [
        (r.combination_label, r.case, r.repetition, r.status, r.state, r.scores)
        for r in batch.results
    ]
    comparison = plain(batch.comparison())
    for stats in comparison["combinations"]:
        stats.pop("latency_p50_ms", None), stats.pop("latency_p95_ms", None)
    return {"status": batch.status, "rows": rows, "comparison": comparison}


def test_the_scenario_through_the_client_gives_what_the_sdk_gives(
    client: Client, bench: WTBTestBench
) -> None:
    remote = scenario(client)
    assert remote == scenario(bench)
    assert remote[0]["status"] is ExecutionStatus.COMPLETED
    assert remote[9]["state"]["answer"] == "approved"
    assert batch_scenario(client) == batch_scenario(bench)


def test_reads_return_the_sdk_models_of_the_same_execution(
    client: Client, bench: WTBTestBench
) -> None:
    r = client.run("human", {"n": 1})
    assert r.status is ExecutionStatus.PAUSED and r.interrupts[0].value == {"question": "approve?"}
    eid = r.execution_id
    assert plain(client.get_execution(eid)) == plain(bench.get_execution(eid))
    assert plain(client.get_checkpoints(eid)) == plain(bench.get_checkpoints(eid))
    assert plain(client.get_checkpoints(eid, True)) == plain(bench.get_checkpoints(eid, True))
    assert plain(client.audit(eid)) == plain(bench.audit(eid))
    first = bench.get_checkpoints(eid)[0].checkpoint_id
    assert client.get_state(eid, first) == bench.get_state(eid, first)
    assert plain(client.list_executions(project="human", status="paused")) == plain(
        bench.list_executions(project="human", status="paused")
    )
    assert client.list_projects() == bench.list_projects()


def test_a_batch_reads_back_as_the_sdk_batch_and_compares_server_side(
    client: Client, bench: WTBTestBench
) -> None:
    batch = client.run_batch_test(
        "linear", [{}], [TestCase(inputs={}, expected={"n": 3})], evaluators=["exact_match"]
    )
    sdk = bench.get_batch(batch.batch_id)
    got = client.get_batch(batch.batch_id)
    assert (got.status, got.total_cells, got.combinations) == (
        sdk.status,
        sdk.total_cells,
        sdk.combinations,
    )
    assert plain(got.results) == plain(sdk.results)
    assert plain(client.comparison(batch.batch_id)) == plain(sdk.comparison())
    assert plain(client.comparison(batch.batch_id, "default")) == plain(sdk.comparison("default"))
    assert plain(got.comparison()) == plain(sdk.comparison())  # the SDK's own model


def once_driven(control: Any, execution_id: str) -> Any:
    """``control(execution_id, timeout=30)`` once the execution's drive has begun: the
    kernel reports a run started (``on_created`` / ``on_started``, what a detached call
    answers on) a moment before its driver takes pause and stop requests, and in that
    moment refuses them with InvalidStateError (REST's 202 has the same window)."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return control(execution_id, timeout=30)
        except InvalidStateError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_pause_stop_and_a_detached_run(client: Client, bench: WTBTestBench) -> None:
    started = client.run("dozing", detach=True)
    assert started.status is ExecutionStatus.RUNNING
    paused = once_driven(client.pause, started.execution_id)
    assert paused.status is ExecutionStatus.PAUSED and paused.next
    resumed = client.resume(started.execution_id, detach=True)
    assert resumed.status is ExecutionStatus.RUNNING
    stopped = once_driven(client.stop, started.execution_id)
    assert stopped.status is ExecutionStatus.CANCELLED
    assert bench.get_execution(started.execution_id).status is ExecutionStatus.CANCELLED


def test_a_batch_can_be_cancelled_and_resumed(client: Client) -> None:
    batch = client.run_batch_test("dozing", [{}], [{}, {}, {}], parallelism=1, detach=True)
    # Its first node running: the drive has begun (a cancel in the moment between the
    # batch being stored and its drive beginning is lost: the kernel's window, see
    # once_driven).
    with client.watch(batch_id=batch.batch_id, since=0) as events:
        next(e for e in events if e.type == "node_started")
    cancelled = client.cancel_batch(batch.batch_id)
    assert cancelled.batch_id == batch.batch_id
    deadline = time.monotonic() + 20
    while client.get_batch(batch.batch_id).status.value == "running":  # cells in flight end
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get_batch(batch.batch_id).status.value == "cancelled"
    resumed = client.resume_batch(batch.batch_id)
    assert resumed.status.value == "completed"
    assert len(resumed.results) == 3


@pytest.mark.parametrize("as_case", [True, False])
def test_test_cases_travel_as_given(client: Client, bench: WTBTestBench, as_case: bool) -> None:
    case = TestCase(inputs={"n": 2}, name="two", metadata={"k": 1}) if as_case else {"n": 2}
    batch = client.run_batch_test("linear", [{}], [case])
    assert bench.get_batch(batch.batch_id).results[0].case == ("two" if as_case else "case-0")
