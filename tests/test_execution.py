"""Single executions: run, checkpoints, graph shapes, failures, interrupts, breakpoints."""

from __future__ import annotations

import threading

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import (
    ExecutionNotFoundError,
    ExecutionStatus,
    InvalidStateError,
    ProjectError,
    ProjectNotFoundError,
    StateSerializationError,
    WTBError,
)


def test_run_completes_with_a_checkpoint_at_every_node_boundary(bench):
    project = register(bench, workflows.linear)
    result = bench.run(project, {"query": "What is LangGraph?"})

    assert result.status is ExecutionStatus.COMPLETED
    assert result.state == {
        "query": "What is LangGraph?",
        "n": 3,
        "log": ["retrieve", "grade", "generate"],
    }
    assert result.error is None and result.next == ()
    assert result.duration_ms > 0
    checkpoints = bench.get_checkpoints(result.execution_id)
    assert [c.step for c in checkpoints] == [-1, 0, 1, 2, 3]
    assert [c.nodes for c in checkpoints] == [(), (), ("retrieve",), ("grade",), ("generate",)]
    assert [c.next for c in checkpoints] == [
        ("__start__",),
        ("retrieve",),
        ("grade",),
        ("generate",),
        (),
    ]
    assert checkpoints[-1].checkpoint_id == result.checkpoint_id
    assert checkpoints[2].values == {"query": "What is LangGraph?", "n": 1, "log": ["retrieve"]}
    assert [c.created_at for c in checkpoints] == sorted(c.created_at for c in checkpoints)
    assert bench.get_state(result.execution_id) == result.state
    assert bench.get_execution(result.execution_id).state == result.state


def test_the_users_graph_is_never_mutated(bench):
    builder = workflows.chain(3)
    before = {name: spec.runnable for name, spec in builder.nodes.items()}
    register(bench, lambda: builder, name="shared")
    bench.get_project("shared").register_variant("n1", "other", workflows.step("other"))
    bench.run("shared", {}, variant_config={"n1": "other"})
    bench.run("shared", {})
    assert {name: spec.runnable for name, spec in builder.nodes.items()} == before
    assert builder.compiled is False
    assert builder.compile().invoke({})["log"] == ["n0", "n1", "n2"]


def test_loops_and_conditional_edges(bench):
    result = bench.run(register(bench, workflows.looping), {})
    assert result.state["log"] == ["a", "b", "a", "b", "c"]
    nodes = [c.nodes for c in bench.get_checkpoints(result.execution_id)]
    assert nodes[2:] == [("a",), ("b",), ("a",), ("b",), ("c",)]


def test_parallel_super_step_lands_in_one_checkpoint(bench):
    result = bench.run(register(bench, workflows.parallel), {})
    assert sorted(result.state["log"][1:3]) == ["left", "right"]
    checkpoints = bench.get_checkpoints(result.execution_id)
    both = [c for c in checkpoints if len(c.nodes) == 2]
    assert len(both) == 1 and set(both[0].nodes) == {"left", "right"}
    assert both[0].next == ("join",)


def test_send_fan_out(bench):
    result = bench.run(register(bench, workflows.fan_out), {})
    assert result.status is ExecutionStatus.COMPLETED
    assert sorted(result.state["log"][1:4]) == ["work:x", "work:y", "work:z"]
    fanned = [c for c in bench.get_checkpoints(result.execution_id) if "work" in c.nodes]
    assert fanned[0].nodes == ("work", "work", "work")


def test_a_failing_node_fails_the_execution_and_resume_retries_it(bench):
    project = register(bench, workflows.failing)
    failed = bench.run(project, {})

    assert failed.status is ExecutionStatus.FAILED
    assert failed.error == "ValueError: flaky node failed on purpose"
    assert failed.next == ("flaky",)
    assert failed.state["log"] == ["first"]  # the checkpoint before the failure is kept
    assert bench.get_checkpoints(failed.execution_id)[-1].nodes == ("first",)
    assert [e.event_type for e in bench.audit(failed.execution_id)][-2:] == [
        "node_failed",
        "execution_failed",
    ]

    workflows.FAIL["flaky"] = False
    workflows.CALLS.clear()
    done = bench.resume(failed.execution_id)
    assert done.status is ExecutionStatus.COMPLETED and done.error is None
    assert done.state["log"] == ["first", "flaky", "last"]
    assert workflows.CALLS == ["flaky", "last"]  # "first" was not run again


