"""The server on a thread of the calling process: for tests, notebooks and benchmarks.

``serve_in_thread(bench)`` runs real uvicorn on a free loopback port and returns once it
accepts connections; ``stop()`` shuts it down as SIGTERM would (running executions pause
at their next node boundary).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from wtb_core.sdk.bench import WTBTestBench
from wtb_core.server.app import create_app
from wtb_core.server.settings import ServeSettings


@dataclass
class ThreadedServer:
    """``url`` serves ``bench`` until ``stop()``."""

    url: str
    bench: WTBTestBench
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError(f"the server at {self.url} did not stop within {timeout} s")


def serve_in_thread(
    bench: WTBTestBench, settings: ServeSettings | None = None, start_timeout: float = 15.0
) -> ThreadedServer:
    """Serve ``bench`` on ``settings.host`` and a free port (``settings.port`` is ignored)."""
    settings = settings or ServeSettings(port=0)
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that name TCP, and
    # without it every keep-alive answer waits for the peer's delayed ACK (~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, 0))
    host, port = sock.getsockname()[:2]
    app = create_app(bench, settings)
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # small JSON events: compressing costs more than it saves
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="wtb-uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.01)
    return ThreadedServer(f"http://{host}:{port}", bench, server, thread)
