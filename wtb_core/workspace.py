"""The workspace directory of the execution running in the current context."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

_current_workspace: ContextVar[Path | None] = ContextVar("wtb_current_workspace", default=None)


def current_workspace() -> Path:
    """Return this execution's workspace directory (call it inside a node).

    Outside an execution that has a workspace of its own this is the process's current
    working directory, so a node written against it also runs under bare LangGraph.
    """
    return _current_workspace.get() or Path.cwd()


@contextlib.contextmanager
def use_workspace(path: Path | None) -> Iterator[None]:
    """Make ``path`` the current workspace for the code running inside the block."""
    token = _current_workspace.set(path)
    try:
        yield
    finally:
        _current_workspace.reset(token)
