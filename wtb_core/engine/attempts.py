"""Every attempt of a node with a ``RetryPolicy``, told to the driver.

LangGraph retries a failing node inside one task: the stream shows the task once, so a
retry that then succeeded would leave no trace. ``build_graph`` wraps the callables of
such nodes with ``reporting_attempts``; each exception they raise goes to the listener the
driver installed with ``report_attempts`` (a context variable: LangGraph runs tasks in
copies of the caller's context) before LangGraph sees it. Other nodes are not wrapped.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from langgraph.errors import GraphBubbleUp

AttemptListener = Callable[[str, "int | None", BaseException], None]

_listener: ContextVar[AttemptListener | None] = ContextVar("wtb_attempt_listener", default=None)


@contextlib.contextmanager
def report_attempts(listener: AttemptListener) -> Iterator[None]:
    """Send the failed attempts of the nodes run inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def _attempt() -> int | None:
    """Which attempt of the running node this is (1 first), as LangGraph counts it."""
    try:
        from langgraph.runtime import get_runtime

        info = get_runtime().execution_info
        return info.node_attempt if info is not None else None
    except Exception:  # outside a LangGraph task, or a LangGraph without execution_info
        return None


def _tell(node: str, error: Exception) -> None:
    listener = _listener.get()
    if listener is not None and not isinstance(error, GraphBubbleUp):  # interrupt, Command
        listener(node, _attempt(), error)


def reporting_attempts(node: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` (sync or async), telling each exception it raises to the listener."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_attempt(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except Exception as exc:
                _tell(node, exc)
                raise

        return async_attempt

    @functools.wraps(func)
    def attempt(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            _tell(node, exc)
            raise

    return attempt
