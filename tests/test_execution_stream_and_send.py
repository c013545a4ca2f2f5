"""Kernel operations the LangGraph-compatible server builds on: watching a drive's stream
(``StreamTap``), a new input on an existing execution (``ExecutionService.send``), and
LangGraph's own snapshots of an execution (``InspectionService.snapshot`` / ``snapshots``)
— each compared with what bare LangGraph does."""

from __future__ import annotations

import threading

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from tests import workflows
from tests.conftest import register
from wtb_core.domain.models import ExecutionStatus
from wtb_core.engine.records import thread_id_of
from wtb_core.engine.runs import StreamTap
from wtb_core.errors import InvalidInputError, InvalidStateError


def _bare(factory):
    """The workflow on plain LangGraph with an in-memory saver, and a thread config."""
    graph = factory()
    builder = getattr(graph, "builder", graph)  # linear() hands over a compiled graph
    return builder.compile(checkpointer=InMemorySaver()), {"configurable": {"thread_id": "t"}}


def _recording(modes):
    chunks: list[tuple[str, object]] = []
    return chunks, StreamTap(frozenset(modes), lambda mode, chunk: chunks.append((mode, chunk)))


def _without_ids(chunk):
    """A chunk with each ``Interrupt`` as its value (interrupt ids depend on the thread)."""
    mode, data = chunk
    if isinstance(data, dict) and "__interrupt__" in data:
        data = {**data, "__interrupt__": [i.value for i in data["__interrupt__"]]}
    return mode, data


def _history(bench, execution_id):
    return [
        (c.step, c.source, c.nodes, c.next, c.values) for c in bench.get_checkpoints(execution_id)
    ]


def _bare_history(graph, config):
    snapshots = list(graph.get_state_history(config))[::-1]
    return [(s.metadata["step"], s.metadata["source"], s.next, s.values) for s in snapshots]


def test_a_tap_sees_langgraphs_chunks_and_changes_nothing(bench):
    register(bench, workflows.human)
    executions = bench.services.executions
    chunks, tap = _recording({"values", "updates", "debug"})
    result = executions.run("human", {"query": "q"}, tap=tap)
    plain = bench.run("human", {"query": "q"})
    assert (result.status, result.state, result.next) == (plain.status, plain.state, plain.next)
    assert len(bench.get_checkpoints(result.execution_id)) == len(
        bench.get_checkpoints(plain.execution_id)
    )

    graph, config = _bare(workflows.human)
    expected = list(graph.stream({"query": "q"}, config, stream_mode=["values", "updates"]))
    assert [_without_ids(c) for c in chunks if c[0] != "debug"] == [
        _without_ids(c) for c in expected
    ]
    debug = [c[1] for c in chunks if c[0] == "debug"]
    assert {d["type"] for d in debug} == {"checkpoint", "task", "task_result"}
    assert debug[0]["payload"]["config"]["configurable"]["thread_id"] == thread_id_of(
        result.execution_id
    )

    chunks.clear()
    resumed = executions.resume(result.execution_id, resume="yes", tap=tap)
    assert resumed.status is ExecutionStatus.COMPLETED
    assert [c for c in chunks if c[0] == "values"][-1] == ("values", resumed.state)
    assert ("updates", {"ask": {"answer": "yes"}}) in chunks


def test_a_tap_that_raises_is_dropped_not_the_execution(bench):
    register(bench, workflows.linear, "linear")
    calls = []

    def broken(mode, chunk):
        calls.append(mode)
        raise RuntimeError("tap broke")

    result = bench.services.executions.run(
        "linear", {"query": "q"}, tap=StreamTap(frozenset({"values"}), broken)
    )
    assert result.status is ExecutionStatus.COMPLETED
    assert calls == ["values"]


def test_send_on_a_completed_execution_is_langgraphs_next_invoke(bench):
    register(bench, workflows.human)
    executions = bench.services.executions
    first = bench.run("human", {"query": "q"})
    bench.resume(first.execution_id, resume="yes")
    again = executions.send(first.execution_id, {"query": "again"})

    graph, config = _bare(workflows.human)
    graph.invoke({"query": "q"}, config)
    graph.invoke(Command(resume="yes"), config)
    graph.invoke({"query": "again"}, config)
    bare = graph.get_state(config)
    assert again.status is ExecutionStatus.PAUSED
    assert again.state == bare.values
    assert again.next == bare.next
    assert [i.value for i in again.interrupts] == [i.value for i in bare.interrupts]
    assert [h[:2] + h[3:] for h in _history(bench, first.execution_id)] == _bare_history(
        graph, config
    )
    events = [e.event_type for e in bench.audit(first.execution_id)]
    assert events.count("execution_resumed") == 2


