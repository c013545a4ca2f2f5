"""``GrpcServer``: the servicer, the standard health service and server reflection on one
``grpc.aio`` server over one bench; ``serve`` runs it until SIGTERM or Ctrl-C.

Shutdown (``drain``) follows ``wtb serve``: health turns NOT_SERVING, ``Watch`` streams
end (UNAVAILABLE: reconnect with ``since_seq``), the job pool refuses new runs and asks
every execution it drives to pause at its next node boundary — the unary calls waiting
for them then answer with the paused execution — and calls still in flight get
``STOP_GRACE`` seconds before the server closes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from wtb_core import ConfigurationError, WTBTestBench
from wtb_core.plugin import EventHub, JobPool
from wtb_grpc._gen import wtb_pb2, wtb_pb2_grpc
from wtb_grpc.batch_calls import BatchCalls
from wtb_grpc.execution_calls import ExecutionCalls
from wtb_grpc.security import TokenCheck
from wtb_grpc.settings import MAX_MESSAGE_BYTES, GrpcSettings
from wtb_grpc.watch_call import WatchCall

SERVICE = wtb_pb2.DESCRIPTOR.services_by_name["WorkflowTestBench"].full_name
STOP_GRACE = 5.0
OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)


class Servicer(ExecutionCalls, BatchCalls, WatchCall, wtb_pb2_grpc.WorkflowTestBenchServicer):
    """``wtb.v1.WorkflowTestBench``: every call translates one service operation."""


class GrpcServer:
    """One bench served over gRPC: ``await start()``, later ``await drain()``."""

    def __init__(
        self, bench: WTBTestBench, settings: GrpcSettings, *, close_bench: bool = False
    ) -> None:
        self.bench = bench
        self.settings = settings
        self.close_bench = close_bench
        self.jobs = JobPool(bench, settings.workers, settings.queue)
        self.hub = EventHub(bench.stack.metadata, bench.services.events)
        self.servicer = Servicer(bench, self.jobs, self.hub)
        self.health = health.aio.HealthServicer()
        self.port = 0
        self._server: grpc.aio.Server | None = None

    def _listen(self, server: grpc.aio.Server) -> int:
        address = self.settings.address
        try:
            if self.settings.tls_cert is not None and self.settings.tls_key is not None:
                pair = (self.settings.tls_key.read_bytes(), self.settings.tls_cert.read_bytes())
                port = server.add_secure_port(address, grpc.ssl_server_credentials([pair]))
            else:
                port = server.add_insecure_port(address)
        except RuntimeError as exc:
            port, reason = 0, str(exc)
        else:
            reason = "the port is taken or the address is not this machine's"
        if port == 0:
            raise ConfigurationError(
                f"cannot listen on {address} ({reason}); choose another --port"
            )
        return port

    async def start(self) -> int:
        """Listen, start tailing the event log, report SERVING; returns the bound port."""
        interceptors = [TokenCheck(self.settings.token)] if self.settings.token else []
        server = grpc.aio.server(interceptors=interceptors, options=OPTIONS)
        wtb_pb2_grpc.add_WorkflowTestBenchServicer_to_server(self.servicer, server)  # type: ignore[no-untyped-call]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = (SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        self.port = self._listen(server)
        await self.hub.start()
        await server.start()
        self._server = server
        for name in ("", SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.port

    async def drain(self) -> None:
        """Stop as SIGTERM does (see the module's docstring)."""
        await self.health.enter_graceful_shutdown()
        self.servicer.stopping = True
        await self.hub.stop()
        await asyncio.to_thread(self.jobs.drain, self.settings.shutdown_grace)
        if self._server is not None:
            await self._server.stop(STOP_GRACE)
        if self.close_bench:
            await asyncio.to_thread(self.bench.close)


async def serve(
    bench: WTBTestBench, settings: GrpcSettings, ready: Callable[[int], None] | None = None
) -> None:
    """Serve ``bench`` until SIGTERM or SIGINT, then drain; ``ready(port)`` once it listens."""
    server = GrpcServer(bench, settings)
    port = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if ready is not None:
        ready(port)
    await stop.wait()
    await server.drain()
