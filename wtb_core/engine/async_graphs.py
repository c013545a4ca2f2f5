"""Graphs with ``async def`` nodes: found at build time, driven with ``astream``.

LangGraph's sync ``stream`` cannot call an ``async def`` node ("No synchronous function
provided"), so a graph that has one is compiled over ``AsyncSaver`` (the async half of the
bench's sync saver) and driven on an event loop. ``is_async_graph`` tells the two apart
by that checkpointer, which ``build_graph`` chooses.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from langgraph._internal._runnable import RunnableCallable
from langgraph.graph import StateGraph

from wtb_core.engine.async_saver import AsyncSaver

T = TypeVar("T")


def has_async_nodes(builder: StateGraph[Any]) -> bool:
    """Whether a node of ``builder`` (or of a subgraph used as a node) is ``async def``."""
    for spec in builder.nodes.values():
        runnable = spec.runnable
        if isinstance(runnable, RunnableCallable) and runnable.func is None:
            return True
        inner = getattr(runnable, "builder", None)
        if isinstance(inner, StateGraph) and has_async_nodes(inner):
            return True
    return False


def is_async_graph(graph: Any) -> bool:
    return isinstance(graph.checkpointer, AsyncSaver)


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end from sync code, with this thread's context variables.

    Called from inside a running event loop (a notebook, an async application), it runs
    on a thread of its own, since a loop cannot be nested.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1, thread_name_prefix="wtb-async") as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()