def test_send_leaves_a_pending_interrupt_behind_as_langgraph_does(bench):
    register(bench, workflows.human)
    paused = bench.run("human", {"query": "q"})
    workflows.CALLS.clear()
    again = bench.services.executions.send(paused.execution_id, {"query": "other"})
    assert workflows.CALLS == ["draft", "ask"]  # from START again

    graph, config = _bare(workflows.human)
    graph.invoke({"query": "q"}, config)
    graph.invoke({"query": "other"}, config)
    assert again.state == graph.get_state(config).values


def test_send_after_a_rollback_branches_from_the_head(bench):
    register(bench, workflows.linear, "linear")
    done = bench.run("linear", {"query": "q"})
    after_retrieve = bench.get_checkpoints(done.execution_id)[2]
    bench.rollback(done.execution_id, after_retrieve.checkpoint_id)
    again = bench.services.executions.send(done.execution_id, {"query": "branch"})

    graph, config = _bare(workflows.linear)
    graph.invoke({"query": "q"}, config)
    target = list(graph.get_state_history(config))[::-1][2].config
    graph.invoke({"query": "branch"}, target)
    assert again.status is ExecutionStatus.COMPLETED
    assert again.state == graph.get_state(config).values
    lineage = bench.get_checkpoints(done.execution_id)
    assert after_retrieve.checkpoint_id in [c.checkpoint_id for c in lineage]


def test_send_is_refused_while_running_and_after_a_stop(bench):
    register(bench, workflows.slow)
    register(bench, workflows.linear, "linear")
    executions = bench.services.executions
    started = threading.Event()
    runner = threading.Thread(
        target=lambda: executions.run("slow", {}, on_created=lambda _: started.set())
    )
    runner.start()
    assert workflows.STARTED.wait(10)
    running = bench.list_executions(project="slow")[0].execution_id
    with pytest.raises(InvalidStateError, match="while it runs"):
        executions.send(running, {"query": "x"})
    workflows.GATE.set()
    runner.join(10)

    done = bench.run("linear", {"query": "q"})
    with pytest.raises(InvalidStateError, match="no key 'nope'"):
        executions.send(done.execution_id, {"nope": 1})
    paused = bench.run("linear", {"query": "q"}, breakpoints=["grade"])
    bench.stop(paused.execution_id)
    with pytest.raises(InvalidStateError, match="was stopped"):
        executions.send(paused.execution_id, {"query": "x"})


def test_snapshots_are_langgraphs_own(bench):
    register(bench, workflows.human)
    inspection = bench.services.inspection
    paused = bench.run("human", {"query": "q"})
    graph, config = _bare(workflows.human)
    graph.invoke({"query": "q"}, config)

    head = inspection.snapshot(paused.execution_id)
    bare = graph.get_state(config)
    assert (head.values, head.next, head.interrupts[0].value) == (
        bare.values,
        bare.next,
        bare.interrupts[0].value,
    )
    assert head.config["configurable"]["checkpoint_id"] == paused.checkpoint_id
    history = inspection.snapshots(paused.execution_id)
    ids = [s.config["configurable"]["checkpoint_id"] for s in history]
    assert ids == [c.checkpoint_id for c in bench.get_checkpoints(paused.execution_id)][::-1]
    assert len(inspection.snapshots(paused.execution_id, limit=2)) == 2
    older = inspection.snapshots(paused.execution_id, before=ids[0])
    assert [s.config["configurable"]["checkpoint_id"] for s in older] == ids[1:]
    inputs = inspection.snapshots(paused.execution_id, metadata={"source": "input"})
    assert [s.metadata["source"] for s in inputs] == ["input"]
    first = inspection.snapshot(paused.execution_id, ids[-1])
    assert first.next == ("__start__",)
    with pytest.raises(InvalidInputError, match="filter key"):
        inspection.snapshots(paused.execution_id, metadata={"step') OR 1=1 --": 1})


def async_chain():
    """Two ``async def`` nodes: the driver runs it with ``astream``."""
    builder = StateGraph(workflows.State)

    async def first(state):
        return {"log": ["first"]}

    async def second(state):
        return {"log": ["second"]}

    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder


def test_a_tap_on_an_async_graph(bench):
    register(bench, async_chain)
    chunks, tap = _recording({"updates"})
    result = bench.services.executions.run("async_chain", {}, tap=tap)
    assert result.state["log"] == ["first", "second"]
    assert chunks == [
        ("updates", {"first": {"log": ["first"]}}),
        ("updates", {"second": {"log": ["second"]}}),
    ]
