"""Server-sent events of a streamed run, as the Agent Server writes them.

``event: metadata`` (``{"run_id", "attempt"}``) first; then one ``event: <mode>`` per
LangGraph chunk of a requested mode, as the execution's drive produces it (``messages``
for ``messages-tuple``); ``event: error`` (``{"error", "message"}``) when the run fails;
a ``: heartbeat`` comment every ``HEARTBEAT_S`` seconds of silence; then the body ends.

``EventChannel`` carries the frames from the worker thread that drives the execution (its
``tap`` is the drive's ``StreamTap``) to the response on the event loop. Chunks are
encoded on the worker thread, at once, so later changes to LangGraph's objects cannot
reach the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from wtb_core.engine.runs import StreamTap
from wtb_core.server.langgraph.encoding import compact, dumps, jsonable, with_thread
from wtb_core.server.langgraph.mapping import ThreadView
from wtb_core.server.langgraph.snapshots import checkpoint_of

HEARTBEAT_S = 5.0
HEARTBEAT = b": heartbeat\r\n\r\n"

# API stream mode -> LangGraph stream mode (the SSE event is named after the API mode,
# but for messages-tuple, which the Agent Server names "messages").
STREAM_MODES = {
    "values": "values",
    "updates": "updates",
    "debug": "debug",
    "custom": "custom",
    "checkpoints": "checkpoints",
    "tasks": "tasks",
    "messages-tuple": "messages",
}


def frame(event: str, data: str) -> bytes:
    return f"event: {event}\r\ndata: {data}\r\n\r\n".encode()


class EventChannel:
    """The SSE frames of one run. ``tap``, ``error`` and ``close`` may be called from any
    thread; ``frames`` is the response body (on the event loop)."""

    def __init__(self, view: ThreadView, modes: list[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._view = view
        self.closed = False
        langgraph_modes = frozenset(STREAM_MODES[mode] for mode in modes)
        self.tap = StreamTap(langgraph_modes, self._on_chunk) if modes else None

    def _put(self, item: bytes | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone (server stopped)
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _on_chunk(self, mode: str, chunk: Any) -> None:
        view = self._view
        data = jsonable(chunk)
        if mode not in ("values", "updates"):  # configs and metadata name the thread
            data = with_thread(data, view.own_thread, view.thread_id)
        if mode == "checkpoints":
            _add_checkpoints(data, view)
        elif mode == "debug" and data.get("type") == "checkpoint":
            _add_checkpoints(data.get("payload"), view)
        self._put(frame(mode, compact(data)))

    def error(self, kind: str, message: str) -> None:
        self._put(frame("error", dumps({"error": kind, "message": message})))

    def close(self) -> None:
        self._put(None)

    async def frames(
        self, run_id: str, on_gone: Callable[[], None] | None = None
    ) -> AsyncIterator[bytes]:
        """The body: metadata, the chunks, the end. ``on_gone`` is called when the client
        leaves before the end."""
        yield frame("metadata", dumps({"run_id": run_id, "attempt": 1}))
        try:
            while True:
                try:
                    item = await asyncio.wait_for(self._queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield HEARTBEAT
                    continue
                if item is None:
                    self.closed = True
                    return
                yield item
        finally:
            if not self.closed and on_gone is not None:
                on_gone()


def _add_checkpoints(payload: Any, view: ThreadView) -> None:
    """The Agent Server's extra keys of a checkpoint event: ``checkpoint`` and
    ``parent_checkpoint`` as ``Checkpoint`` dicts."""
    if not isinstance(payload, dict) or "config" not in payload:
        return
    for key, config in (("checkpoint", "config"), ("parent_checkpoint", "parent_config")):
        checkpoint = checkpoint_of(payload.get(config), view)
        payload[key] = checkpoint.model_dump() if checkpoint is not None else None
