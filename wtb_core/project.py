"""``WorkflowProject``: a LangGraph workflow with everything WTB needs to run and vary it."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wtb_core.config import (
    EnvironmentConfig,
    EnvSpec,
    ExecutionConfig,
    FileTrackingConfig,
    NodeResourceConfig,
)
from wtb_core.engine.graphs import GraphTemplate, template_from
from wtb_core.errors import ProjectError

DEFAULT_VARIANT = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def callable_reference(func: Any) -> str | None:
    """``module:qualname`` when ``func`` can be imported back by that name, else ``None``."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    return f"{module}:{qualname}"


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProjectError(
            f"{kind} name {name!r} is not valid: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


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


class WorkflowProject:
    """A LangGraph workflow registered with the bench.

    ``graph_factory`` returns a ``StateGraph`` or a compiled graph; WTB recompiles a copy
    with its own checkpointer and never mutates the object the factory returns.
    """

    def __init__(
        self,
        name: str,
        graph_factory: Callable[[], Any],
        state_schema: type | None = None,
        description: str = "",
        file_tracking: FileTrackingConfig | None = None,
        environment: EnvironmentConfig | None = None,
        execution: ExecutionConfig | None = None,
    ) -> None:
        self.name = check_name("project", name)
        if not callable(graph_factory):
            raise ProjectError(
                f"graph_factory of project {name!r} must be a function returning a StateGraph "
                f"or compiled graph, not {type(graph_factory).__name__}"
            )
        self.graph_factory = graph_factory
        self.description = description
        self.file_tracking = file_tracking or FileTrackingConfig()
        self.environment = environment or EnvironmentConfig()
        self.execution = execution or ExecutionConfig()
        self._state_schema = state_schema
        self._template: GraphTemplate | None = None
        self._lock = threading.RLock()
        self._node_variants: dict[str, dict[str, NodeVariant]] = {}
        self._workflow_variants: dict[str, WorkflowVariant] = {}
        self._workflow_templates: dict[str, GraphTemplate] = {}
        self._revision = 0

    def __repr__(self) -> str:
        return f"WorkflowProject(name={self.name!r})"

    # -- the graph ---------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """Changes whenever the project's graphs or variants change (cache key)."""
        return self._revision

    @property
    def factory_ref(self) -> str | None:
        """``module:function`` of the graph factory, when it can be imported back."""
        return callable_reference(self.graph_factory)

    @property
    def state_schema(self) -> type:
        return self._state_schema or self.template().builder.state_schema

    def template(self) -> GraphTemplate:
        """The base graph (built once from ``graph_factory``)."""
        with self._lock:
            if self._template is None:
                self._template = self._build_template(self.graph_factory, "graph_factory")
            return self._template

    def _build_template(self, factory: Callable[[], Any], what: str) -> GraphTemplate:
        origin = f"{what} of project {self.name!r}"
        try:
            graph = factory()
        except Exception as exc:
            raise ProjectError(f"{origin} raised {type(exc).__name__}: {exc}") from exc
        return template_from(graph, origin)

    def workflow_template(self, workflow_variant: str | None) -> GraphTemplate:
        """The graph of a workflow variant (``None`` = the base graph)."""
        if workflow_variant is None:
            return self.template()
        self._workflow_variant(workflow_variant)
        return self._workflow_templates[workflow_variant]

    def node_names(self) -> list[str]:
        return self.template().node_names

    # -- node variants -----------------------------------------------------------------

    def register_variant(
        self,
        node: str,
        name: str,
        implementation: Callable[..., Any],
        description: str = "",
        environment: EnvSpec | None = None,
        resources: NodeResourceConfig | None = None,
    ) -> NodeVariant:
        """Register an alternative implementation of ``node`` under ``name``."""
        check_name("variant", name)
        if node not in self.node_names():
            raise ProjectError(
                f"project {self.name!r} has no node {node!r} to vary; its nodes are: "
                f"{', '.join(self.node_names())}"
            )
        if name == DEFAULT_VARIANT:
            raise ProjectError(
                f"variant name {DEFAULT_VARIANT!r} is reserved for the node's original "
                "implementation; choose another name"
            )
        if not callable(implementation):
            raise ProjectError(
                f"implementation of variant {node}:{name} must be callable, "
                f"not {type(implementation).__name__}"
            )
        with self._lock:
            variants = self._node_variants.setdefault(node, {})
            if name in variants:
                raise ProjectError(
                    f"node {node!r} already has a variant {name!r}; remove it first "
                    "(project.remove_variant) or pick another name"
                )
            variant = NodeVariant(node, name, implementation, description, environment, resources)
            variants[name] = variant
            self._revision += 1
        return variant

    def remove_variant(self, node: str, name: str) -> None:
        with self._lock:
            self.node_variant(node, name)
            if name == DEFAULT_VARIANT:
                raise ProjectError("the 'default' variant is the node itself and cannot be removed")
            del self._node_variants[node][name]
            self._revision += 1

    def list_variants(self, node: str | None = None) -> dict[str, list[str]]:
        """``{node: ["default", ...]}`` for every node (or just ``node``)."""
        nodes = self.node_names()
        if node is not None:
            if node not in nodes:
                raise ProjectError(f"project {self.name!r} has no node {node!r}")
            nodes = [node]
        return {n: [DEFAULT_VARIANT, *self._node_variants.get(n, {})] for n in nodes}

    def node_variant(self, node: str, name: str) -> NodeVariant | None:
        """The variant ``name`` of ``node``; ``None`` for ``"default"``."""
        if node not in self.node_names():
            raise ProjectError(
                f"project {self.name!r} has no node {node!r}; its nodes are: "
                f"{', '.join(self.node_names())}"
            )
        if name == DEFAULT_VARIANT:
            return None
        try:
            return self._node_variants[node][name]
        except KeyError:
            raise ProjectError(
                f"node {node!r} of project {self.name!r} has no variant {name!r}; available: "
                f"{', '.join(self.list_variants(node)[node])}"
            ) from None

    # -- workflow variants -------------------------------------------------------------

    def register_workflow_variant(
        self,
        name: str,
        graph_factory: Callable[[], Any],
        description: str = "",
        state_schema: type | None = None,
    ) -> WorkflowVariant:
        """Register a whole alternative graph under ``name``."""
        check_name("workflow variant", name)
        if not callable(graph_factory):
            raise ProjectError(f"graph_factory of workflow variant {name!r} must be callable")
        with self._lock:
            if name in self._workflow_variants:
                raise ProjectError(
                    f"project {self.name!r} already has a workflow variant {name!r}; remove "
                    "it first (project.remove_workflow_variant) or pick another name"
                )
            template = self._build_template(graph_factory, f"workflow variant {name!r}")
            variant = WorkflowVariant(name, graph_factory, description, state_schema)
            self._workflow_variants[name] = variant
            self._workflow_templates[name] = template
            self._revision += 1
        return variant

    def list_workflow_variants(self) -> list[str]:
        return list(self._workflow_variants)

    def remove_workflow_variant(self, name: str) -> None:
        with self._lock:
            self._workflow_variant(name)
            del self._workflow_variants[name]
            del self._workflow_templates[name]
            self._revision += 1

    def _workflow_variant(self, name: str) -> WorkflowVariant:
        try:
            return self._workflow_variants[name]
        except KeyError:
            available = ", ".join(self._workflow_variants) or "none registered"
            raise ProjectError(
                f"project {self.name!r} has no workflow variant {name!r} (available: {available})"
            ) from None

    # -- what an execution runs --------------------------------------------------------

    def resolve_variants(
        self, variant_config: dict[str, str] | None, workflow_variant: str | None
    ) -> dict[str, Callable[..., Any]]:
        """Check a variant selection and return the node replacements it implies."""
        template = self.workflow_template(workflow_variant)
        replacements: dict[str, Callable[..., Any]] = {}
        for node, name in (variant_config or {}).items():
            if workflow_variant is not None and node not in template.node_names:
                raise ProjectError(
                    f"workflow variant {workflow_variant!r} has no node {node!r}; its nodes "
                    f"are: {', '.join(template.node_names)}"
                )
            variant = self.node_variant(node, name)
            if variant is not None:
                replacements[node] = variant.implementation
        return replacements
