"""Workflows the tests run. Module-level factories, so a new process can import them."""

from __future__ import annotations

import itertools
import operator
import threading
import time
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt


class State(TypedDict, total=False):
    query: str
    n: int
    log: Annotated[list[str], operator.add]
    answer: str
    blob: Any


CALLS: list[str] = []  # node names in call order, for "did it re-run?" assertions
_calls_lock = threading.Lock()


def _record(name: str) -> None:
    with _calls_lock:
        CALLS.append(name)


def step(name: str):
    def node(state: State) -> dict[str, Any]:
        _record(name)
        return {"n": state.get("n", 0) + 1, "log": [name]}

    node.__name__ = name
    return node


def tag(name: str):
    """A node that only appends to ``log`` (safe to run in parallel with others)."""

    def node(state: State) -> dict[str, Any]:
        _record(name)
        return {"log": [name]}

    node.__name__ = name
    return node


def chain(length: int = 3) -> StateGraph:
    builder = StateGraph(State)
    names = [f"n{i}" for i in range(length)]
    for name in names:
        builder.add_node(name, step(name))
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder


def linear() -> Any:
    """retrieve -> grade -> generate, compiled (as users usually hand it over)."""
    builder = StateGraph(State)
    for name in ("retrieve", "grade", "generate"):
        builder.add_node(name, step(name))
    builder.add_edge(START, "retrieve")
    builder.add_edge("retrieve", "grade")
    builder.add_edge("grade", "generate")
    builder.add_edge("generate", END)
    return builder.compile()


def looping() -> StateGraph:
    """a -> b -> (a again until n >= 4) -> c: a loop through a conditional edge."""
    builder = StateGraph(State)
    for name in "abc":
        builder.add_node(name, step(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda s: "a" if s["n"] < 4 else "c", ["a", "c"])
    builder.add_edge("c", END)
    return builder


def parallel() -> StateGraph:
    """start -> (left, right in one super-step) -> join."""
    builder = StateGraph(State)
    for name in ("start", "left", "right", "join"):
        builder.add_node(name, tag(name))
    builder.add_edge(START, "start")
    builder.add_edge("start", "left")
    builder.add_edge("start", "right")
    builder.add_edge(["left", "right"], "join")
    builder.add_edge("join", END)
    return builder


def _fan_out(state: State) -> list[Send]:
    return [Send("work", {"query": q}) for q in ("x", "y", "z")]


def _work(state: State) -> dict[str, Any]:
    _record(f"work:{state['query']}")
    return {"log": [f"work:{state['query']}"]}


def fan_out() -> StateGraph:
    """plan -> Send to ``work`` three times -> summarize."""
    builder = StateGraph(State)
    builder.add_node("plan", tag("plan"))
    builder.add_node("work", _work)
    builder.add_node("summarize", step("summarize"))
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", _fan_out, ["work"])
    builder.add_edge("work", "summarize")
    builder.add_edge("summarize", END)
    return builder


FAIL = {"flaky": True}


def _flaky(state: State) -> dict[str, Any]:
    _record("flaky")
    if FAIL["flaky"]:
        raise ValueError("flaky node failed on purpose")
    return {"log": ["flaky"]}


def failing() -> StateGraph:
    """first -> flaky (raises while FAIL['flaky']) -> last."""
    builder = StateGraph(State)
    builder.add_node("first", step("first"))
    builder.add_node("flaky", _flaky)
    builder.add_node("last", step("last"))
    builder.add_edge(START, "first")
    builder.add_edge("first", "flaky")
    builder.add_edge("flaky", "last")
    builder.add_edge("last", END)
    return builder


def _ask(state: State) -> dict[str, Any]:
    _record("ask")
    return {"answer": interrupt({"question": "approve?"})}


def _ask_a(state: State) -> dict[str, Any]:
    return {"log": [f"a:{interrupt('first?')}"]}


def _ask_b(state: State) -> dict[str, Any]:
    return {"log": [f"b:{interrupt('second?')}"]}


def human() -> StateGraph:
    """draft -> ask (interrupt) -> publish."""
    builder = StateGraph(State)
    builder.add_node("draft", step("draft"))
    builder.add_node("ask", _ask)
    builder.add_node("publish", step("publish"))
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "ask")
    builder.add_edge("ask", "publish")
    builder.add_edge("publish", END)
    return builder


def two_questions() -> StateGraph:
    """Two interrupts pending at once (parallel nodes)."""
    builder = StateGraph(State)
    builder.add_node("ask_a", _ask_a)
    builder.add_node("ask_b", _ask_b)
    builder.add_edge(START, "ask_a")
    builder.add_edge(START, "ask_b")
    builder.add_edge(["ask_a", "ask_b"], END)
    return builder


GATE = threading.Event()  # slow nodes wait on it (tests release it)
STARTED = threading.Event()


