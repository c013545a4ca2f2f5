"""A client of ``/api/v1/stream`` for the tests and the benchmark, and the latency probe.

``measure_delivery_latency`` is what ``benchmarks/api.py`` calls for "event delivery:
p99 from an event's creation to its arrival at each of 20 subscribers while a batch runs".
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import connect as connect_async
from websockets.sync.client import ClientConnection, connect

ROOT = str(Path(__file__).resolve().parents[2])


def stream_url(base_url: str, token: str | None = None) -> str:
    url = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return f"{url}/api/v1/stream" + (f"?token={token}" if token else "")


class StreamClient:
    """One socket: ``subscribe`` (returns the replayed events), ``recv``, ``until``."""

    def __init__(self, base_url: str, *, slow: bool = False, token: str | None = None) -> None:
        """``slow``: the socket buffers as little as it can, for a client that stops
        reading (a small kernel receive buffer, no read-ahead, no compression)."""
        sock = None
        if slow:
            parts = urlsplit(base_url)
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((parts.hostname, parts.port))
        connection = connect(
            stream_url(base_url, token),
            sock=sock,
            max_queue=1 if slow else 4096,
            compression=None if slow else "deflate",  # deflate would pack 10 events in one
        )
        self.ws: ClientConnection = connection.__enter__()

    def __enter__(self) -> StreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ws.close()

    @property
    def local_port(self) -> int:
        return int(self.ws.socket.getsockname()[1])

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def subscribe(
        self, topics: Iterable[str], since: int | None = None, timeout: float = 10
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Subscribe; the events received before the ``subscribed`` notice, and it."""
        message: dict[str, Any] = {"subscribe": list(topics)}
        if since is not None:
            message["since"] = since
        self.send(message)
        replayed = []
        while True:
            received = self.recv(timeout)
            if received["type"] == "subscribed":
                return replayed, received
            replayed.append(received)

    def until(
        self, done: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> list[dict[str, Any]]:
        """Every message up to and including the first for which ``done`` holds."""
        received = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            received.append(message)
            if done(message):
                return received


def measure_delivery_latency(
    base_url: str,
    load: Callable[[], object],
    *,
    until: str = "batch_finished",
    subscribers: int = 20,
    topics: Iterable[str] = ("*",),
    token: str | None = None,
    timeout: float = 300,
) -> list[float]:
    """Delivery latencies, in milliseconds, of every event to every subscriber.

    ``subscribers`` clients (asyncio, in a child process of their own, so that they
    compete with the server for neither the GIL nor its threads) subscribe to
    ``topics``; then ``load()`` runs here (e.g. a batch on the served bench or over
    HTTP) and each client reads until the first event of type ``until``. A latency is an
    event's arrival at a client minus its ``timestamp`` (when the bench created it; same
    machine, same clock). A client told it lagged fails the measurement.

    E.g. the p99 over 20 subscribers while a batch runs::

        lat = measure_delivery_latency(url, lambda: bench.run_batch_test(...))
        p99 = statistics.quantiles(lat, n=100)[98]
    """
    command = [sys.executable, "-m", "tests.server.stream_client", stream_url(base_url, token)]
    command += [str(subscribers), until, *topics]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": ROOT}
    ) as clients:
        assert clients.stdout is not None
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("the stream clients did not start")
        try:
            load()
            out, _ = clients.communicate(timeout=timeout)
        finally:
            clients.kill()
    if clients.returncode != 0:
        raise RuntimeError(f"the stream clients failed: {out}")
    return list(json.loads(out))


async def _subscriber(
    url: str, topics: list[str], until: str, ready: Callable[[], None]
) -> list[float]:

    latencies = []
    async with connect_async(url, compression=None, max_queue=None) as ws:
        await ws.send(json.dumps({"subscribe": topics}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        ready()
        while True:
            message = json.loads(await ws.recv())
            arrived = time.time()
            if message["type"] == "lagged":
                raise RuntimeError(f"a subscriber lagged: {message}")
            if "seq" in message:
                created = datetime.fromisoformat(message["timestamp"]).timestamp()
                latencies.append((arrived - created) * 1000)
                if message["type"] == until:
                    return latencies


async def _subscribers(url: str, count: int, until: str, topics: list[str]) -> None:
    connected = 0

    def ready() -> None:
        nonlocal connected
        connected += 1
        if connected == count:
            print("ready", flush=True)

    found = await asyncio.gather(*(_subscriber(url, topics, until, ready) for _ in range(count)))
    print(json.dumps([latency for per_client in found for latency in per_client]), flush=True)


if __name__ == "__main__":  # the child process of measure_delivery_latency
    asyncio.run(_subscribers(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]))
