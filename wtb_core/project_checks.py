"""The rules a project's parts follow: names (projects, variants, version labels) and what
may implement a node. ``WorkflowProject`` and the YAML loader (``project_yaml``) both check
with them, each naming where the bad value came from."""

from __future__ import annotations

import re
from typing import Any

from wtb_core.errors import ProjectError

INITIAL_VERSION = "1.0"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_MAX_VERSION_LENGTH = 50  # the executions table's project_version column


def is_node_implementation(obj: Any) -> bool:
    """Whether ``StateGraph.add_node`` takes ``obj``: a function or a Runnable (``ToolNode``,
    a compiled subgraph, an LCEL chain)."""
    from langchain_core.runnables import Runnable

    return callable(obj) or isinstance(obj, Runnable)


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProjectError(
            f"{kind} name {name!r} is not valid: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def check_version_label(label: Any) -> str:
    """A version label is a name (``"1.0"``, ``"2.0-rc1"``) of at most 50 characters."""
    name = check_name("version", label)
    if len(name) > _MAX_VERSION_LENGTH:
        raise ProjectError(
            f"version label {name[:20]!r}... is {len(name)} characters long; "
            f"use at most {_MAX_VERSION_LENGTH}"
        )
    return name


def callable_reference(func: Any) -> str | None:
    """``module:qualname`` when ``func`` can be imported back by that name, else ``None``."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    return f"{module}:{qualname}"