def open_gate_once_asked(monkeypatch: Any, bench: Any) -> None:
    """Order a pause/stop race deterministically: the slow node is let go only once the
    bench's driver has registered the request (re-asked then, to wait as the caller did)."""
    driver = bench._driver
    request = driver.request

    def request_then_open(execution_id: str, status: Any, timeout: float | None) -> bool:
        request(execution_id, status, 0)
        GATE.set()
        return bool(request(execution_id, status, timeout))

    monkeypatch.setattr(driver, "request", request_then_open)


def _slow(state: State) -> dict[str, Any]:
    STARTED.set()
    GATE.wait(10)
    _record("slow")
    return {"log": ["slow"]}


def slow() -> StateGraph:
    """first -> slow (blocks until GATE) -> after -> last."""
    builder = StateGraph(State)
    builder.add_node("first", step("first"))
    builder.add_node("slow", _slow)
    builder.add_node("after", step("after"))
    builder.add_node("last", step("last"))
    builder.add_edge(START, "first")
    builder.add_edge("first", "slow")
    builder.add_edge("slow", "after")
    builder.add_edge("after", "last")
    builder.add_edge("last", END)
    return builder


def _sleepy(state: State) -> dict[str, Any]:
    time.sleep(3600)
    return {}


def sleeps_forever() -> StateGraph:
    """first -> sleepy (never returns): for killing a process mid-run."""
    builder = StateGraph(State)
    builder.add_node("first", step("first"))
    builder.add_node("sleepy", _sleepy)
    builder.add_edge(START, "first")
    builder.add_edge("first", "sleepy")
    builder.add_edge("sleepy", END)
    return builder


class InnerState(TypedDict, total=False):
    n: int


def _count(name: str):
    def node(state: InnerState) -> dict[str, Any]:
        _record(name)
        return {"n": state.get("n", 0) + 1}

    return node


def _inner_graph():
    """Shares only ``n`` with the parent (a shared list reducer would double the log)."""
    inner = StateGraph(InnerState)
    inner.add_node("inner_1", _count("inner_1"))
    inner.add_node("inner_2", _count("inner_2"))
    inner.add_edge(START, "inner_1")
    inner.add_edge("inner_1", "inner_2")
    inner.add_edge("inner_2", END)
    return inner.compile()


def with_subgraph() -> StateGraph:
    """before -> sub (inner_1 -> inner_2) -> after."""
    builder = StateGraph(State)
    builder.add_node("before", step("before"))
    builder.add_node("sub", _inner_graph())
    builder.add_node("after", step("after"))
    builder.add_edge(START, "before")
    builder.add_edge("before", "sub")
    builder.add_edge("sub", "after")
    builder.add_edge("after", END)
    return builder


class Opaque:
    """A plain class: LangGraph's serializer cannot checkpoint it."""


def _bad_output(state: State) -> dict[str, Any]:
    return {"blob": Opaque()}


def unserialisable() -> StateGraph:
    builder = StateGraph(State)
    builder.add_node("first", step("first"))
    builder.add_node("bad", _bad_output)
    builder.add_edge(START, "first")
    builder.add_edge("first", "bad")
    builder.add_edge("bad", END)
    return builder


def chain3() -> StateGraph:
    return chain(3)


def chain10() -> StateGraph:
    return chain(10)


def _nap(name: str, seconds: float):
    def node(state: State) -> dict[str, Any]:
        time.sleep(seconds)
        return {"n": state.get("n", 0) + 1, "log": [name]}

    return node


def napping() -> StateGraph:
    """Two nodes that sleep 0.15 s each: batches slow enough to cancel or kill."""
    builder = StateGraph(State)
    builder.add_node("first", _nap("first", 0.15))
    builder.add_node("second", _nap("second", 0.15))
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder


def echo_answer(state: State) -> dict[str, Any]:
    """A variant of ``generate`` that answers with the query."""
    return {"n": state.get("n", 0) + 1, "answer": f"echo: {state.get('query', '')}"}


def answer_is_long(case, outcome) -> float:
    """An importable custom evaluator."""
    return float(len(outcome.state.get("answer", "")) > 5)


def dozing() -> StateGraph:
    """Six nodes that sleep 0.4 s each: a run long enough to stop a server in the middle."""
    builder = StateGraph(State)
    names = [f"doze{i}" for i in range(6)]
    for name in names:
        builder.add_node(name, _nap(name, 0.4))
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder


def _picky_node(state: State) -> dict[str, Any]:
    if state.get("query") == "bad":
        raise ValueError("bad query")
    return {"answer": state.get("query", "")}


def picky() -> StateGraph:
    """One node that fails on the query "bad": batches with failed cells."""
    builder = StateGraph(State)
    builder.add_node("answer", _picky_node)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder
