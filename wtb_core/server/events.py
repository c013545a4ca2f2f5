"""``EventHub``: the stored event log, tailed and fanned out to the stream's subscribers.

The log is the ``audit_events`` table; an event's ``seq`` is its row id. Its rows commit
in seq order (``MetadataStore.append_events``), so whoever has read every row up to ``n``
has missed none below it. The hub keeps such a cursor: it reads the rows after it when
the bench's event bus has committed some (``EventBus.on_stored``) and at least every
``poll_interval`` seconds (rows other processes wrote: a detached batch, another bench on
the same database), and offers each to every live subscriber whose topics match.

A ``Subscriber`` (one per socket) is either *live* — the hub appends matching events to
its queue — or *catching up*: it reads the log itself, page by page, from its ``since``
through the newest stored event, and goes live once it has read as far as the hub's
cursor (the check and the hub's deliveries run on the event loop, so nothing lands
between the two; the hub's later offer of an event already read is ignored): no event
is missed or sent twice. Its
queue is bounded: an event that finds it full drops the subscriber from live delivery
and queues a ``lagged`` notice with the last seq it was sent; the client resubscribes
with ``since=`` that seq. The hub never waits for a subscriber, so a slow client slows
neither the executions nor the other clients.

Everything here runs on the server's event loop except the reads (worker threads) and
the bus's notification (the bus's writer thread, handed to the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wtb_core.engine.events import EventBus
from wtb_core.server.wire import LogEvent, Topics
from wtb_core.storage.metadata import MetadataStore

log = logging.getLogger(__name__)

MAX_NOTICES = 1000
GOING_AWAY, POLICY_VIOLATION = 1001, 1008  # WebSocket close codes
STOPPING = "the server is stopping; reconnect with since=<the last seq you got>"

BUS_INTERVAL = 0.01
"""Seconds the bench's audit writer waits at most while a socket subscribes (the SDK's
0.25 s would put a quarter second between an event and its subscribers). With nobody
subscribed the writer keeps its own interval: fewer, larger commits, faster runs."""


class EventHub:
    """Tails the event log and delivers it to subscribers (see the module's docstring).

    ``queue_size`` bounds each subscriber's queue; ``page`` is how many rows one read
    takes. ``start()`` and ``stop()`` bracket the server's life.
    """

    def __init__(
        self,
        metadata: MetadataStore,
        bus: EventBus | None = None,
        *,
        poll_interval: float = 0.5,
        queue_size: int = 10_000,
        page: int = 500,
    ) -> None:
        self.metadata = metadata
        self.bus = bus
        self.poll_interval = poll_interval
        self.queue_size = queue_size
        self.page = page
        self.cursor = 0  # every event with a seq up to it has been offered
        self._live: set[Subscriber] = set()
        self._subscribers: set[Subscriber] = set()
        self._woken = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._bus_interval: float | None = None
        # The tail reads on a thread of their own: never queued behind other blocking calls.
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="wtb-event-hub")

    # -- life ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start tailing at the newest stored event."""
        self._loop = asyncio.get_running_loop()
        self.cursor = await asyncio.to_thread(self.metadata.last_event_seq)
        if self.bus is not None:
            self._unlisten = self.bus.on_stored(self._notify)
            self._bus_interval = self.bus.interval
        self._task = asyncio.create_task(self._tail(), name="wtb-event-hub")

    async def stop(self) -> None:
        """Stop tailing, end every subscriber's stream, give the bus its interval back."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.bus is not None and self._bus_interval is not None:
            self.bus.interval = self._bus_interval
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for subscriber in list(self._subscribers):
            subscriber.close()
        self._reader.shutdown(wait=False)

    def _notify(self, stored: list[tuple[int, dict[str, Any]]]) -> None:
        """Called on the bus's writer thread after a commit, with the rows it wrote. With
        no subscriber open nothing is rendered: only the cursor moves on."""
        loop = self._loop
        if loop is None or not stored:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            if self._subscribers:
                events = [LogEvent.stored(seq, row) for seq, row in stored]
                loop.call_soon_threadsafe(self._stored, events)
            else:
                loop.call_soon_threadsafe(self._passed, stored[0][0], stored[-1][0], len(stored))

    def _passed(self, first: int, last: int, count: int) -> None:
        """Rows the bus committed while nobody subscribed: the cursor moves past them when
        they follow it without a gap and still nobody is live (a subscriber that opened
        since reads them from the log); otherwise the log is read as for ``_stored``."""
        if not self._live and first == self.cursor + 1 and last - first == count - 1:
            self.cursor = last
        else:
            self._woken.set()

    def _stored(self, events: list[LogEvent]) -> None:
        """Rows the bus committed: delivered at once when they follow the cursor without
        a gap; otherwise (rows of another writer came between, or no seqs) the log is
        read."""
        if events and events[0].seq == self.cursor + 1 and self._contiguous(events):
            self._deliver(events)
        else:
            self._woken.set()

    @staticmethod
    def _contiguous(events: list[LogEvent]) -> bool:
        return events[-1].seq - events[0].seq == len(events) - 1

    # -- subscribers ---------------------------------------------------------------------

    def subscriber(self) -> Subscriber:
        """A new subscriber (of no topic yet); ``close()`` it when its socket ends. While
        any is open the bus writes at ``BUS_INTERVAL``."""
        subscriber = Subscriber(self)
        self._subscribers.add(subscriber)
        if len(self._subscribers) == 1 and self.bus is not None and self._bus_interval:
            self.bus.interval = min(self._bus_interval, BUS_INTERVAL)
        return subscriber

    @property
    def subscribers(self) -> int:
        """Open subscribers (live, catching up or lagged)."""
        return len(self._subscribers)

    def _go_live(self, subscriber: Subscriber) -> bool:
        """Make ``subscriber`` live if it has read the log up to the hub's cursor."""
        if subscriber.cursor < self.cursor:
            return False
        self._live.add(subscriber)
        return True

    def _leave(self, subscriber: Subscriber, closing: bool = False) -> None:
        self._live.discard(subscriber)
        if closing and subscriber in self._subscribers:
            self._subscribers.discard(subscriber)
            if not self._subscribers and self.bus is not None and self._bus_interval:
                self.bus.interval = self._bus_interval

    async def read(
        self, after: int, filters: dict[str, Collection[str] | None], through: bool = False
    ) -> tuple[int, list[LogEvent]]:
        """Up to ``page`` events of the log after ``after``, with the seq the
        read covers when it returns fewer: with ``through`` the newest stored event's
        (every event up to it has committed), else the last event read."""
        low = self.cursor

        def load() -> tuple[int, list[LogEvent]]:
            end = max(low, self.metadata.last_event_seq()) if through else None
            rows = self.metadata.events_since(after, self.page, until=end, **filters)
            events = [LogEvent.of(row) for row in rows]
            return (end if end is not None else events[-1].seq if events else after), events

        if through:
            return await asyncio.to_thread(load)
        return await asyncio.get_running_loop().run_in_executor(self._reader, load)

    # -- tailing -------------------------------------------------------------------------

    async def _tail(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._woken.wait()
            self._woken.clear()
            try:
                while True:
                    _, events = await self.read(self.cursor, {})
                    self._deliver(events)
                    if len(events) < self.page:
                        break
            except Exception:  # the database is away: keep the cursor, read again later
                log.exception("reading the event log failed; retrying")
                await asyncio.sleep(self.poll_interval)

    def _deliver(self, events: list[LogEvent]) -> None:
        """Offer ``events`` (the log after ``cursor``, in order) to the live subscribers."""
        for event in events:
            if event.seq <= self.cursor:  # delivered already by the other path
                continue
            for subscriber in list(self._live):
                if subscriber.topics.matches(event):
                    subscriber.offer(event)
        if events:
            self.cursor = max(self.cursor, events[-1].seq)


class Subscriber:
    """One socket's subscription: its topics, its place in the log, what waits to go out.

    ``subscribe``/``unsubscribe`` change it; ``outgoing()`` yields the JSON texts to send,
    in order: events, and the notices ``{"type": "subscribed", "topics", "seq"}`` (live
    from after ``seq`` on), ``{"type": "lagged", "seq"}`` and ``{"type": "error",
    "message"}``.
    """

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self.topics = Topics()
        self.cursor = 0  # events up to this seq are sent, queued or not wanted
        self.sent = 0  # the seq of the last event sent
        self.catching_up = False
        self.closed = False
        self._events: deque[LogEvent] = deque()
        self._notices: deque[dict[str, Any]] = deque()
        self._generation = 0  # a new since= restarts a catch-up in flight
        self._wake = asyncio.Event()
        self._live = False
        self.close_code, self.close_reason = GOING_AWAY, STOPPING

    # -- requests (on the loop) ----------------------------------------------------------

    def subscribe(self, topics: Iterable[str], since: int | None = None) -> None:
        """Add ``topics``. With ``since``, the stream (of every topic it has) restarts
        after that seq: stored events first, then live ones. Without it, a subscriber
        not yet live (new, or lagged) goes live from the newest event on."""
        self.topics.add(topics)
        if since is not None:
            self.hub._leave(self)
            self._live = False
            self._events.clear()
            self.cursor = self.sent = since
            self._generation += 1
            self.catching_up = True
        elif not self._live and not self.catching_up:
            self.cursor = self.sent = max(self.cursor, self.hub.cursor)
            self._live = self.hub._go_live(self)
        if self._live:
            self._subscribed()
        self._wake.set()

    def unsubscribe(self, topics: Iterable[str]) -> None:
        self.topics.remove(topics)
        self._notice({"type": "unsubscribed", "topics": self.topics.names()})

    def error(self, message: str) -> None:
        self._notice({"type": "error", "message": message})

    def close(self, code: int = GOING_AWAY, reason: str = STOPPING) -> None:
        """Stop: ``outgoing()`` ends (the socket is to be closed with ``code`` and
        ``reason``), the hub forgets this subscriber."""
        if not self.closed:
            self.close_code, self.close_reason = code, reason
        self.closed = True
        self.hub._leave(self, closing=True)
        self._wake.set()

    # -- from the hub --------------------------------------------------------------------

    def offer(self, event: LogEvent) -> None:
        if not self._live or event.seq <= self.cursor:  # lagged; or read while catching up
            return
        if len(self._events) >= self.hub.queue_size:
            self.hub._leave(self)
            self._live = False
            self._events.clear()
            self._notice({"type": "lagged", "seq": self.sent})
        else:
            self._events.append(event)
            self.cursor = event.seq
        self._wake.set()

    def _subscribed(self) -> None:
        self._notice({"type": "subscribed", "topics": self.topics.names(), "seq": self.cursor})

    def _notice(self, notice: dict[str, Any]) -> None:
        """Queue a notice; a client that sends requests and never reads the answers is
        cut off rather than answered without bound."""
        if len(self._notices) >= MAX_NOTICES:
            self.close(POLICY_VIOLATION, f"more than {MAX_NOTICES} answers unread")
        else:
            self._notices.append(notice)
        self._wake.set()

    # -- to the socket -------------------------------------------------------------------

    async def outgoing(self) -> AsyncIterator[str]:
        """The texts to send, until ``close()``."""
        while not self.closed:
            if self._notices:
                yield json.dumps(self._notices.popleft())
            elif self.catching_up:
                async for text in self._catch_up():
                    yield text
            elif self._events:
                event = self._events.popleft()
                self.sent = event.seq
                yield event.text
            else:
                self._wake.clear()
                await self._wake.wait()

    async def _catch_up(self) -> AsyncIterator[str]:
        """The stored events after ``cursor``, then live delivery (see the module)."""
        generation = self._generation
        while True:
            try:
                until, events = await self.hub.read(
                    self.cursor, self.topics.filters(), through=True
                )
            except Exception as exc:
                if generation == self._generation:
                    self.catching_up = False
                    self.error(
                        f"reading the event log failed ({exc}); subscribe again with "
                        f"since={self.sent}"
                    )
                return
            for event in events:
                if generation != self._generation or self.closed:
                    return  # a new since= (or the end) while this page was read or sent
                self.sent = self.cursor = event.seq
                yield event.text
            if generation != self._generation or self.closed:
                return
            if len(events) < self.hub.page:  # read everything up to ``until``
                self.cursor = max(self.cursor, until)
                if self.hub._go_live(self):
                    self.catching_up = False
                    self._live = True
                    self._subscribed()
                    return
