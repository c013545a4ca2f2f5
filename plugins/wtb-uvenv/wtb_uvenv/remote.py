"""The callable LangGraph runs for a node that has an environment: it sends the state to
a worker of that environment and returns the node's update, or raises the node's error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate

from wtb_core import current_workspace
from wtb_core.plugin import EnvSpec
from wtb_uvenv.callables import Target
from wtb_uvenv.errors import NodeTransferError, RemoteNodeError, WorkerDiedError
from wtb_uvenv.keys import Requirements
from wtb_uvenv.wire import decode_update, encode_state
from wtb_uvenv.worker_pool import WorkerGone

if TYPE_CHECKING:
    from wtb_uvenv.interpreters import Interpreter
    from wtb_uvenv.provider import UvEnvironmentProvider
    from wtb_uvenv.worker_pool import EnvPool


@dataclass(frozen=True)
class Site:
    """Where a node runs: project, node and variant (for messages and usage records)."""

    project: str
    node: str
    variant: str | None

    def describe(self) -> str:
        variant = f" (variant {self.variant!r})" if self.variant else ""
        return f"node {self.node!r}{variant} of project {self.project!r}"


@dataclass
class RemoteNode:
    """One node bound to its environment; ``callable()`` is what the graph runs."""

    provider: UvEnvironmentProvider
    site: Site
    env: EnvSpec
    requirements: Requirements
    interpreter: Interpreter
    target: Target
    _pool: EnvPool | None = field(default=None, repr=False)  # once the first call found it

    def callable(self) -> Callable[[Any], Any]:
        if self.target.is_async:

            async def run_async(state: Any) -> Any:
                return await asyncio.to_thread(self.run, state)

            runner: Callable[[Any], Any] = run_async
        else:

            def run(state: Any) -> Any:
                return self.run(state)

            runner = run
        runner.__name__ = runner.__qualname__ = self.site.node
        return runner

    def run(self, state: Any) -> Any:
        """Run the node in a worker of its environment (built on first use)."""
        pool = self._pool
        if pool is None:
            pool = self._pool = self.provider.pool(self.site, self.requirements, self.interpreter)
        node = self.site.node
        request = {
            "tid": self.target.tid,
            "node": node,
            "state": encode_state(node, state),
            "cwd": str(current_workspace()),
            "env": dict(self.env.env_vars),
            "trace": _trace_context(),
        }
        try:
            reply = pool.call(request, self.target.payload)
        except WorkerGone as gone:
            raise WorkerDiedError(
                f"{self.site.describe()} failed in environment {pool.env.key}: {gone.why}. "
                "A new worker starts for the next call"
            ) from None
        if reply["ok"]:
            return decode_update(node, reply["update"])
        raise self._error(reply, pool.env.key)

    def _error(self, reply: dict[str, Any], key: str) -> Exception:
        node, kind, what = self.site.node, reply["kind"], f"{reply['type']}: {reply['message']}"
        remote = f"\n--- traceback in environment {key} ---\n{reply['traceback']}"
        if kind == "decode":
            return NodeTransferError(
                f"node {node!r}'s environment cannot load state key {reply['key']!r} ({what}): "
                "add the package that defines the value to the EnvSpec's dependencies "
                "(LangChain messages need langchain-core), or keep that key plain data"
            )
        if kind == "encode":
            return NodeTransferError(
                f"node {node!r} returned for key {reply['key']!r} a value that cannot be sent "
                f"back ({what}): return plain data, or values both environments can load"
            )
        if kind == "import":
            return RemoteNodeError(
                f"{self.site.describe()} could not be loaded in its environment as "
                f"{self.target.how} ({what}). Its module must import only what the EnvSpec "
                "installs (not langgraph or wtb_core): move the node into such a module, or "
                f"add the missing package to the dependencies{remote}"
            )
        if kind == "setup":
            return RemoteNodeError(
                f"{self.site.describe()} could not be run by its environment's worker ({what})"
            )
        if "GraphInterrupt" in reply["type"] or "get_config" in reply["message"]:
            what += " — interrupt() and LangGraph's runtime do not work inside a uv environment"
        return RemoteNodeError(f"{self.site.describe()} raised {what}{remote}")


def _trace_context() -> dict[str, str]:
    """The W3C trace context of the node's span (``traceparent``, ``tracestate``), so what
    the node opens in the worker continues the driver's trace; empty when nothing traces."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
