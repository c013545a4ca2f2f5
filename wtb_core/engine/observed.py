"""Every call of a node's callable, told to the observer a drive installed.

``build_graph`` wraps the callable of each function node with ``observed``; while a drive
runs inside ``observing(observer)`` (a context variable: LangGraph runs tasks in copies of
the caller's context, on its own threads for parallel nodes), each call tells
``observer.started(node)`` right before the node runs, in the node's own thread and context,
and ``observer.ended(handle, error)`` right after. Without an observer a call costs one
context-variable read. This is how node spans are opened (``telemetry.nodes``): cheaper
than a LangChain callback handler, which makes LangChain report every runnable inside
every node.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol


class NodeObserver(Protocol):
    def started(self, node: str) -> object:
        """The node is about to run (in its own thread and context); returns a handle."""

    def ended(self, handle: object, error: BaseException | None) -> None:
        """The node returned (``error`` ``None``) or raised ``error``."""


_observer: ContextVar[NodeObserver | None] = ContextVar("wtb_node_observer", default=None)


@contextlib.contextmanager
def observing(observer: NodeObserver | None) -> Iterator[None]:
    """Tell ``observer`` of every node call inside the block (``None``: nobody)."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


def unobserved_nodes(graph: Any) -> list[str]:
    """The nodes of a compiled ``graph`` that do not tell an observer of their calls
    (Runnables, such as a compiled subgraph added as a node)."""
    builder = getattr(graph, "builder", None)
    nodes = getattr(builder, "nodes", {})
    return [
        node
        for node, spec in nodes.items()
        if not getattr(getattr(spec.runnable, "func", None), "__wtb_observed__", False)
        and not getattr(getattr(spec.runnable, "afunc", None), "__wtb_observed__", False)
    ]


def observed(node: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` (sync or async), its calls told to the current observer."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_call(*args: Any, **kwargs: Any) -> Any:
            observer = _observer.get()
            if observer is None:
                return await func(*args, **kwargs)
            handle = observer.started(node)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                observer.ended(handle, exc)
                raise
            observer.ended(handle, None)
            return result

        async_call.__wtb_observed__ = True  # type: ignore[attr-defined]
        return async_call

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        observer = _observer.get()
        if observer is None:
            return func(*args, **kwargs)
        handle = observer.started(node)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            observer.ended(handle, exc)
            raise
        observer.ended(handle, None)
        return result

    call.__wtb_observed__ = True  # type: ignore[attr-defined]
    return call
