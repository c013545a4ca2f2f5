"""Graphs shaped like LangGraph's own how-to examples, for the differential suite.

Every node counts its calls in ``CALLS`` (a ``Counter``), so a test can compare how often
each node ran under WTB with how often it ran under bare LangGraph. Nodes that fail do so
a fixed number of times per scenario (``reset()`` re-arms them), so both sides see the
same failures. The fake chat model answers from its input alone (no script to consume),
so re-running a step gives the same message on both sides.
"""

from __future__ import annotations

import operator
import threading
import time
import warnings
from collections import Counter
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, RetryPolicy, Send, interrupt
from pydantic import BaseModel, Field

CALLS: Counter[str] = Counter()
_lock = threading.Lock()
_FAILURES: dict[str, int] = {}  # node -> failures left in this scenario
FAIL_PLAN = {"write:b": 1, "shaky": 1}


def reset() -> None:
    """Forget the calls and re-arm the nodes that fail."""
    with _lock:
        CALLS.clear()
        _FAILURES.clear()
        _FAILURES.update(FAIL_PLAN)


def _count(name: str) -> None:
    with _lock:
        CALLS[name] += 1


def _fail_once(key: str) -> None:
    with _lock:
        if _FAILURES.get(key, 0) > 0:
            _FAILURES[key] -= 1
            raise RuntimeError(f"{key} failed (planned)")


# -- a prebuilt ReAct agent: fake tool-calling model + a real @tool -------------------------


@tool
def search(query: str) -> str:
    """Look ``query`` up."""
    _count("tool:search")
    return f"results for {query}"


class FakeToolModel(BaseChatModel):
    """Asks for one ``search`` per question, then answers with what the tool returned."""

    @property
    def _llm_type(self) -> str:
        return "fake-tool-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeToolModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kw):
        _count("model")
        last = messages[-1]
        if isinstance(last, ToolMessage):
            message = AIMessage(content=f"answer: {last.content}")
        else:
            asked = sum(isinstance(m, HumanMessage) for m in messages)
            message = AIMessage(
                content="",
                tool_calls=[
                    {"name": "search", "args": {"query": str(last.content)}, "id": f"c{asked}"}
                ],
            )
        return ChatResult(generations=[ChatGeneration(message=message)])


def react_agent() -> Any:
    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent's move to langchain.agents
        return create_react_agent(FakeToolModel(), [search])


def search_tools() -> ToolNode:
    """A ``ToolNode`` (a Runnable, not a function) usable as a variant of ``tools``."""
    return ToolNode([search])


# -- map-reduce with Send; one task fails once ----------------------------------------------


class MapState(TypedDict, total=False):
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]
    best: str


class JokeState(TypedDict):
    subject: str


def _plan(state: MapState) -> dict[str, Any]:
    _count("plan")
    return {"subjects": ["a", "b", "c"]}


def _fan_out(state: MapState) -> list[Send]:
    return [Send("write", {"subject": s}) for s in state["subjects"]]


def _write(state: JokeState) -> dict[str, Any]:
    _count(f"write:{state['subject']}")
    if state["subject"] == "b" and _FAILURES.get("write:b"):
        # Fail after the other tasks have finished and their writes are stored: which of
        # them LangGraph keeps when a sibling fails while they still run is a race.
        time.sleep(0.1)
    _fail_once(f"write:{state['subject']}")
    return {"jokes": [f"joke about {state['subject']}"]}


def _pick(state: MapState) -> dict[str, Any]:
    _count("pick")
    return {"best": sorted(state["jokes"])[-1]}


def map_reduce() -> StateGraph:
    builder = StateGraph(MapState)
    builder.add_node("plan", _plan)
    builder.add_node("write", _write)
    builder.add_node("pick", _pick)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", _fan_out, ["write"])
    builder.add_edge("write", "pick")
    builder.add_edge("pick", END)
    return builder


# -- human in the loop -------------------------------------------------------------------


class HumanState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    answer: str


def _tagger(name: str):
    def node(state: HumanState) -> dict[str, Any]:
        _count(name)
        return {"log": [name]}

    return node


def _human_node(state: HumanState) -> dict[str, Any]:
    _count("human_node")
    answer = interrupt({"question": "approve?"})
    return {"answer": answer, "log": [f"human:{answer}"]}


def human_in_the_loop() -> Any:
    builder = StateGraph(HumanState)
    builder.add_node("draft", _tagger("draft"))
    builder.add_node("human_node", _human_node)
    builder.add_node("publish", _tagger("publish"))
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "human_node")
    builder.add_edge("human_node", "publish")
    builder.add_edge("publish", END)
    return builder.compile()


# -- subgraphs -----------------------------------------------------------------------------


def _inner(asks: bool) -> Any:
    builder = StateGraph(HumanState)
    builder.add_node("inner_1", _tagger("inner_1"))
    builder.add_node("inner_2", _human_node if asks else _tagger("inner_2"))
    builder.add_edge(START, "inner_1")
    builder.add_edge("inner_1", "inner_2")
    builder.add_edge("inner_2", END)
    return builder.compile()


