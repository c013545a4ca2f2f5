"""Compiled graphs per (project, version, variant selection), kept in a small LRU cache.

Compiling a graph costs about a millisecond, so runs reuse them. The bench and the
detached executors that batch runners use in worker processes share this code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from wtb_core.engine.environments import resolve_env
from wtb_core.engine.graphs import build_graph
from wtb_core.engine.recorded import RecordingCache, RecordingSpec, variant_label
from wtb_core.errors import ConfigurationError
from wtb_core.ports.environment import EnvironmentProvider
from wtb_core.project import WorkflowProject
from wtb_core.storage.recordings import RecordingStore

# (project, node, variant or None, workflow variant or None, callable) -> what LangGraph runs
NodeWrapper = Callable[[WorkflowProject, str, str | None, str | None, Callable[..., Any]], Any]

GRAPH_CACHE_SIZE = 256


def environment_wrapper(provider: EnvironmentProvider) -> NodeWrapper:
    """Wrap each node for the environment its project asks for (see ``resolve_env``)."""

    def wrap(
        project: WorkflowProject,
        node: str,
        variant: str | None,
        workflow_variant: str | None,
        func: Callable[..., Any],
    ) -> Any:
        env = resolve_env(project.environment, node, variant, workflow_variant)
        return provider.wrap_node(project.name, node, variant, env, func)

    return wrap


class GraphCache:
    """Builds and remembers compiled graphs over one checkpointer; graphs that record or
    replay node outputs (``engine.recorded``) keep them in ``recordings``."""

    def __init__(
        self,
        checkpointer: Any,
        wrap: NodeWrapper | None,
        size: int = GRAPH_CACHE_SIZE,
        recordings: RecordingStore | None = None,
    ):
        self._checkpointer = checkpointer
        self._wrap = wrap
        self._recordings = recordings
        self._size = size
        self._graphs: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get(
        self,
        project: WorkflowProject,
        variant_config: Mapping[str, str],
        workflow_variant: str | None,
        version: str | None = None,
        recording: RecordingSpec | None = None,
    ) -> Any:
        """The graph for a variant selection of ``version`` (default: the current one),
        recording or replaying as ``recording`` says."""
        version = version or project.current_version
        key = (
            project.name,
            id(project),
            project.revision,
            version,
            tuple(sorted(variant_config.items())),
            workflow_variant,
            recording,
        )
        with self._lock:
            graph = self._graphs.pop(key, None)
            if graph is not None:
                self._graphs[key] = graph  # most recently used last
                return graph
        replacements = project.resolve_variants(dict(variant_config), workflow_variant, version)
        wrap = None
        if self._wrap is not None:
            outer = self._wrap

            def wrap(node: str, func: Callable[..., Any]) -> Any:
                return outer(project, node, variant_config.get(node), workflow_variant, func)

        graph = build_graph(
            project.workflow_template(workflow_variant, version),
            replacements,
            self._checkpointer,
            wrap,
            self._cache(recording, variant_config, workflow_variant),
        )
        with self._lock:
            self._graphs[key] = graph
            while len(self._graphs) > self._size:
                del self._graphs[next(iter(self._graphs))]
        return graph

    @property
    def recordings(self) -> RecordingStore:
        """Where recordings are kept (``ConfigurationError`` for graphs built without)."""
        if self._recordings is None:
            raise ConfigurationError(
                "recording or replaying node outputs needs the bench's metadata database; "
                "run the batch on the sequential or threadpool runner"
            )
        return self._recordings

    def _cache(
        self,
        recording: RecordingSpec | None,
        variant_config: Mapping[str, str],
        workflow_variant: str | None,
    ) -> RecordingCache | None:
        if recording is None:
            return None
        variants = {
            node: variant_label(node, variant_config, workflow_variant) for node in recording.nodes
        }
        return RecordingCache(self.recordings, recording, variants, self._checkpointer.serde)

    def forget(self, project_name: str) -> None:
        """Drop the graphs of a project (it was registered again)."""
        with self._lock:
            self._graphs = {k: v for k, v in self._graphs.items() if k[0] != project_name}
