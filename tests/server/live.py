"""A real uvicorn server on a free loopback port, in a thread of the test process."""

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
class LiveServer:
    """``url`` serves ``bench``; ``stop()`` shuts the server down as SIGTERM would."""

    url: str
    bench: WTBTestBench
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the server did not stop"


def serve(bench: WTBTestBench, settings: ServeSettings | None = None) -> LiveServer:
    settings = settings or ServeSettings(port=0)
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets (else every
    # keep-alive answer waits ~40 ms for a delayed ACK)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, 0))
    host, port = sock.getsockname()[:2]
    app = create_app(bench, settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return LiveServer(f"http://{host}:{port}", bench, server, thread)
