"""uv virtual environments for WTB: nodes, variants or whole workflows run in their own
content-addressed environments, each node call in a persistent worker of its environment."""

from wtb_uvenv.errors import (
    EnvironmentBuildError,
    NodeTransferError,
    RemoteNodeError,
    UnsupportedNodeError,
    WorkerDiedError,
)
from wtb_uvenv.settings import UvEnvSettings

__all__ = [
    "EnvironmentBuildError",
    "NodeTransferError",
    "RemoteNodeError",
    "UnsupportedNodeError",
    "UvEnvSettings",
    "WorkerDiedError",
]
