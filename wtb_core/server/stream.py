"""The WebSocket event stream ``/api/v1/stream``, served from the stored event log.

The client sends JSON messages, at any time::

    {"subscribe": ["execution:<id>", "batch:<id>", "project:<name>", "*"], "since": 41}
    {"unsubscribe": ["project:<name>"]}

and receives, one JSON object per message:

* events — ``{"seq", "type", "execution_id", "batch_id", "project", "node",
  "checkpoint_id", "timestamp", "severity", "message", "data"}``, in ``seq`` order (the
  per-server monotonic id of the stored event log). A batch's own progress events
  (``batch_started``, ``batch_progress``, ``batch_finished``, ``data`` = ``{done, failed,
  total}``) have ``execution_id`` ``""``; the events of its cells carry its ``batch_id``.
* ``{"type": "subscribed", "topics": [...], "seq": n}`` — the subscription is live:
  every matching event after ``n`` follows. With ``since``, every stored matching event
  after ``since`` comes first (also after a server restart: the log is stored), then the
  live ones, none twice and none left out. ``since`` restarts the socket's whole stream
  (all its topics) after that seq; without it, topics are added from now on.
* ``{"type": "unsubscribed", "topics": [...]}`` — what is left after an unsubscribe.
* ``{"type": "lagged", "seq": n}`` — the client fell ``EventHub.queue_size`` events
  behind and gets no more live events; everything up to ``n`` was sent. Subscribe again
  with ``"since": n`` to continue without a gap.
* ``{"type": "error", "message": "..."}`` — a malformed message; the socket stays open.

The server closes the socket with 1001 when it stops (reconnect with ``since``) and
with 1008 when a client has left more than ``MAX_NOTICES`` answers unread.

The security guard checks the handshake (token as ``Authorization: Bearer`` or
``?token=``, Origin) before it gets here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wtb_core.server.events import EventHub, Subscriber
from wtb_core.server.wire import TopicError

router = APIRouter(prefix="/api/v1", tags=["events"])
log = logging.getLogger(__name__)


class StreamRequest(BaseModel):
    """A message from a stream client."""

    model_config = ConfigDict(extra="forbid")

    subscribe: list[str] | None = Field(
        None,
        min_length=1,
        description="Topics to add: execution:<id>, batch:<id>, project:<name> or *",
    )
    unsubscribe: list[str] | None = Field(None, min_length=1, description="Topics to drop")
    since: int | None = Field(
        None,
        ge=0,
        description="Replay the stored events after this seq first (with subscribe)",
    )

    @model_validator(mode="after")
    def _something(self) -> StreamRequest:
        if self.subscribe is None and self.unsubscribe is None:
            raise ValueError("send {'subscribe': [topics], 'since': <seq>} or {'unsubscribe': …}")
        if self.since is not None and self.subscribe is None:
            raise ValueError("since goes with subscribe")
        return self


def _request(text: str) -> StreamRequest | str:
    """The request in ``text``, or what is wrong with it."""
    try:
        return StreamRequest.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors()
        )
        return f"bad stream message ({problems}): send a JSON object such as " + json.dumps(
            {"subscribe": ["execution:<id>"], "since": 0}
        )


def _apply(subscriber: Subscriber, text: str | None) -> None:
    request = _request(text) if text is not None else "send text frames of JSON, not binary"
    if isinstance(request, str):
        subscriber.error(request)
        return
    try:
        if request.unsubscribe is not None:
            subscriber.unsubscribe(request.unsubscribe)
        if request.subscribe is not None:
            subscriber.subscribe(request.subscribe, request.since)
    except TopicError as exc:
        subscriber.error(str(exc))


async def _send(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send what the subscriber hands out; when it ends (the server stops), close."""
    try:
        async for text in subscriber.outgoing():
            await websocket.send_text(text)
        await websocket.close(subscriber.close_code, subscriber.close_reason)
    except Exception:  # the client went away (its receive side ends the handler)
        log.debug("stream send ended", exc_info=True)


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    """Live and stored events (see the module's docstring for the messages)."""
    hub: EventHub = websocket.app.state.events
    await websocket.accept()
    subscriber = hub.subscriber()
    sender = asyncio.create_task(_send(websocket, subscriber), name="wtb-stream-send")
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            _apply(subscriber, message.get("text"))
    finally:
        subscriber.close()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
