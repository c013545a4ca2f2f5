"""One workflow with every shape the span tree must show: a conditional loop, a ``Send``
fan-out whose two tasks provably overlap, a node that fails once and is retried, and an
``interrupt()``."""

from __future__ import annotations

import operator
import threading
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import RetryPolicy, Send, interrupt
from opentelemetry import trace


class State(TypedDict, total=False):
    count: int
    items: Annotated[list[str], operator.add]
    answer: str


BARRIER = threading.Barrier(2, timeout=10)  # both fan-out tasks run at once, or fail
FLAKY = {"fail": True}
INNER = {"provider": None}


def plan(state: State) -> dict[str, Any]:
    return {"count": state.get("count", 0) + 1}


def route(state: State) -> Any:
    if state["count"] < 2:
        return "plan"
    return [Send("work", {"items": [name]}) for name in ("a", "b")]


def work(state: State) -> dict[str, Any]:
    BARRIER.wait()
    provider = INNER["provider"] or trace.get_tracer_provider()
    with provider.get_tracer("llm-client").start_as_current_span("chat model"):
        pass
    return {"items": [state["items"][0].upper()]}


def flaky(state: State) -> dict[str, Any]:
    if FLAKY["fail"]:
        FLAKY["fail"] = False
        raise ConnectionError("the model endpoint hung up")
    return {}


def ask(state: State) -> dict[str, Any]:
    return {"answer": interrupt("ship it?")}


def shapes() -> StateGraph:
    graph = StateGraph(State)
    graph.add_node("plan", plan)
    graph.add_node("work", work)
    graph.add_node("flaky", flaky, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.01))
    graph.add_node("ask", ask)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", route, ["plan", "work"])
    graph.add_edge("work", "flaky")
    graph.add_edge("flaky", "ask")
    graph.add_edge("ask", END)
    return graph


def broken() -> StateGraph:
    def explode(state: State) -> dict[str, Any]:
        raise KeyError("missing")

    graph = StateGraph(State)
    graph.add_node("explode", explode)
    graph.add_edge(START, "explode")
    graph.add_edge("explode", END)
    return graph


def with_subgraph() -> StateGraph:
    """start -> plan -> sub (a compiled subgraph added as a node: inner -> inner2) -> END."""
    inner = StateGraph(State)
    inner.add_node("inner", plan)
    inner.add_node("inner2", plan)
    inner.add_edge(START, "inner")
    inner.add_edge("inner", "inner2")
    inner.add_edge("inner2", END)
    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("sub", inner.compile())
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "sub")
    builder.add_edge("sub", END)
    return builder


class ChatState(TypedDict, total=False):
    messages: Annotated[list[Any], add_messages]


def _answer(state: ChatState) -> dict[str, Any]:
    question = state["messages"][-1].content
    return {
        "messages": [
            AIMessage(
                f"looking up {question}",
                tool_calls=[{"id": "call-1", "name": "search", "args": {"q": question}}],
            ),
            ToolMessage("3 documents", tool_call_id="call-1"),
            AIMessage("LangGraph is a graph runtime [d1]"),
        ]
    }


def chat() -> StateGraph:
    """One node answering the last human message with a tool call, its result and a reply."""
    builder = StateGraph(ChatState)
    builder.add_node("answer", _answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder
