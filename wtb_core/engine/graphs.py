"""From a user's graph to the graph an execution runs.

WTB takes the user's ``StateGraph`` (or ``compiled.builder``), copies it, swaps node
implementations for the chosen variants and compiles it with the bench's checkpointer.
The user's graph object is never mutated: ``StateGraph.compile`` writes into node specs,
so the copy goes one level below the builder's dictionaries.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable
from langgraph._internal._runnable import RunnableCallable
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

from wtb_core.engine.async_graphs import has_async_nodes
from wtb_core.engine.async_saver import AsyncSaver
from wtb_core.engine.attempts import reporting_attempts
from wtb_core.engine.observed import observed
from wtb_core.errors import ProjectError
from wtb_core.serde import allow_graph_types

if TYPE_CHECKING:
    from wtb_core.engine.recorded import RecordingCache


@dataclass
class GraphTemplate:
    """A user's graph as WTB keeps it: the builder plus the compile options it came with."""

    builder: StateGraph[Any]
    compile_options: dict[str, Any] = field(default_factory=dict)

    @property
    def node_names(self) -> list[str]:
        return list(self.builder.nodes)


def template_from(obj: Any, origin: str) -> GraphTemplate:
    """Accept a ``StateGraph`` or a compiled graph; anything else is a ``ProjectError``."""
    if isinstance(obj, StateGraph):
        return GraphTemplate(obj)
    builder = getattr(obj, "builder", None)
    if isinstance(obj, CompiledStateGraph) and isinstance(builder, StateGraph):
        options: dict[str, Any] = {
            "interrupt_before": _node_list(obj.interrupt_before_nodes),
            "interrupt_after": _node_list(obj.interrupt_after_nodes),
            "name": obj.name,
        }
        if obj.store is not None:
            options["store"] = obj.store
        return GraphTemplate(builder, options)
    raise ProjectError(
        f"{origin} returned {type(obj).__name__}; it must return a langgraph StateGraph or "
        "the graph it compiles to (StateGraph(...).compile())"
    )


def _node_list(nodes: Any) -> Any:
    return nodes if nodes == "*" else list(nodes or [])


def copy_builder(builder: StateGraph[Any]) -> StateGraph[Any]:
    """A copy of ``builder`` that compiling (and node swapping) cannot leak back from."""
    new = copy.copy(builder)
    new.nodes = {name: copy.copy(spec) for name, spec in builder.nodes.items()}
    new.edges = set(builder.edges)
    new.branches = defaultdict(dict, {k: dict(v) for k, v in builder.branches.items()})
    new.channels = dict(builder.channels)
    new.managed = dict(builder.managed)
    new.schemas = {k: dict(v) for k, v in builder.schemas.items()}
    new.waiting_edges = set(builder.waiting_edges)
    new.compiled = False
    return new


def build_graph(
    template: GraphTemplate,
    replacements: Mapping[str, Any],
    checkpointer: Any,
    wrap: Callable[[str, Any], Any] | None = None,
    cache: RecordingCache | None = None,
) -> CompiledStateGraph[Any]:
    """Compile a copy of ``template`` with ``replacements`` (callables or Runnables, as
    ``StateGraph.add_node`` takes) swapped in.

    ``wrap(node, func)`` sees every node's callable (the variant's for swapped nodes) and
    returns what LangGraph should run instead, or ``func`` itself to keep it. Every
    callable tells its calls to the drive's observer (``engine.observed``); callables of
    nodes with a ``RetryPolicy`` report each failed attempt (``engine.attempts``). A graph
    with an ``async def`` node is compiled over ``AsyncSaver(checkpointer)``. The types the
    graph's schemas name join the checkpointer's strict allow-list (``wtb_core.serde``).
    With a ``cache`` (``engine.recorded``), its recorded nodes get its cache policies and
    the graph is compiled with it as LangGraph's node cache.
    """
    builder = copy_builder(template.builder)
    for node, spec in list(builder.nodes.items()):
        func = replacements.get(node) or _callable_of(spec.runnable)
        wrapped = wrap(node, func) if wrap is not None and func is not None else func
        if callable(wrapped) and not isinstance(wrapped, Runnable):
            if spec.retry_policy:
                wrapped = reporting_attempts(node, wrapped)
            wrapped = observed(node, wrapped)
        if node in replacements or wrapped is not func:
            swap_node(builder, node, wrapped)
    options = dict(template.compile_options)
    if cache is not None:
        for node, policy in cache.policies().items():
            builder.nodes[node] = dataclasses.replace(builder.nodes[node], cache_policy=policy)
        options["cache"] = cache
    allow_graph_types(checkpointer, builder)
    if has_async_nodes(builder):
        checkpointer = AsyncSaver(checkpointer)
    return builder.compile(checkpointer=checkpointer, **options)


def _callable_of(runnable: Any) -> Any:
    """The function behind a node LangGraph made from a function (sync or async)."""
    if isinstance(runnable, RunnableCallable):
        return runnable.func or runnable.afunc
    return getattr(runnable, "func", None)


def swap_node(builder: StateGraph[Any], node: str, func: Any) -> None:
    """Replace a node's callable in ``builder`` (a copy: ``copy_builder``), keeping its spec
    (schema, retry, cache, destinations)."""
    spec = builder.nodes.pop(node)
    builder.add_node(node, func)  # LangGraph's own coercion of a callable into a node
    builder.nodes[node] = dataclasses.replace(spec, runnable=builder.nodes[node].runnable)


def with_nodes(
    template: GraphTemplate, implementations: Mapping[str, Callable[..., Any]]
) -> GraphTemplate:
    """A copy of ``template`` whose nodes in ``implementations`` run those callables.

    Each swapped node keeps its spec (schemas, retry, cache, destinations); ``template``
    itself is left untouched.
    """
    if not implementations:
        return template
    builder = copy_builder(template.builder)
    for node, func in implementations.items():
        swap_node(builder, node, func)
    return GraphTemplate(builder, dict(template.compile_options))