def test_interrupt_pauses_and_resume_answers_it(bench):
    project = register(bench, workflows.human)
    waiting = bench.run(project, {})
    assert waiting.status is ExecutionStatus.PAUSED
    assert waiting.next == ("ask",)
    [pending] = waiting.interrupts
    assert pending.node == "ask" and pending.value == {"question": "approve?"}

    with pytest.raises(InvalidStateError, match="pass resume=<answer>"):
        bench.resume(waiting.execution_id)

    done = bench.resume(waiting.execution_id, resume="yes")
    assert done.status is ExecutionStatus.COMPLETED
    assert done.state["answer"] == "yes" and done.state["log"] == ["draft", "publish"]
    assert done.interrupts == ()
    assert workflows.CALLS.count("ask") == 2  # interrupt() re-runs the node from its first line


def test_several_pending_interrupts_are_answered_by_id(bench):
    waiting = bench.run(register(bench, workflows.two_questions), {})
    assert {i.value for i in waiting.interrupts} == {"first?", "second?"}
    with pytest.raises(InvalidStateError, match=r"pass resume=\{interrupt_id: answer"):
        bench.resume(waiting.execution_id, resume="both")
    answers = {i.id: f"ok-{i.value}" for i in waiting.interrupts}
    done = bench.resume(waiting.execution_id, resume=answers)
    assert sorted(done.state["log"]) == ["a:ok-first?", "b:ok-second?"]


def test_resume_with_an_answer_when_nothing_waits_is_refused(bench):
    paused = bench.run(register(bench, workflows.linear), {}, breakpoints=["grade"])
    with pytest.raises(InvalidStateError, match="not waiting at an interrupt"):
        bench.resume(paused.execution_id, resume="x")


def test_static_breakpoints_pause_before_the_node_every_time_it_is_reached(bench):
    project = register(bench, workflows.looping)
    first = bench.run(project, {}, breakpoints=["b"])
    assert first.status is ExecutionStatus.PAUSED and first.next == ("b",)
    assert first.state["log"] == ["a"]
    second = bench.resume(first.execution_id)  # breakpoints carry over to resumes
    assert second.status is ExecutionStatus.PAUSED and second.state["log"] == ["a", "b", "a"]
    third = bench.resume(first.execution_id)
    assert third.status is ExecutionStatus.COMPLETED
    assert third.state["log"] == ["a", "b", "a", "b", "c"]


def _run_in_thread(bench, project, **kwargs):
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(result=bench.run(project, {}, **kwargs)))
    thread.start()
    assert workflows.STARTED.wait(5), "the slow node never started"
    return thread, box


