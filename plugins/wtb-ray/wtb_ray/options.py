"""Ray task options for a node: its resources and its runtime environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wtb_core import WorkflowProject
from wtb_core.plugin import EnvSpec, NodeResourceConfig
from wtb_ray.cluster import python_matches


def resources_for(
    project: WorkflowProject, node: str, variant: str | None
) -> NodeResourceConfig | None:
    """A variant's own resources, else the node's, else the project's default (or none)."""
    if variant is not None:
        chosen = project.node_variant(node, variant)
        if chosen is not None and chosen.resources is not None:
            own: NodeResourceConfig = chosen.resources
            return own
    execution = project.execution
    found: NodeResourceConfig | None = (
        execution.node_resources.get(node) or execution.default_node_resources
    )
    return found


def runtime_env(env: EnvSpec) -> dict[str, Any]:
    """An ``EnvSpec`` as a Ray ``runtime_env``: pip packages (with the requirements file's)
    and environment variables."""
    python_matches(env.python_version)
    packages = list(env.dependencies)
    if env.requirements_file:
        lines = Path(env.requirements_file).read_text().splitlines()
        packages += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    result: dict[str, Any] = {}
    if packages:
        result["pip"] = packages
    if env.env_vars:
        result["env_vars"] = dict(env.env_vars)
    return result


def task_options(
    resources: NodeResourceConfig | None, env: EnvSpec | None
) -> dict[str, Any] | None:
    """``.options(...)`` of the Ray task a node runs as, or ``None`` to run it in place."""
    options: dict[str, Any] = {}
    if resources is not None:
        options.update(num_cpus=resources.num_cpus, num_gpus=resources.num_gpus)
        options["memory"] = resources.memory_bytes()
        if resources.custom_resources:
            options["resources"] = dict(resources.custom_resources)
    if env is not None:
        renv = runtime_env(env)
        if renv:
            options["runtime_env"] = renv
    return options or None
