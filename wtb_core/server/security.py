"""Who may talk to the server: an ASGI middleware in front of every route and socket.

- **Token.** With ``ServeSettings.token`` set, a request (or WebSocket handshake) without
  ``Authorization: Bearer <token>`` (or ``x-api-key: <token>``, which ``langgraph-sdk``
  sends for ``api_key=``; or, for clients that cannot set headers on a socket, ``?token=``
  on ``/api/v1/stream``) gets 401. ``/healthz`` stays open for probes, and the
  dashboard's page and static files (``/``, ``/dashboard/...``: no data in them; the page
  asks for the token and sends it with its API calls).
- **Host.** A request whose ``Host`` is not a loopback name, the bound address or one of
  ``allowed_hosts`` gets 421: a web page that rebinds its own DNS name to 127.0.0.1 cannot
  reach the server through the browser.
- **Origin.** A browser request (``Origin`` header) from an origin not in
  ``allowed_origins`` gets 403, WebSocket handshakes included (CORS does not cover those).
  Same-origin requests (the dashboard) pass.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wtb_core.server.errors import error_body
from wtb_core.server.settings import ServeSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/healthz", "/"})
OPEN_PREFIX = "/dashboard/"  # the dashboard's static files: no data in them


def _host_name(host: str) -> str:
    if host.startswith("["):  # [::1]:8765
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """The checks above, in that order, then ``app``."""

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        self.app = app
        self.token = settings.token
        self.hosts = settings.accepted_hosts()
        self.origins = set(settings.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, kind, message = refusal
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4000 + status, "reason": message})
            return
        body = json.dumps(error_body(kind, message)).encode()
        extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        host = _host_name(headers.get("host", ""))
        if host not in self.hosts:
            return (
                421,
                "HostNotAllowed",
                f"Host {host!r} is not served here; add it with --allowed-host",
            )
        origin = headers.get("origin")
        same = origin is not None and urlsplit(origin).netloc == headers.get("host")
        if origin is not None and origin not in self.origins and not same:
            return (
                403,
                "OriginNotAllowed",
                f"origin {origin!r} may not call this server; add it with --allowed-origin",
            )
        path = scope["path"]
        if self.token is None or path in OPEN_PATHS or path.startswith(OPEN_PREFIX):
            return None
        if hmac.compare_digest(self._presented(scope, headers), self.token):
            return None
        return (
            401,
            "AuthenticationError",
            "this server needs a token: send Authorization: Bearer <token>",
        )

    @staticmethod
    def _presented(scope: Scope, headers: dict[str, str]) -> str:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
        if "x-api-key" in headers:  # what langgraph-sdk sends for get_client(api_key=...)
            return headers["x-api-key"].strip()
        if scope["type"] == "websocket":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            return str((query.get("token") or [""])[0])
        return ""
