"""Nodes of the benchmark (standard library only: workers import this module)."""

from __future__ import annotations

from typing import Any


def step(state: dict[str, Any]) -> dict[str, Any]:
    """A trivial node: one counter up."""
    return {"n": state.get("n", 0) + 1}
