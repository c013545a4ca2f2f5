"""Node functions the tests run inside uv environments.

This module imports only the standard library at the top — a worker imports it in an
environment that has neither WTB nor LangGraph; each node imports its own dependency.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import time
from pathlib import Path
from typing import Any


def report(state: dict[str, Any]) -> dict[str, Any]:
    """Which ``tomli`` this process imported, and where it runs."""
    import tomli

    seen = dict(state.get("seen") or {})
    seen[os.environ.get("WTB_TEST_NODE", "report")] = importlib.metadata.version("tomli")
    return {
        "seen": seen,
        "module": tomli.__file__,
        "executable": sys.executable,
        "cwd": os.getcwd(),
        "flag": os.environ.get("WTB_TEST_FLAG"),
        "pid": os.getpid(),
    }


def versions(state: dict[str, Any]) -> dict[str, Any]:
    """The versions of the test packages this process has (``None`` for those it lacks)."""
    found = {}
    for name in ("tomli", "termcolor", "tabulate"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    seen = dict(state.get("seen") or {})
    seen[os.environ.get("WTB_TEST_NODE", "?")] = {"pid": os.getpid(), **found}
    return {"seen": seen, "steps": [*state.get("steps", []), "versions"]}


def plain(state: dict[str, Any]) -> dict[str, Any]:
    """A node with nothing to import: its process and the steps so far."""
    return {"pid": os.getpid(), "steps": [*state.get("steps", []), "plain"]}


async def async_plain(state: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    await asyncio.sleep(0)
    return {"pid": os.getpid(), "steps": [*state.get("steps", []), "async"]}


def fails(state: dict[str, Any]) -> dict[str, Any]:
    raise ValueError(f"no answer for {state.get('query')!r}")


def write_file(state: dict[str, Any]) -> dict[str, Any]:
    Path("out").mkdir(exist_ok=True)
    Path("out", "note.txt").write_text(f"written by {os.getpid()}")
    return {"steps": [*state.get("steps", []), "wrote"]}


def slow(state: dict[str, Any]) -> dict[str, Any]:
    """Note this process's id in the file ``state["pid_file"]`` names, then sleep."""
    Path(state["pid_file"]).write_text(str(os.getpid()))
    time.sleep(float(state.get("sleep", 30)))
    return {"steps": [*state.get("steps", []), "slow"]}


def crash(state: dict[str, Any]) -> dict[str, Any]:
    os._exit(17)


def returns_foreign(state: dict[str, Any]) -> dict[str, Any]:
    """An update holding an object of the environment's own package."""
    import tabulate

    return {"result": tabulate.Line("-", "-", "-", "-")}


def echo_messages(state: dict[str, Any]) -> dict[str, Any]:
    from langchain_core.messages import AIMessage

    last = state["messages"][-1]
    return {"messages": [AIMessage(content=f"echo: {last.content}")], "kind": type(last).__name__}


def tagged(label: str, state: dict[str, Any]) -> dict[str, Any]:
    """Used through ``functools.partial(tagged, label)``."""
    return {"steps": [*state.get("steps", []), label]}


def returns_file(state: dict[str, Any]) -> dict[str, Any]:
    return {"handle": open(__file__)}  # the point: an open file cannot cross


def count_messages(state: dict[str, Any]) -> dict[str, Any]:
    return {"steps": [f"{len(state['messages'])} messages"]}


def trace_seen(state: dict[str, Any]) -> dict[str, Any]:
    """The trace context the node runs in: OpenTelemetry's current span (when the
    environment has opentelemetry-api) and the ``TRACEPARENT`` variable."""
    seen: dict[str, Any] = {"traceparent": os.environ.get("TRACEPARENT")}
    try:
        from opentelemetry import trace
    except ImportError:
        return {"result": seen}
    context = trace.get_current_span().get_span_context()
    seen.update(trace_id=f"{context.trace_id:032x}", span_id=f"{context.span_id:016x}")
    return {"result": seen}
