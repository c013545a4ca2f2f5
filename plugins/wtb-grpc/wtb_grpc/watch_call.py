"""``Watch``: the stored event log as a server stream, through the REST stream's
``EventHub`` — the same log, the same ``seq``, the same catch-up-then-live hand-over, so
with ``since_seq`` nothing is missed or sent twice, across server restarts too.

The handler is a coroutine on the server's event loop, never a thread: a client that
cancels cancels the coroutine where it waits (grpc issue 22874's blocked handler thread
cannot happen), and its subscriber is closed. A subscriber's queue is bounded
(``EventHub.queue_size``); a client that falls that far behind is not dropped: its stream
goes on from the stored log after the last event it was sent, at the pace it reads.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import grpc

from wtb_core import InvalidInputError
from wtb_grpc._gen import wtb_pb2 as pb
from wtb_grpc.calls import STOPPING, Calls, Context, abort_with
from wtb_grpc.messages import event_message


class WatchCall(Calls):
    async def Watch(self, request: pb.WatchRequest, context: Context) -> AsyncIterator[pb.Event]:
        since = request.since_seq if request.HasField("since_seq") else None
        if self.stopping:
            await context.abort(grpc.StatusCode.UNAVAILABLE, STOPPING)
        if not request.channels:
            await abort_with(
                context,
                InvalidInputError(
                    "name at least one channel: execution:<id>, batch:<id>, project:<name> or *"
                ),
            )
        if since is not None and since < 0:
            await abort_with(context, InvalidInputError(f"since_seq {since} must be >= 0"))
        subscriber = self.hub.subscriber()
        try:
            try:
                subscriber.subscribe(list(request.channels), since)
            except ValueError as exc:  # an unknown channel (TopicError)
                await abort_with(context, InvalidInputError(str(exc)))
            async for text in subscriber.outgoing():
                item = json.loads(text)
                if "execution_id" in item:  # an event (notices have no execution_id)
                    yield event_message(item)
                elif item["type"] == "lagged":  # go on from the log after what was sent
                    subscriber.subscribe((), item["seq"])
                elif item["type"] == "error":
                    context.set_code(grpc.StatusCode.UNAVAILABLE)
                    context.set_details(item["message"].replace("since=", "since_seq="))
                    return
            context.set_code(grpc.StatusCode.UNAVAILABLE)  # the hub stopped: the server is
            context.set_details(STOPPING)
        finally:
            subscriber.close()
