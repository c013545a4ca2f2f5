"""wtb-grpc: the Workflow Test Bench over gRPC (``wtb grpc serve``) and its Python client.

``Client`` mirrors the bench's calls and returns the SDK's models; ``StreamEvent`` is what
``Client.watch`` yields; ``serve_in_thread`` runs a server inside this process. Imported on
first use, so loading the plugin for the ``wtb`` command line does not load gRPC.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wtb_grpc.client import Client, EventStream
    from wtb_grpc.errors import AuthenticationError, RemoteError, ServerUnavailableError
    from wtb_grpc.messages import StreamEvent
    from wtb_grpc.server import GrpcServer
    from wtb_grpc.settings import GrpcSettings
    from wtb_grpc.threaded import ThreadedGrpcServer, serve_in_thread

_HOME = {
    "Client": "wtb_grpc.client",
    "EventStream": "wtb_grpc.client",
    "AuthenticationError": "wtb_grpc.errors",
    "RemoteError": "wtb_grpc.errors",
    "ServerUnavailableError": "wtb_grpc.errors",
    "StreamEvent": "wtb_grpc.messages",
    "GrpcServer": "wtb_grpc.server",
    "GrpcSettings": "wtb_grpc.settings",
    "ThreadedGrpcServer": "wtb_grpc.threaded",
    "serve_in_thread": "wtb_grpc.threaded",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wtb_grpc' has no attribute {name!r}")


__all__ = [
    "AuthenticationError",
    "Client",
    "EventStream",
    "GrpcServer",
    "GrpcSettings",
    "RemoteError",
    "ServerUnavailableError",
    "StreamEvent",
    "ThreadedGrpcServer",
    "serve_in_thread",
]
