"""Environment provider ``ray``: nodes with an ``EnvSpec`` run in a Ray runtime env."""

from __future__ import annotations

from wtb_core import StackConfig
from wtb_core.plugin import EnvSpec, NodeCallable, RayConfig
from wtb_ray.cluster import connect
from wtb_ray.nodes import as_ray_task
from wtb_ray.options import task_options


class RayEnvironmentProvider:
    """Runs each node that has an environment as a Ray task with its ``runtime_env``
    (pip packages, variables); nodes without one run in place."""

    name = "ray"

    def __init__(self, config: StackConfig) -> None:
        self.config = config

    def wrap_node(
        self, project: str, node: str, variant: str | None, env: EnvSpec | None, func: NodeCallable
    ) -> NodeCallable:
        options = task_options(None, env)
        if options is None:
            return func
        connect(RayConfig(), self.config.ray_address)
        return as_ray_task(node, func, options)

    def close(self) -> None:
        """The Ray connection belongs to the process, not to one bench."""
