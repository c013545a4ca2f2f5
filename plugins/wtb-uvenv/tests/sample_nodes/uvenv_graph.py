"""A module that imports LangGraph at the top, as a graph module does: a worker in an
environment without LangGraph cannot import the node defined here."""

from __future__ import annotations

from typing import Any

from langgraph.graph import StateGraph  # noqa: F401 - the point: the environment lacks it


def node_beside_the_graph(state: dict[str, Any]) -> dict[str, Any]:
    return {"steps": ["unreachable"]}
