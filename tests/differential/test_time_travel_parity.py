"""WTB's time travel against bare LangGraph on the same graphs, on every checkpoint store.

For each graph of ``graphs.GRAPHS`` and each store, the same scenario is played twice:
through the bench (``run``, ``resume``, ``rollback``, ``fork``, answers to ``interrupt()``)
and through the LangGraph calls a user would make on ``InMemorySaver`` (``invoke``,
``invoke(None, cfg)``, ``update_state``, ``Command(resume=...)``). After every step both
sides must report the same status, state, pending interrupts, checkpoint lineage (step,
source, nodes, next, values) and the same node executions.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel

from tests.differential import graphs
from wtb_core import ExecutionStatus, WorkflowProject, WTBError

_threads = itertools.count()


def normal(value: Any) -> Any:
    """A comparable form of a state value: messages without their random ids."""
    if isinstance(value, BaseMessage):
        return (
            type(value).__name__,
            value.content,
            [(c["name"], c["args"], c["id"]) for c in getattr(value, "tool_calls", [])],
            getattr(value, "tool_call_id", None),
        )
    if isinstance(value, BaseModel):
        return normal(value.model_dump())
    if isinstance(value, dict):
        return {k: normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [normal(v) for v in value]
    return value


@dataclass(frozen=True)
class View:
    """What one side shows after a step."""

    status: str
    state: Any
    interrupts: tuple[Any, ...]
    lineage: tuple[tuple[Any, ...], ...]
    calls: tuple[tuple[str, int], ...]


class Bare:
    """The scenario's verbs as a LangGraph user writes them, on ``InMemorySaver``."""

    def __init__(self, factory: Callable[[], Any], is_async: bool = False) -> None:
        built = factory()
        builder = getattr(built, "builder", built)
        self.graph = builder.compile(checkpointer=InMemorySaver())
        self.is_async = is_async
        self.thread = {"configurable": {"thread_id": f"t{next(_threads)}", "checkpoint_ns": ""}}
        self.target: dict[str, Any] | None = None  # a checkpoint chosen by time travel
        self.failed = False
        self.breakpoints: list[str] | None = None

    def _invoke(self, graph_input: Any, config: dict[str, Any]) -> None:
        kwargs = {"interrupt_before": self.breakpoints}
        try:
            if self.is_async:
                asyncio.run(self.graph.ainvoke(graph_input, config, **kwargs))
            else:
                self.graph.invoke(graph_input, config, **kwargs)
            self.failed = False
        except Exception:
            self.failed = True

    def run(self, initial: Any, breakpoints: list[str] | None = None) -> None:
        self.breakpoints = breakpoints
        self._invoke(initial, self.thread)

    def resume(self) -> None:
        config, self.target = self.target or self.thread, None
        self._invoke(None, config)

    def answer(self, value: Any) -> None:
        if self.target is not None and _answered(self.graph.get_state(self.target)):
            self.resume()  # the node asks again on the new branch, then gets the answer
        config, self.target = self.target or self.thread, None
        self._invoke(Command(resume=value), config)

    def rollback(self, index: int) -> None:
        self.target = self._lineage_snapshots()[index].config

    def fork(self, index: int, updates: dict[str, Any] | None) -> None:
        config = self._lineage_snapshots()[index].config
        self.target = self.graph.update_state(config, updates) if updates else config

    def _head(self):
        return self.graph.get_state(self.target or self.thread)

    def _lineage_snapshots(self) -> list[Any]:
        by_id = {
            s.config["configurable"]["checkpoint_id"]: s
            for s in self.graph.get_state_history(self.thread)
        }
        chain, current = [], self._head().config["configurable"]["checkpoint_id"]
        while current is not None:
            snapshot = by_id[current]
            chain.append(snapshot)
            current = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        return chain[::-1]

    def view(self) -> View:
        head = self._head()
        chain = self._lineage_snapshots()
        lineage = []
        for parent, snapshot in zip([None, *chain], chain, strict=False):
            source = snapshot.metadata["source"]
            nodes = ()
            if parent is not None and source == "loop":
                nodes = tuple(t.name for t in parent.tasks if t.name != "__start__")
            lineage.append(
                (snapshot.metadata["step"], source, nodes, snapshot.next, normal(snapshot.values))
            )
        if self.failed:
            status = "failed"
        elif head.next or head.interrupts:
            status = "paused"
        else:
            status = "completed"
        # LangGraph also lists an interrupt that was answered on a later branch (a task of
        # a checkpoint a rollback went back to, with its result): WTB reports only those
        # still waiting, and a resume asks them again (the README's time travel section).
        waiting = [i for t in head.tasks if t.result is None for i in t.interrupts]
        return View(
            status,
            normal(head.values),
            tuple(normal(i.value) for i in waiting),
            tuple(lineage),
            tuple(sorted(graphs.CALLS.items())),
        )


def _answered(snapshot: Any) -> bool:
    return any(t.interrupts and t.result is not None for t in snapshot.tasks)