def _with_sub(asks: bool) -> StateGraph:
    builder = StateGraph(HumanState)
    builder.add_node("before", _tagger("before"))
    builder.add_node("sub", _inner(asks))
    builder.add_node("after", _tagger("after"))
    builder.add_edge(START, "before")
    builder.add_edge("before", "sub")
    builder.add_edge("sub", "after")
    builder.add_edge("after", END)
    return builder


def subgraph() -> StateGraph:
    return _with_sub(asks=False)


def interrupting_subgraph() -> StateGraph:
    return _with_sub(asks=True)


# -- pydantic state, Command(goto=...), RetryPolicy ---------------------------------------


class Ticket(BaseModel):
    title: str = ""
    priority: int = 0
    notes: list[str] = Field(default_factory=list)


def _triage(state: Ticket) -> dict[str, Any]:
    _count("triage")
    return {"priority": len(state.title) % 3 + 1, "notes": [*state.notes, "triaged"]}


def _route(state: Ticket) -> Command:
    _count("route")
    target = "urgent" if state.priority >= 2 else "normal"
    return Command(goto=target, update={"notes": [*state.notes, f"to {target}"]})


def _handler(name: str):
    def node(state: Ticket) -> dict[str, Any]:
        _count(name)
        return {"notes": [*state.notes, name]}

    return node


def pydantic_command() -> StateGraph:
    """Pydantic state; ``route`` picks the next node with ``Command(goto=...)``."""
    builder = StateGraph(Ticket)
    builder.add_node("triage", _triage)
    builder.add_node("route", _route, destinations=("urgent", "normal"))
    builder.add_node("urgent", _handler("urgent"))
    builder.add_node("normal", _handler("normal"))
    builder.add_edge(START, "triage")
    builder.add_edge("triage", "route")
    builder.add_edge("urgent", END)
    builder.add_edge("normal", END)
    return builder


class CountState(TypedDict, total=False):
    n: int
    log: Annotated[list[str], operator.add]


def _shaky(state: CountState) -> dict[str, Any]:
    _count("shaky")
    _fail_once("shaky")
    return {"n": state.get("n", 0) + 1, "log": ["shaky"]}


def _step(name: str):
    def node(state: CountState) -> dict[str, Any]:
        _count(name)
        return {"n": state.get("n", 0) + 1, "log": [name]}

    return node


def retrying() -> StateGraph:
    """first -> shaky (fails once, retried by its RetryPolicy) -> last."""
    builder = StateGraph(CountState)
    builder.add_node("first", _step("first"))
    builder.add_node(
        "shaky",
        _shaky,
        retry_policy=RetryPolicy(
            max_attempts=3, initial_interval=0, jitter=False, retry_on=RuntimeError
        ),
    )
    builder.add_node("last", _step("last"))
    builder.add_edge(START, "first")
    builder.add_edge("first", "shaky")
    builder.add_edge("shaky", "last")
    builder.add_edge("last", END)
    return builder


def _loop_edge(state: CountState) -> str:
    return "again" if state.get("n", 0) < 3 else "done"


def looping_async() -> StateGraph:
    """``async def`` nodes in a conditional loop: up -> (up again until n >= 3) -> done."""

    async def up(state: CountState) -> dict[str, Any]:
        _count("up")
        return {"n": state.get("n", 0) + 1, "log": ["up"]}

    async def done(state: CountState) -> dict[str, Any]:
        _count("done")
        return {"log": ["done"]}

    builder = StateGraph(CountState)
    builder.add_node("up", up)
    builder.add_node("done", done)
    builder.add_edge(START, "up")
    builder.add_conditional_edges("up", _loop_edge, {"again": "up", "done": "done"})
    builder.add_edge("done", END)
    return builder


GRAPHS = {
    "react_agent": (react_agent, {"messages": [("user", "what is langgraph?")]}),
    "map_reduce": (map_reduce, {"subjects": []}),
    "human_in_the_loop": (human_in_the_loop, {"log": []}),
    "subgraph": (subgraph, {"log": []}),
    "interrupting_subgraph": (interrupting_subgraph, {"log": []}),
    "pydantic_command": (pydantic_command, {"title": "disk full"}),
    "retrying": (retrying, {"n": 0}),
}
"""name -> (graph factory, initial state)"""

FORK_UPDATES = {
    "react_agent": {"messages": [HumanMessage("and pregel?", id="u1")]},
    "map_reduce": {"subjects": ["x", "y"]},
    "human_in_the_loop": {"log": ["edited"]},
    "subgraph": {"log": ["edited"]},
    "interrupting_subgraph": {"log": ["edited"]},
    "pydantic_command": {"title": "x"},
    "retrying": {"n": 10},
}
"""name -> the ``updates`` a fork applies"""
