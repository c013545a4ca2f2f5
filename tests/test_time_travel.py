"""Rollback, fork, resume and state edits: state moves as users expect."""

from __future__ import annotations

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import CheckpointNotFoundError, ExecutionStatus, InvalidStateError
from wtb_core.engine.threads import thread_config


def _after(checkpoints, node):
    return next(c for c in checkpoints if c.nodes == (node,))


def test_rollback_then_resume_reaches_the_same_final_state(bench):
    project = register(bench, workflows.looping)
    original = bench.run(project, {"query": "q"})
    checkpoints = bench.get_checkpoints(original.execution_id)
    target = checkpoints[3]  # after the first "b"

    rolled = bench.rollback(original.execution_id, target.checkpoint_id)
    assert rolled.status is ExecutionStatus.PAUSED
    assert rolled.checkpoint_id == target.checkpoint_id
    assert rolled.state == target.values and rolled.next == target.next
    assert bench.get_state(original.execution_id) == target.values
    assert [c.checkpoint_id for c in bench.get_checkpoints(original.execution_id)] == [
        c.checkpoint_id for c in checkpoints[:4]
    ]

    workflows.CALLS.clear()
    resumed = bench.resume(original.execution_id)
    assert resumed.status is ExecutionStatus.COMPLETED
    assert resumed.state == original.state
    assert workflows.CALLS == ["a", "b", "c"]  # only what comes after the checkpoint re-ran
    every = bench.get_checkpoints(original.execution_id, all_branches=True)
    assert {c.checkpoint_id for c in checkpoints} < {c.checkpoint_id for c in every}


def test_rollback_to_a_checkpoint_of_another_execution_is_refused(bench):
    project = register(bench, workflows.linear)
    a = bench.run(project, {})
    b = bench.run(project, {})
    foreign = bench.get_checkpoints(b.execution_id)[2].checkpoint_id
    with pytest.raises(CheckpointNotFoundError, match="does not belong to this execution"):
        bench.rollback(a.execution_id, foreign)
    assert bench.get_execution(a.execution_id).status is ExecutionStatus.COMPLETED
    assert bench.get_execution(a.execution_id).checkpoint_id == a.checkpoint_id


def test_fork_copies_history_and_never_changes_the_parent(bench):
    project = register(bench, workflows.linear)
    parent = bench.run(project, {"query": "original"})
    parent_checkpoints = bench.get_checkpoints(parent.execution_id)
    cut = _after(parent_checkpoints, "retrieve")

    fork = bench.fork(parent.execution_id, cut.checkpoint_id)
    assert fork.execution_id != parent.execution_id
    assert fork.status is ExecutionStatus.PAUSED
    assert fork.parent_execution_id == parent.execution_id
    assert fork.state == cut.values and fork.next == ("grade",)
    fork_checkpoints = bench.get_checkpoints(fork.execution_id)
    assert [c.checkpoint_id for c in fork_checkpoints] == [
        c.checkpoint_id for c in parent_checkpoints[: len(fork_checkpoints)]
    ]

    done = bench.resume(fork.execution_id)
    assert done.state == parent.state  # deterministic: same as the original from there
    assert bench.get_checkpoints(parent.execution_id) == parent_checkpoints
    assert bench.get_execution(parent.execution_id).state == parent.state


def test_fork_with_updates_diverges(bench):
    project = register(bench, workflows.linear)
    parent = bench.run(project, {"query": "original"})
    cut = _after(bench.get_checkpoints(parent.execution_id), "grade")
    fork = bench.fork(parent.execution_id, cut.checkpoint_id, updates={"query": "changed"})
    assert fork.state["query"] == "changed" and fork.next == ("generate",)
    done = bench.resume(fork.execution_id)
    assert done.state["query"] == "changed"
    assert done.state["log"] == ["retrieve", "grade", "generate"]
    assert bench.get_state(parent.execution_id)["query"] == "original"


def test_fork_of_a_paused_interrupt_can_be_answered_independently(bench):
    project = register(bench, workflows.human)
    waiting = bench.run(project, {})
    fork = bench.fork(waiting.execution_id, waiting.checkpoint_id)
    assert [i.value for i in fork.interrupts] == [{"question": "approve?"}]
    assert bench.resume(fork.execution_id, resume="fork says no").state["answer"] == "fork says no"
    assert bench.resume(waiting.execution_id, resume="yes").state["answer"] == "yes"


