"""The errors of wtb-uvenv; each is a ``WTBError`` whose message says what to do."""

from __future__ import annotations

from wtb_core import ProjectError, WTBError


class EnvironmentBuildError(WTBError):
    """uv could not resolve or install an environment (a package that does not exist, a
    version conflict, an unreachable index); the message quotes uv."""


class NodeTransferError(WTBError):
    """A state value or a node's update cannot cross between the processes."""


class RemoteNodeError(WTBError):
    """A node raised inside its environment's worker; the message holds its traceback."""


class WorkerDiedError(WTBError):
    """The worker process running a node exited (a crash, ``os._exit``, the OOM killer)."""


class UnsupportedNodeError(ProjectError):
    """A node cannot run in another process (it takes LangGraph's ``config``/``runtime``,
    calls ``interrupt()``, or is not importable and cannot be sent by value)."""
