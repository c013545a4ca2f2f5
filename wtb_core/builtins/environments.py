"""Builtin environment provider ``inprocess``: every node runs in this process."""

from __future__ import annotations

from wtb_core.config import EnvSpec, StackConfig
from wtb_core.hookspecs import EnvironmentProviderRegister, hookimpl
from wtb_core.ports.environment import NodeCallable


class InProcessEnvironmentProvider:
    """Runs nodes as they are, in the current interpreter and environment.

    Dependencies and variables of an ``EnvSpec`` are not applied here: choose the ``uv``
    (wtb-uvenv) or ``ray`` (wtb-ray) provider for isolation.
    """

    name = "inprocess"

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config

    def wrap_node(
        self, project: str, node: str, variant: str | None, env: EnvSpec | None, func: NodeCallable
    ) -> NodeCallable:
        return func

    def close(self) -> None:
        """Nothing was built."""


@hookimpl
def wtb_register_environment_providers(register: EnvironmentProviderRegister) -> None:
    register(InProcessEnvironmentProvider.name, InProcessEnvironmentProvider)
