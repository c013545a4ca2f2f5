"""A gRPC server on a thread of the calling process: for tests, notebooks and benchmarks.

``serve_in_thread(bench)`` listens on a free loopback port and returns once it serves;
``stop()`` drains it as SIGTERM would.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from wtb_core import WTBTestBench
from wtb_grpc.server import GrpcServer
from wtb_grpc.settings import GrpcSettings


@dataclass
class ThreadedGrpcServer:
    """``address`` serves ``server.bench`` until ``stop()``."""

    server: GrpcServer
    address: str = ""
    thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            port = await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self.address = f"{self.server.settings.host}:{port}"
        self._ready.set()
        await self._stop.wait()
        await self.server.drain()

    def stop(self, timeout: float = 60.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self.thread is not None:
            self.thread.join(timeout)
            if self.thread.is_alive():
                raise TimeoutError(f"the gRPC server at {self.address} did not stop in {timeout} s")


def serve_in_thread(
    bench: WTBTestBench, settings: GrpcSettings | None = None, start_timeout: float = 15.0
) -> ThreadedGrpcServer:
    """Serve ``bench`` with ``settings`` (default: loopback, any free port)."""
    threaded = ThreadedGrpcServer(GrpcServer(bench, settings or GrpcSettings(port=0)))
    threaded.thread = threading.Thread(
        target=asyncio.run, args=(threaded._main(),), name="wtb-grpc", daemon=True
    )
    threaded.thread.start()
    if not threaded._ready.wait(start_timeout):
        raise RuntimeError("the gRPC server did not start")
    if threaded._error is not None:
        raise threaded._error
    return threaded