class Bench:
    """The same verbs through WTB."""

    def __init__(self, bench: Any, project: str) -> None:
        self.bench = bench
        self.project = project
        self.execution_id = ""
        self.last: Any = None

    def run(self, initial: Any, breakpoints: list[str] | None = None) -> None:
        self.last = self.bench.run(self.project, initial, breakpoints=breakpoints)
        self.execution_id = self.last.execution_id

    def resume(self) -> None:
        self.last = self.bench.resume(self.execution_id)

    def answer(self, value: Any) -> None:
        self.last = self.bench.resume(self.execution_id, resume=value)

    def _checkpoint(self, index: int) -> str:
        return self.bench.get_checkpoints(self.execution_id)[index].checkpoint_id

    def rollback(self, index: int) -> None:
        self.last = self.bench.rollback(self.execution_id, self._checkpoint(index))

    def fork(self, index: int, updates: dict[str, Any] | None) -> None:
        self.last = self.bench.fork(self.execution_id, self._checkpoint(index), updates=updates)
        self.execution_id = self.last.execution_id

    def view(self) -> View:
        result = self.bench.get_execution(self.execution_id)
        assert result.state == self.last.state, "a reloaded result differs from the returned one"
        lineage = tuple(
            (c.step, c.source, c.nodes, c.next, normal(c.values))
            for c in self.bench.get_checkpoints(self.execution_id)
        )
        return View(
            result.status.value,
            normal(self.bench.get_state(self.execution_id)),
            tuple(normal(i.value) for i in result.interrupts),
            lineage,
            tuple(sorted(graphs.CALLS.items())),
        )


def drive_to_end(side: Any, views: list[View], answer: str = "yes") -> None:
    """Resume (answering interrupts) until the execution completes; at most four steps."""
    for _ in range(4):
        view = side.view()
        views.append(view)
        if view.status == "completed":
            return
        if view.interrupts:
            side.answer(answer)
        else:
            side.resume()
    views.append(side.view())


Scenario = Callable[[Any, Any], list[View]]


def played(scenario: Scenario, side: Any, initial: Any) -> list[View]:
    graphs.reset()
    return scenario(side, initial)


def to_the_end(side: Any, initial: Any) -> list[View]:
    views: list[View] = []
    side.run(initial)
    drive_to_end(side, views)
    return views


def rolled_back_to(index: int) -> Scenario:
    def scenario(side: Any, initial: Any) -> list[View]:
        views = to_the_end(side, initial)
        graphs.CALLS.clear()
        side.rollback(index)
        drive_to_end(side, views, answer="B")
        return views

    return scenario


def forked_at(index: int, updates: dict[str, Any] | None) -> Scenario:
    def scenario(side: Any, initial: Any) -> list[View]:
        views = to_the_end(side, initial)
        graphs.CALLS.clear()
        try:
            side.fork(index, updates)
        except Exception as exc:  # LangGraph refuses the update: WTB must, with a WTBError
            views.append(View("refused", None, (), (), ()))
            if isinstance(side, Bench):
                assert isinstance(exc, WTBError), f"raw {type(exc).__name__}: {exc}"
            return views
        drive_to_end(side, views, answer="B")
        return views

    return scenario


def paused_before(node: str) -> Scenario:
    def scenario(side: Any, initial: Any) -> list[View]:
        views: list[View] = []
        side.run(initial, breakpoints=[node])
        drive_to_end(side, views)
        return views

    return scenario


def compare(bench: Any, name: str, scenario: Scenario, is_async: bool = False) -> None:
    factory, initial = graphs.GRAPHS.get(name) or (getattr(graphs, name), {"n": 0})
    project = f"{name}-{next(_threads)}"
    bench.register_project(WorkflowProject(project, factory))
    expected = played(scenario, Bare(factory, is_async), initial)
    actual = played(scenario, Bench(bench, project), initial)
    for step, (want, got) in enumerate(zip(expected, actual, strict=False)):
        assert got == want, f"step {step} differs"
    assert len(actual) == len(expected)


def _lineage_length(bench: Any, name: str) -> int:
    factory, initial = graphs.GRAPHS[name]
    side = Bare(factory)
    played(to_the_end, side, initial)
    return len(side._lineage_snapshots())


NAMES = sorted(graphs.GRAPHS)


@pytest.mark.parametrize("name", NAMES)
def test_run_and_answers_match_langgraph(store_bench, name):
    compare(store_bench, name, to_the_end)


@pytest.mark.parametrize("name", NAMES)
def test_rollback_to_every_checkpoint_then_resume_matches_langgraph(store_bench, name):
    for index in range(_lineage_length(store_bench, name)):
        compare(store_bench, name, rolled_back_to(index))


@pytest.mark.parametrize("name", NAMES)
def test_fork_at_every_checkpoint_matches_langgraph(store_bench, name):
    updates = graphs.FORK_UPDATES[name]
    for index in range(_lineage_length(store_bench, name)):
        compare(store_bench, name, forked_at(index, updates))
        compare(store_bench, name, forked_at(index, None))


@pytest.mark.parametrize("name", ["map_reduce", "human_in_the_loop", "retrying", "subgraph"])
def test_breakpoint_then_resume_matches_langgraph(store_bench, name):
    factory, _ = graphs.GRAPHS[name]
    built = factory()
    for node in getattr(built, "builder", built).nodes:
        compare(store_bench, name, paused_before(node))


def test_async_nodes_match_langgraph(store_bench):
    compare(store_bench, "looping_async", to_the_end, is_async=True)
    for index in range(5):
        compare(store_bench, "looping_async", rolled_back_to(index), is_async=True)
        compare(store_bench, "looping_async", forked_at(index, {"n": 1}), is_async=True)
    compare(store_bench, "looping_async", paused_before("done"), is_async=True)


def test_status_values_are_the_sdk_s():
    assert {s.value for s in ExecutionStatus} >= {"completed", "paused", "failed"}
