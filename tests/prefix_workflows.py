"""Workflows of the shared-prefix tests: a loop and a conditional edge, with variants of a
node inside the loop and of the last node. Module-level factories, like ``workflows``."""

from __future__ import annotations

import operator
import threading
from collections import Counter
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

CALLS: Counter[str] = Counter()  # runs per node (and variant), across threads
_lock = threading.Lock()


class State(TypedDict, total=False):
    query: str
    n: int
    log: Annotated[list[str], operator.add]
    answer: str


def _ran(name: str) -> None:
    with _lock:
        CALLS[name] += 1


def prep(state: State) -> dict[str, Any]:
    _ran("prep")
    if state["query"] == "explode":
        raise RuntimeError("prep cannot read the query")
    return {"n": 0, "log": ["prep"]}


def draft(state: State) -> dict[str, Any]:
    _ran("draft")
    return {"n": state["n"] + 1, "log": [f"draft{state['n']}"]}


def draft_twice(state: State) -> dict[str, Any]:
    _ran("draft_twice")
    return {"n": state["n"] + 2, "log": [f"twice{state['n']}"]}


def finish(state: State) -> dict[str, Any]:
    _ran("finish")
    return {"answer": f"{state['query']}:{state['n']}"}


def shout(state: State) -> dict[str, Any]:
    _ran("shout")
    return {"answer": f"{state['query']}:{state['n']}".upper()}


def _after_prep(state: State) -> str:
    return "finish" if state["query"] == "skip" else "draft"


def _after_draft(state: State) -> str:
    return "draft" if state["n"] < 3 else "finish"


def looping_answer() -> StateGraph:
    """prep → (skip? finish : draft ⟲ until n ≥ 3 → finish)."""
    builder = StateGraph(State)
    builder.add_node("prep", prep)
    builder.add_node("draft", draft)
    builder.add_node("finish", finish)
    builder.add_edge(START, "prep")
    builder.add_conditional_edges("prep", _after_prep, ["draft", "finish"])
    builder.add_conditional_edges("draft", _after_draft, ["draft", "finish"])
    builder.add_edge("finish", END)
    return builder


def work_loud(state: dict[str, Any]) -> dict[str, Any]:
    """A variant of ``workflows.fan_out``'s ``work`` (a ``Send`` target)."""
    _ran("work_loud")
    return {"log": [f"WORK:{state['query']}"]}


def tagged(name: str) -> Any:
    """A node that appends ``name`` to ``log``: variants of ``workflows.parallel``'s nodes."""

    def node(state: dict[str, Any]) -> dict[str, Any]:
        _ran(name)
        return {"log": [name]}

    return node


def prep_quiet(state: State) -> dict[str, Any]:
    _ran("prep_quiet")
    return {"n": 0, "log": ["quiet"]}


def routed_answer() -> StateGraph:
    """``looping_answer`` entered through a conditional edge from START."""
    builder = looping_answer()
    builder.edges.discard((START, "prep"))
    builder.add_conditional_edges(START, lambda state: "prep", ["prep"])
    return builder
