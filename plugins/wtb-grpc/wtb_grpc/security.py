"""Who may call: with a token set, every call but the health service's must carry
``authorization: Bearer <token>`` metadata, or it ends UNAUTHENTICATED (health stays open
for probes, as ``/healthz`` does for the REST server)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc

HEALTH = "/grpc.health.v1.Health/"
REFUSAL = "this server needs a token: send the metadata authorization: Bearer <token>"

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic in the stubs only


def presented(metadata: Any) -> str:
    """The bearer token in call metadata (``""`` when there is none)."""
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return ""


async def _refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)


def _refusal(handler: Handler) -> Handler:
    """A handler of ``handler``'s shape that refuses the call."""
    wire = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_refuse, **wire)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_refuse, **wire)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(_refuse, **wire)
    return grpc.unary_unary_rpc_method_handler(_refuse, **wire)


class TokenCheck(grpc.aio.ServerInterceptor):
    """Refuses calls without ``token`` (compared in constant time)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        if handler is None or details.method.startswith(HEALTH):
            return handler
        if hmac.compare_digest(presented(details.invocation_metadata), self.token):
            return handler
        return _refusal(handler)
