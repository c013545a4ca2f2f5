"""A project's node variants: alternative implementations of single nodes, by node and name.

``NodeVariants`` owns the rules of registering, finding and dropping them; the project
passes in its current node names and calls it under its lock (it is not thread-safe on
its own). ``"default"`` is never stored: it means the node as the graph defines it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wtb_core.config import EnvSpec, NodeResourceConfig
from wtb_core.errors import ProjectError
from wtb_core.project_checks import is_node_implementation

DEFAULT_VARIANT = "default"


@dataclass(frozen=True)
class NodeVariant:
    """An alternative implementation of one node."""

    node: str
    name: str
    implementation: Callable[..., Any]
    description: str = ""
    environment: EnvSpec | None = None
    resources: NodeResourceConfig | None = None


@dataclass(frozen=True)
class WorkflowVariant:
    """An alternative graph for the whole workflow."""

    name: str
    graph_factory: Callable[[], Any]
    description: str = ""
    state_schema: type | None = None


class NodeVariants:
    """The node variants of project ``project``: ``{node: {name: NodeVariant}}``."""

    def __init__(self, project: str) -> None:
        self._project = project
        self._by_node: dict[str, dict[str, NodeVariant]] = {}

    def add(self, variant: NodeVariant, nodes: list[str]) -> None:
        """Register ``variant``; ``ProjectError`` for a reserved or taken name, something
        that is not a node implementation, or a node not in ``nodes``."""
        node, name = variant.node, variant.name
        if name == DEFAULT_VARIANT:
            raise ProjectError(
                f"variant name {DEFAULT_VARIANT!r} is reserved for the node's original "
                "implementation; choose another name"
            )
        if not is_node_implementation(variant.implementation):
            raise ProjectError(
                f"implementation of variant {node}:{name} must be a function or a Runnable "
                f"(what StateGraph.add_node takes), not {type(variant.implementation).__name__}"
            )
        if node not in nodes:
            raise ProjectError(
                f"project {self._project!r} has no node {node!r} to vary; its nodes are: "
                f"{', '.join(nodes)}"
            )
        variants = self._by_node.setdefault(node, {})
        if name in variants:
            raise ProjectError(
                f"node {node!r} already has a variant {name!r}; remove it first "
                "(project.remove_variant) or pick another name"
            )
        variants[name] = variant

    def remove(self, node: str, name: str, nodes: list[str]) -> None:
        self.get(node, name, nodes)
        if name == DEFAULT_VARIANT:
            raise ProjectError("the 'default' variant is the node itself and cannot be removed")
        del self._by_node[node][name]

    def names(self, nodes: list[str]) -> dict[str, list[str]]:
        """``{node: ["default", ...]}`` for each of ``nodes``."""
        return {n: [DEFAULT_VARIANT, *self._by_node.get(n, {})] for n in nodes}

    def get(self, node: str, name: str, nodes: list[str]) -> NodeVariant | None:
        """The variant ``name`` of ``node``; ``None`` for ``"default"``."""
        if node not in nodes:
            raise ProjectError(
                f"project {self._project!r} has no node {node!r}; its nodes are: {', '.join(nodes)}"
            )
        if name == DEFAULT_VARIANT:
            return None
        try:
            return self._by_node[node][name]
        except KeyError:
            raise ProjectError(
                f"node {node!r} of project {self._project!r} has no variant {name!r}; "
                f"available: {', '.join(self.names([node])[node])}"
            ) from None

    def drop_outside(self, nodes: list[str]) -> tuple[str, ...]:
        """Remove the variants of nodes not in ``nodes``; ``"node:variant"`` of each."""
        dropped = tuple(
            f"{node}:{name}"
            for node, variants in self._by_node.items()
            if node not in nodes
            for name in variants
        )
        self._by_node = {n: v for n, v in self._by_node.items() if n in nodes}
        return dropped

    def implementations(self) -> list[Callable[..., Any]]:
        return [v.implementation for vs in self._by_node.values() for v in vs.values()]