def test_fork_with_a_bad_update_leaves_nothing_behind(bench):
    project = register(bench, workflows.linear)
    parent = bench.run(project, {})
    with pytest.raises(InvalidStateError, match="state has no key 'nope'"):
        bench.fork(parent.execution_id, parent.checkpoint_id, updates={"nope": 1})
    assert len(bench.list_executions()) == 1


def test_update_state_edits_the_head_and_resume_uses_it(bench):
    project = register(bench, workflows.linear)
    paused = bench.run(project, {"query": "q"}, breakpoints=["generate"])
    edited = bench.update_state(paused.execution_id, {"answer": "draft", "n": 100})
    assert edited.status is ExecutionStatus.PAUSED and edited.next == ("generate",)
    assert edited.state["n"] == 100 and edited.checkpoint_id != paused.checkpoint_id
    done = bench.resume(paused.execution_id)
    assert done.state["n"] == 101 and done.state["answer"] == "draft"


def test_resume_with_updates(bench):
    paused = bench.run(register(bench, workflows.linear), {}, breakpoints=["grade"])
    done = bench.resume(paused.execution_id, updates={"query": "edited"})
    assert done.status is ExecutionStatus.COMPLETED and done.state["query"] == "edited"


def test_update_state_as_node_changes_what_runs_next(bench):
    paused = bench.run(register(bench, workflows.linear), {}, breakpoints=["grade"])
    skipped = bench.update_state(paused.execution_id, {"answer": "manual"}, as_node="grade")
    assert skipped.next == ("generate",)
    with pytest.raises(InvalidStateError, match="as_node='ghost' is not a node"):
        bench.update_state(paused.execution_id, {"answer": "x"}, as_node="ghost")


def test_rollback_of_a_running_execution_is_refused(bench):
    import threading

    project = register(bench, workflows.slow)
    thread = threading.Thread(target=lambda: bench.run(project, {}))
    thread.start()
    assert workflows.STARTED.wait(5)
    execution_id = bench.list_executions(status="running")[0].execution_id
    first = bench.get_checkpoints(execution_id)[0].checkpoint_id
    with pytest.raises(InvalidStateError, match="while it runs; pause it first"):
        bench.rollback(execution_id, first)
    workflows.GATE.set()
    thread.join(10)


def test_subgraph_is_one_node_and_time_travel_reruns_it_whole(bench):
    """LangGraph issue 8458: resuming inside a subgraph re-runs the whole subgraph.

    WTB exposes the parent graph's checkpoints only; rolling back to before the subgraph
    node re-runs both inner nodes. The second half pins LangGraph's own behaviour for a
    checkpoint *inside* the subgraph, so a LangGraph change is noticed here.
    """
    project = register(bench, workflows.with_subgraph)
    done = bench.run(project, {})
    assert done.state["log"] == ["before", "after"] and done.state["n"] == 4
    checkpoints = bench.get_checkpoints(done.execution_id)
    assert ("sub",) in [c.nodes for c in checkpoints]
    assert not any("inner_1" in c.nodes for c in checkpoints)

    before_sub = _after(checkpoints, "before")
    bench.rollback(done.execution_id, before_sub.checkpoint_id)
    workflows.CALLS.clear()
    again = bench.resume(done.execution_id)
    assert workflows.CALLS == ["inner_1", "inner_2", "after"]
    assert again.state == done.state

    graph = bench._catalog.graphs.get(bench.get_project(project), {}, None)
    thread = f"wtb-{done.execution_id}"
    inner = [
        s
        for s in graph.get_state_history(thread_config(thread))
        if any(t.name == "sub" for t in s.tasks)
    ]
    sub_snapshot = graph.get_state(inner[0].config, subgraphs=True)
    inner_state = next(t.state for t in sub_snapshot.tasks if t.name == "sub")
    inner_ns = inner_state.config["configurable"]["checkpoint_ns"]
    inner_history = list(graph.get_state_history(thread_config(thread, ns=inner_ns)))
    after_inner_1 = next(s for s in inner_history if s.next == ("inner_2",))
    workflows.CALLS.clear()
    graph.invoke(None, after_inner_1.config)
    assert workflows.CALLS[:2] == ["inner_1", "inner_2"]  # the whole subgraph ran again