def test_pause_from_another_thread_stops_at_the_next_node_boundary(bench):
    project = register(bench, workflows.slow)
    thread, box = _run_in_thread(bench, project)
    execution_id = bench.list_executions(status="running")[0].execution_id

    requested = bench.pause(execution_id, timeout=0)  # ask, do not wait
    assert requested.status is ExecutionStatus.RUNNING
    pauser = threading.Thread(target=lambda: box.update(paused=bench.pause(execution_id)))
    pauser.start()
    workflows.GATE.set()  # let the slow node finish; the pause lands right after it
    thread.join(10)
    pauser.join(10)

    assert box["result"].status is ExecutionStatus.PAUSED
    assert box["paused"].status is ExecutionStatus.PAUSED
    assert box["result"].state["log"] == ["first", "slow"]
    assert box["result"].next == ("after",)
    assert "after" not in workflows.CALLS
    done = bench.resume(execution_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert done.state["log"] == ["first", "slow", "after", "last"]


def test_stop_cancels_a_running_execution_and_keeps_its_checkpoints(bench):
    project = register(bench, workflows.slow)
    thread, box = _run_in_thread(bench, project)
    execution_id = bench.list_executions(status="running")[0].execution_id
    bench.stop(execution_id, timeout=0)
    workflows.GATE.set()
    thread.join(10)

    assert box["result"].status is ExecutionStatus.CANCELLED
    assert bench.get_execution(execution_id).status is ExecutionStatus.CANCELLED
    assert len(bench.get_checkpoints(execution_id)) == 4
    with pytest.raises(InvalidStateError, match="was stopped"):
        bench.resume(execution_id)
    with pytest.raises(InvalidStateError, match="already cancelled"):
        bench.stop(execution_id)


def test_stop_a_paused_execution(bench):
    paused = bench.run(register(bench, workflows.linear), {}, breakpoints=["grade"])
    stopped = bench.stop(paused.execution_id)
    assert stopped.status is ExecutionStatus.CANCELLED
    assert bench.get_execution(paused.execution_id).status is ExecutionStatus.CANCELLED


def test_pause_of_an_execution_that_is_not_running_is_refused(bench):
    done = bench.run(register(bench, workflows.linear), {})
    with pytest.raises(InvalidStateError, match="only a running execution can be paused"):
        bench.pause(done.execution_id)


def test_resume_of_a_completed_execution_says_what_to_do(bench):
    done = bench.run(register(bench, workflows.linear), {})
    with pytest.raises(InvalidStateError, match=r"completed; nothing to resume.*rollback.*fork"):
        bench.resume(done.execution_id)


def test_unknown_things_raise_typed_errors_that_say_what_to_do(bench):
    project = register(bench, workflows.linear)
    with pytest.raises(ExecutionNotFoundError, match="wtb executions"):
        bench.get_execution("nope")
    with pytest.raises(ProjectNotFoundError, match=r"known: linear.*register_project"):
        bench.run("nope", {})
    with pytest.raises(ProjectError, match=r"has no variant 'missing'.*available: default"):
        bench.run(project, {}, variant_config={"grade": "missing"})
    with pytest.raises(InvalidStateError, match=r"breakpoint node.*'nowhere'.*retrieve, grade"):
        bench.run(project, {}, breakpoints=["nowhere"])
    with pytest.raises(InvalidStateError, match="state must be a mapping"):
        bench.run(project, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(InvalidStateError, match="unknown status 'done'"):
        bench.list_executions(status="done")
    assert issubclass(ProjectNotFoundError, WTBError)
    assert bench.list_executions() == []  # nothing was stored by the refused calls


def test_unserialisable_input_is_refused_naming_the_key(bench):
    project = register(bench, workflows.linear)
    with pytest.raises(StateSerializationError, match=r"'blob' \(Opaque\) cannot be serialised"):
        bench.run(project, {"query": "ok", "blob": workflows.Opaque()})
    assert bench.list_executions() == []


def test_unserialisable_node_output_fails_naming_node_and_key(bench):
    failed = bench.run(register(bench, workflows.unserialisable), {})
    assert failed.status is ExecutionStatus.FAILED
    assert "'bad' wrote state key 'blob' (Opaque)" in failed.error
    assert "cannot serialise" in failed.error
    assert failed.state["log"] == ["first"]


def test_graph_recursion_limit_gives_advice(bench):
    from wtb_core.config import ExecutionConfig

    project = register(
        bench, workflows.looping, name="tight", execution=ExecutionConfig(recursion_limit=3)
    )
    failed = bench.run(project, {})
    assert failed.status is ExecutionStatus.FAILED
    assert "raise ExecutionConfig.recursion_limit" in failed.error


def test_list_executions_filters_and_orders_newest_first(bench):
    a = register(bench, workflows.linear)
    b = register(bench, workflows.human)
    first = bench.run(a, {})
    second = bench.run(b, {})
    third = bench.run(a, {})
    assert [r.execution_id for r in bench.list_executions()] == [
        third.execution_id,
        second.execution_id,
        first.execution_id,
    ]
    assert [r.execution_id for r in bench.list_executions(project=b)] == [second.execution_id]
    assert [r.execution_id for r in bench.list_executions(status="paused")] == [second.execution_id]
    assert len(bench.list_executions(limit=2)) == 2


def test_list_executions_by_the_variants_they_ran(bench):
    project = register(bench, workflows.linear)
    bench.get_project(project).register_variant("generate", "echo", workflows.echo_answer)
    plain = bench.run(project, {})
    echoed = bench.run(project, {}, variant_config={"generate": "echo"})
    found = bench.list_executions(variant_config={"generate": "echo"})
    assert [r.execution_id for r in found] == [echoed.execution_id]
    assert plain.variant_config == {} and found[0].variant_config == {"generate": "echo"}


def test_a_run_can_be_given_its_execution_id_once(bench):
    project = register(bench, workflows.linear)
    result = bench.run(project, {"query": "q"}, execution_id="thread-1")
    assert result.execution_id == "thread-1"
    assert bench.get_execution("thread-1").status is ExecutionStatus.COMPLETED
    with pytest.raises(InvalidStateError, match="exists already"):
        bench.run(project, {"query": "again"}, execution_id="thread-1")
    with pytest.raises(InvalidStateError, match="not valid"):
        bench.run(project, {"query": "q"}, execution_id="../etc")
    assert [e.execution_id for e in bench.list_executions()] == ["thread-1"]
