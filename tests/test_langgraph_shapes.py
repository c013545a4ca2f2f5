"""Issue-by-issue pins for graphs shaped like LangGraph's how-to examples.

The differential suite (``tests/differential``) compares whole scenarios with bare
LangGraph; these tests name each behaviour a user relies on, so a regression says what
broke.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph

from tests import workflows
from tests.conftest import register
from tests.differential import graphs
from wtb_core import ExecutionStatus, InvalidStateError, WorkflowProject, WTBTestBench
from wtb_core.engine.threads import thread_config


@pytest.fixture(autouse=True)
def _armed():
    graphs.reset()


def _at(bench, execution_id, next_nodes):
    return next(c for c in bench.get_checkpoints(execution_id) if c.next == next_nodes)


@pytest.mark.parametrize("factory", [graphs.human_in_the_loop, graphs.interrupting_subgraph])
def test_a_new_answer_after_a_rollback_is_used_and_the_old_branch_keeps_its_own(bench, factory):
    bench.register_project(WorkflowProject("hitl", factory))
    first = bench.run("hitl", {"log": []})
    done = bench.resume(first.execution_id, resume="A")
    assert done.state["answer"] == "A"
    node = "human_node" if factory is graphs.human_in_the_loop else "sub"
    asked = _at(bench, done.execution_id, (node,))

    rolled = bench.rollback(done.execution_id, asked.checkpoint_id)
    assert rolled.status is ExecutionStatus.PAUSED and rolled.next == (node,)
    assert rolled.interrupts == ()  # answered on the old branch; asked again on resume

    again = bench.resume(done.execution_id, resume="B")
    assert again.status is ExecutionStatus.COMPLETED and again.state["answer"] == "B"
    assert bench.get_state(done.execution_id, done.checkpoint_id)["answer"] == "A"
    saver = bench.stack.checkpoints.saver
    old = saver.get_tuple(thread_config(f"wtb-{done.execution_id}", asked.checkpoint_id))
    answers = [v for _, channel, v in old.pending_writes if channel == "__resume__"]
    assert answers and "B" not in repr(answers)  # the old branch's answer is not overwritten


def test_resume_without_an_answer_after_a_rollback_asks_again(bench):
    bench.register_project(WorkflowProject("hitl", graphs.human_in_the_loop))
    done = bench.resume(bench.run("hitl", {}).execution_id, resume="A")
    bench.rollback(done.execution_id, _at(bench, done.execution_id, ("human_node",)).checkpoint_id)
    asked = bench.resume(done.execution_id)
    assert asked.status is ExecutionStatus.PAUSED
    assert [i.value for i in asked.interrupts] == [{"question": "approve?"}]
    assert bench.resume(done.execution_id, resume="C").state["answer"] == "C"


def test_resume_after_a_failure_reruns_only_the_failed_send_task(bench):
    bench.register_project(WorkflowProject("mr", graphs.map_reduce))
    failed = bench.run("mr", {})
    assert failed.status is ExecutionStatus.FAILED and failed.next == ("write",)
    assert failed.state["jokes"] == ["joke about a", "joke about c"]  # as get_state shows
    graphs.CALLS.clear()
    done = bench.resume(failed.execution_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert dict(graphs.CALLS) == {"write:b": 1, "pick": 1}
    sources = [c.source for c in bench.get_checkpoints(done.execution_id)]
    assert "fork" not in sources and sources == ["input", "loop", "loop", "loop", "loop"]


def test_resume_after_a_breakpoint_writes_the_checkpoints_langgraph_writes(bench):
    project = register(bench, workflows.linear)
    paused = bench.run(project, {}, breakpoints=["grade"])
    done = bench.resume(paused.execution_id)
    checkpoints = bench.get_checkpoints(done.execution_id)
    assert [(c.step, c.source) for c in checkpoints] == [
        (-1, "input"),
        (0, "loop"),
        (1, "loop"),
        (2, "loop"),
        (3, "loop"),
    ]
    assert checkpoints[0].next == ("__start__",)


def test_state_keeps_its_types_when_read_back_from_the_metadata_database(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(WorkflowProject("agent", graphs.react_agent))
        done = bench.run("agent", {"messages": [HumanMessage("what is langgraph?")]})
        batch = bench.run_batch_test("agent", [{}], [{"messages": [("user", "and pregel?")]}])
        for state in (
            done.state,
            bench.get_execution(done.execution_id).state,
            bench.list_executions()[0].state,
            batch.results[0].state,
            bench.get_batch(batch.batch_id).results[0].state,
        ):
            assert isinstance(state["messages"][-1], AIMessage)
            assert state["messages"][-1].content.startswith("answer: results for")
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as reopened:
        state = reopened.get_execution(done.execution_id).state
        assert isinstance(state["messages"][0], HumanMessage)
        assert state["messages"][-1].content == done.state["messages"][-1].content


def test_testing_mode_survives_reads_while_the_audit_writer_runs():
    with WTBTestBench.create(mode="testing", load_entrypoints=False) as bench:
        project = register(bench, workflows.linear)
        stop = threading.Event()
        errors: list[BaseException] = []

        def read() -> None:
            while not stop.is_set():
                try:
                    bench.list_executions(limit=5)
                except BaseException as exc:
                    errors.append(exc)
                    return

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for _ in range(150):
                result = bench.run(project, {"query": "q"})
                bench.get_execution(result.execution_id)
                bench.fork(result.execution_id, result.checkpoint_id)
        finally:
            stop.set()
            reader.join(10)
        assert errors == []


def test_a_tool_node_is_a_valid_variant_and_node_update(bench):
    project = bench.register_project(WorkflowProject("agent", graphs.react_agent))
    project.register_variant(node="tools", name="toolnode", implementation=graphs.search_tools())
    done = bench.run("agent", {"messages": [("user", "q")]}, variant_config={"tools": "toolnode"})
    assert done.status is ExecutionStatus.COMPLETED
    assert done.state["messages"][-1].content == "answer: results for q"
    project.update_node("tools", graphs.search_tools(), reason="a fresh ToolNode")
    assert bench.run("agent", {"messages": [("user", "q")]}).status is ExecutionStatus.COMPLETED
    with pytest.raises(Exception, match="must be a function or a Runnable"):
        project.register_variant(node="tools", name="bad", implementation=42)


def test_async_nodes_run_in_batches_and_honour_pause_and_timeout(bench):
    bench.register_project(WorkflowProject("loop", graphs.looping_async))
    batch = bench.run_batch_test(
        "loop", [{}], [{"n": i} for i in range(4)], runner="threadpool", parallelism=4
    )
    assert [r.status for r in batch.results] == [ExecutionStatus.COMPLETED] * 4
    assert [r.state["log"][-1] for r in batch.results] == ["done"] * 4

    gate, inside = threading.Event(), threading.Event()

    async def waits(state: dict[str, Any]) -> dict[str, Any]:
        inside.set()
        await asyncio.to_thread(gate.wait, 10)
        return {"log": ["waits"]}

    async def after(state: dict[str, Any]) -> dict[str, Any]:
        return {"log": ["after"]}

    builder = StateGraph(graphs.CountState)
    builder.add_node("waits", waits)
    builder.add_node("after", after)
    builder.add_edge(START, "waits")
    builder.add_edge("waits", "after")
    builder.add_edge("after", END)
    bench.register_project(WorkflowProject("gated", lambda: builder))
    results: list[Any] = []
    runner = threading.Thread(target=lambda: results.append(bench.run("gated", {})))
    runner.start()
    assert inside.wait(10)  # the pause is asked while "waits" runs
    execution_id = bench.list_executions(project="gated")[0].execution_id
    pausing = threading.Thread(target=lambda: bench.pause(execution_id))
    pausing.start()
    threading.Event().wait(0.05)
    gate.set()
    runner.join(10)
    pausing.join(10)
    assert results[0].status is ExecutionStatus.PAUSED and results[0].next == ("after",)
    assert bench.resume(execution_id).state["log"] == ["waits", "after"]


def test_a_fork_update_langgraph_refuses_is_an_invalid_state_error(bench):
    bench.register_project(WorkflowProject("mr", graphs.map_reduce))
    done = bench.resume(bench.run("mr", {}).execution_id)
    with pytest.raises(InvalidStateError, match=r"refused the update of state key\(s\) 'jokes'"):
        bench.fork(done.execution_id, done.checkpoint_id, updates={"jokes": 5})
    bench.register_project(WorkflowProject("ticket", graphs.pydantic_command))
    ticket = bench.run("ticket", {"title": "t"})
    first = bench.get_checkpoints(ticket.execution_id)[1]
    with pytest.raises(InvalidStateError, match="state key 'priority' does not accept 'high'"):
        bench.fork(ticket.execution_id, first.checkpoint_id, updates={"priority": "high"})
    assert len(bench.list_executions()) == 2


def test_every_attempt_of_a_retried_node_is_in_the_audit_trail(bench):
    bench.register_project(WorkflowProject("retry", graphs.retrying))
    done = bench.run("retry", {"n": 0})
    assert done.status is ExecutionStatus.COMPLETED and graphs.CALLS["shaky"] == 2
    trail = [(e.event_type, e.node) for e in bench.audit(done.execution_id) if e.node == "shaky"]
    assert trail == [
        ("node_started", "shaky"),
        ("node_attempt_failed", "shaky"),
        ("node_completed", "shaky"),
    ]
    failed_attempt = next(
        e for e in bench.audit(done.execution_id) if e.event_type == "node_attempt_failed"
    )
    assert failed_attempt.message == "RuntimeError: shaky failed (planned)"
    assert failed_attempt.data["attempt"] == 1
