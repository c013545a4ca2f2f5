"""``WorkflowProject``: a LangGraph workflow with everything WTB needs to run and vary it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wtb_core.config import (
    EnvironmentConfig,
    EnvSpec,
    ExecutionConfig,
    FileTrackingConfig,
    NodeResourceConfig,
)
from wtb_core.engine.graphs import GraphTemplate, template_from, with_nodes
from wtb_core.errors import ProjectError
from wtb_core.project_checks import (
    INITIAL_VERSION,
    callable_reference,
    check_name,
    is_node_implementation,
)
from wtb_core.project_variants import NodeVariant, NodeVariants, WorkflowVariant
from wtb_core.project_versions import ProjectVersion, VersionHistory

WORKFLOW_KEY = "_workflow"  # a variant-matrix key, and "_workflow:<name>" environments
YAML_REF = "yaml:"


class WorkflowProject:
    """A LangGraph workflow registered with the bench.

    ``graph_factory`` returns a ``StateGraph`` or a compiled graph; WTB recompiles a copy
    with its own checkpointer and never mutates the object the factory returns.

    ``update_node`` / ``update_workflow`` change the project permanently and append a
    ``ProjectVersion`` to its history; ``restore_version`` brings any earlier one back.
    ``graph_factory`` and ``template()`` always describe the version in force.

    ``recorded_nodes`` names the nodes whose outputs a run with ``record=True`` stores
    and a run with ``replay=...`` serves instead of calling them (external calls: LLMs,
    tools, retrieval); see ``engine.recorded``.
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
        initial_version: str = INITIAL_VERSION,
        recorded_nodes: Iterable[str] | None = None,
    ) -> None:
        self.name = check_name("project", name)
        if not callable(graph_factory):
            raise ProjectError(
                f"graph_factory of project {name!r} must be a function returning a StateGraph "
                f"or compiled graph, not {type(graph_factory).__name__}"
            )
        self.graph_factory = graph_factory
        self.description = description
        self.source: Path | None = None  # the YAML file the project was loaded from
        self.file_tracking = file_tracking or FileTrackingConfig()
        self.environment = environment or EnvironmentConfig()
        self.execution = execution or ExecutionConfig()
        self.recorded_nodes = _node_names("recorded_nodes", recorded_nodes)
        self._state_schema = state_schema
        self._template: GraphTemplate | None = None
        self._lock = threading.RLock()
        self._node_variants = NodeVariants(self.name)
        self._workflow_variants: dict[str, WorkflowVariant] = {}
        self._workflow_templates: dict[str, GraphTemplate] = {}
        self._revision = 0
        self._graph_templates: dict[int, GraphTemplate] = {}  # by ProjectVersion.graph_number
        self._history = VersionHistory(self.name, initial_version, graph_factory, state_schema)

    def __repr__(self) -> str:
        return f"WorkflowProject(name={self.name!r})"

    # Pickling (batch runners ship projects to worker processes): the lock and the built
    # graphs stay behind; the worker rebuilds graphs from the factories on first use.
    _UNPICKLED = ("_lock", "_template", "_graph_templates", "_workflow_templates")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._UNPICKLED}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._template = None
        self._graph_templates = {}
        self._workflow_templates = {}

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> WorkflowProject:
        """Load a project from a ``wtb_project.yaml`` file (see ``wtb_core.project_yaml``).

        Every problem is a ``ProjectError`` naming the file and the key path.
        """
        from wtb_core.project_yaml import load_project  # YAML support loads on first use

        project = load_project(path, cls)
        project.source = Path(path).resolve()
        return project

    # -- the graph ---------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """Changes whenever the project's graphs or variants change (cache key)."""
        return self._revision

    @property
    def factory_ref(self) -> str | None:
        """How a new process gets this project back: ``yaml:<path>`` for a project loaded
        from YAML (with its variants), else ``module:function`` of the graph factory when it
        can be imported back."""
        if self.source is not None:
            return f"{YAML_REF}{self.source}"
        return callable_reference(self.graph_factory)

    @property
    def state_schema(self) -> type:
        return self._state_schema or self.template().builder.state_schema

    def template(self, version: str | None = None) -> GraphTemplate:
        """The graph of ``version`` (default: the version in force): its base graph with its
        node updates applied (the base graph is built once from its ``graph_factory``)."""
        with self._lock:
            if version is not None and version != self.current_version:
                return self._version_template(self._history.find(version))
            if self._template is None:
                self._template = self._version_template(self._history.current)
            return self._template

    def _version_template(self, version: ProjectVersion) -> GraphTemplate:
        with self._lock:
            base = self._graph_templates.get(version.graph_number)
            if base is None:
                what = f"graph_factory (version {version.version!r})"
                base = self._build_template(version.graph_factory, what)
                self._graph_templates[version.graph_number] = base
            return with_nodes(base, version.node_overrides)

    def _build_template(self, factory: Callable[[], Any], what: str) -> GraphTemplate:
        origin = f"{what} of project {self.name!r}"
        try:
            graph = factory()
        except Exception as exc:
            raise ProjectError(f"{origin} raised {type(exc).__name__}: {exc}") from exc
        return template_from(graph, origin)

    def workflow_template(
        self, workflow_variant: str | None, version: str | None = None
    ) -> GraphTemplate:
        """The graph of a workflow variant (``None`` = the base graph of ``version``)."""
        if workflow_variant is None:
            return self.template(version)
        variant = self._workflow_variant(workflow_variant)
        with self._lock:
            if workflow_variant not in self._workflow_templates:
                self._workflow_templates[workflow_variant] = self._build_template(
                    variant.graph_factory, f"workflow variant {workflow_variant!r}"
                )
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
        variant = NodeVariant(node, name, implementation, description, environment, resources)
        with self._lock:
            self._node_variants.add(variant, self.node_names())
            self._revision += 1
        return variant

    def remove_variant(self, node: str, name: str) -> None:
        with self._lock:
            self._node_variants.remove(node, name, self.node_names())
            self._revision += 1

    def list_variants(self, node: str | None = None) -> dict[str, list[str]]:
        """``{node: ["default", ...]}`` for every node (or just ``node``)."""
        nodes = self.node_names()
        if node is not None:
            if node not in nodes:
                raise ProjectError(f"project {self.name!r} has no node {node!r}")
            nodes = [node]
        return self._node_variants.names(nodes)

    def node_variant(self, node: str, name: str) -> NodeVariant | None:
        """The variant ``name`` of ``node``; ``None`` for ``"default"``."""
        return self._node_variants.get(node, name, self.node_names())

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

    # -- versions (permanent updates) --------------------------------------------------

    @property
    def current_version(self) -> str:
        """The label of the version in force (the newest history entry's)."""
        with self._lock:
            return self._history.current.version

    def versions(self) -> list[ProjectVersion]:
        """The version history, oldest first; it only ever grows."""
        with self._lock:
            return self._history.entries()

    def update_node(
        self,
        node: str,
        new_implementation: Callable[..., Any],
        reason: str = "",
        version: str | None = None,
    ) -> ProjectVersion:
        """Permanently replace ``node``'s implementation: ``"default"`` now means it.

        The new version is labelled ``version`` or, by default, the first free minor bump
        of the version in force (``"1.0"`` → ``"1.1"``). Registered variants are kept.
        """
        if not is_node_implementation(new_implementation):
            raise ProjectError(
                f"the new implementation of node {node!r} must be a function or a Runnable "
                f"(what StateGraph.add_node takes), not {type(new_implementation).__name__}"
            )
        with self._lock:
            current = self._history.current
            if node not in self.node_names():
                raise ProjectError(
                    f"project {self.name!r} has no node {node!r} to update (version "
                    f"{current.version!r}); its nodes are: {', '.join(self.node_names())}"
                )
            overrides = {**current.node_overrides, node: new_implementation}
            entry = ProjectVersion(
                version=self._history.new_label(version),
                number=self._history.next_number,
                kind="node_update",
                created_at=datetime.now(UTC),
                graph_factory=current.graph_factory,
                graph_number=current.graph_number,
                node=node,
                reason=reason,
                node_overrides=dict(overrides),
                state_schema=current.state_schema,
            )
            return self._commit(entry, self._version_template(entry))

    def update_workflow(
        self,
        graph_factory: Callable[[], Any],
        version: str = "2.0",
        changelog: str = "",
        state_schema: type | None = None,
    ) -> ProjectVersion:
        """Permanently replace the base graph; the new version is labelled ``version``.

        The new graph is built (and so validated) first. Node updates of earlier versions
        are not carried over: ``graph_factory`` defines every node. Variants whose node is
        not in the new graph are removed and listed in ``dropped_variants``.
        """
        if not callable(graph_factory):
            raise ProjectError(
                f"graph_factory of project {self.name!r} must be a function returning a "
                f"StateGraph or compiled graph, not {type(graph_factory).__name__}"
            )
        with self._lock:
            label = self._history.new_label(version)
            number = self._history.next_number
            base = self._build_template(graph_factory, f"graph_factory (version {label!r})")
            self._graph_templates[number] = base
            entry = ProjectVersion(
                version=label,
                number=number,
                kind="workflow_update",
                created_at=datetime.now(UTC),
                graph_factory=graph_factory,
                graph_number=number,
                changelog=changelog,
                dropped_variants=self._node_variants.drop_outside(base.node_names),
                state_schema=state_schema,
            )
            return self._commit(entry, base)

    def restore_version(self, version: str | int, reason: str = "") -> ProjectVersion:
        """Put an earlier version (by label or 1-based number) back in force.

        Appends a ``"restore"`` entry carrying that version's label and graph; variants
        whose node is not in the restored graph are removed (``dropped_variants``).
        """
        with self._lock:
            target = self._history.find(version)
            template = self._version_template(target)
            dropped = self._node_variants.drop_outside(template.node_names)
            entry = self._history.restore_entry(target, reason, dropped)
            return self._commit(entry, template)

    def _commit(self, entry: ProjectVersion, template: GraphTemplate) -> ProjectVersion:
        """Put ``entry`` in force with ``template`` as its graph (caller holds the lock)."""
        self._history.append(entry)
        self._template = template
        self.graph_factory = entry.graph_factory
        self._state_schema = entry.state_schema
        self._revision += 1
        return entry

    # -- what an execution runs --------------------------------------------------------

    def resolve_variants(
        self,
        variant_config: dict[str, str] | None,
        workflow_variant: str | None,
        version: str | None = None,
    ) -> dict[str, Callable[..., Any]]:
        """Check a variant selection and return the node replacements it implies."""
        template = self.workflow_template(workflow_variant, version)
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

    def check_recorded(self, nodes: Iterable[str] | None) -> tuple[str, ...]:
        """The recorded nodes of a run: ``nodes`` when given, else ``recorded_nodes``;
        ``ProjectError`` when there are none or one is not a node of the graph."""
        chosen = self.recorded_nodes if nodes is None else _node_names("recorded_nodes", nodes)
        if not chosen:
            raise ProjectError(
                f"project {self.name!r} records no nodes: name the nodes whose outputs to "
                "record, WorkflowProject(..., recorded_nodes=['llm_call']) or "
                "recorded_nodes=[...] on the call"
            )
        unknown = [node for node in chosen if node not in self.node_names()]
        if unknown:
            raise ProjectError(
                f"recorded_nodes {', '.join(map(repr, unknown))} are not nodes of project "
                f"{self.name!r}; its nodes are: {', '.join(self.node_names())}"
            )
        return chosen

    def callables(self) -> list[Callable[..., Any]]:
        """Every function (or Runnable) the project builds or runs graphs from: each
        version's graph factory and node updates, the workflow variants' factories and the
        node variants' implementations — what a process receiving the project must be able
        to import or unpickle."""
        with self._lock:
            return [
                *(
                    f
                    for v in self._history.entries()
                    for f in (v.graph_factory, *v.node_overrides.values())
                ),
                *(v.graph_factory for v in self._workflow_variants.values()),
                *self._node_variants.implementations(),
            ]


def _node_names(what: str, nodes: Iterable[str] | None) -> tuple[str, ...]:
    """Node names, sorted and without repeats; ``ProjectError`` for anything else."""
    if nodes is None:
        return ()
    names = [] if isinstance(nodes, str) else list(nodes)
    if isinstance(nodes, str) or not all(isinstance(n, str) and n for n in names):
        raise ProjectError(f"{what} must be a list of node names, not {nodes!r}")
    return tuple(sorted(set(names)))
