"""Nodes that run as Ray tasks while the workflow loop stays where it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ray

from wtb_core import WorkflowProject
from wtb_core.plugin import NodeWrapper, resolve_env
from wtb_ray.cluster import check_satisfiable
from wtb_ray.options import resources_for, task_options


def _call(func: Callable[..., Any], state: Any) -> Any:
    return func(state)


def as_ray_task(
    node: str, func: Callable[..., Any], options: dict[str, Any]
) -> Callable[[Any], Any]:
    """``func`` run as a Ray task with ``options``; the caller waits for its result.

    The node receives only its state (no LangGraph config / runtime injection), so a node
    with resources or its own environment cannot call ``interrupt()``.
    """
    task = ray.remote(_call).options(name=f"wtb-node-{node}", **options)

    def run_as_task(state: Any) -> Any:
        check_satisfiable(node, options)
        return ray.get(task.remote(func, state))

    run_as_task.__name__ = getattr(func, "__name__", node)
    return run_as_task


def ray_node_wrapper(with_resources: bool = True) -> NodeWrapper:
    """Wrap nodes that have resources (``with_resources``) or an environment as Ray tasks."""

    def wrap(
        project: WorkflowProject,
        node: str,
        variant: str | None,
        workflow_variant: str | None,
        func: Callable[..., Any],
    ) -> Any:
        resources = resources_for(project, node, variant) if with_resources else None
        env = resolve_env(project.environment, node, variant, workflow_variant)
        options = task_options(resources, env)
        return func if options is None else as_ray_task(node, func, options)

    return wrap
