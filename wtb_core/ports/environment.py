"""Environment provider port: how a node runs for a resolved ``EnvSpec``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from wtb_core.config import EnvSpec, StackConfig

NodeCallable = Callable[..., Any]


@runtime_checkable
class EnvironmentProvider(Protocol):
    """Decides where each node of a graph runs.

    ``wrap_node`` is called once per node when a graph is built, with the environment
    resolved for that node (base → workflow → node → variant, ``None`` when the project
    asks for none). It returns the callable LangGraph should run instead of ``func`` —
    for example one that executes ``func`` inside an isolated environment — or ``func``
    itself to run it in this process. ``close()`` releases what the provider built.
    """

    name: str

    def wrap_node(
        self, project: str, node: str, variant: str | None, env: EnvSpec | None, func: NodeCallable
    ) -> NodeCallable: ...

    def close(self) -> None: ...


EnvironmentProviderFactory = Callable[[StackConfig], EnvironmentProvider]
"""What ``wtb_register_environment_providers`` registers: called once per stack."""
