"""``Watch``: every event of a run in order, resume by ``since`` (also across a restart),
a bounded queue that loses nothing, and cancelled streams that leave no thread behind."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

from wtb_core import WTBTestBench
from wtb_grpc import Client, StreamEvent, ThreadedGrpcServer, serve_in_thread

from .conftest import open_bench


def take(client: Client, count: int, **watch: object) -> list[StreamEvent]:
    """The first ``count`` events of a watch, then the stream is cancelled."""
    got: list[StreamEvent] = []
    with client.watch(**watch) as events:  # type: ignore[arg-type]
        for event in events:
            got.append(event)
            if len(got) == count:
                break
    return got


def test_watch_sees_every_event_of_a_run_in_order(client: Client, bench: WTBTestBench) -> None:
    r = client.run("linear", {"n": 0})
    trail = bench.audit(r.execution_id)
    events = take(client, len(trail), execution_id=r.execution_id, since=0)
    assert [e.type for e in events] == [a.event_type for a in trail]
    assert [e.node for e in events] == [a.node for a in trail]
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    assert {e.execution_id for e in events} == {r.execution_id}
    assert events[-1].type == "execution_completed"


def test_live_events_follow_the_stored_ones(client: Client, bench: WTBTestBench) -> None:
    first = client.run("linear", {})
    before = len(bench.audit(first.execution_id))
    got: list[StreamEvent] = []
    with client.watch(project="linear", since=0) as events:
        for event in events:
            got.append(event)
            if len(got) == before:  # caught up: run again, live this time
                second = client.run("linear", {}, detach=True)
            if event.type == "execution_completed" and len(got) > before:
                break
    assert [e.execution_id for e in got[before:]] == [second.execution_id] * (len(got) - before)
    trail = bench.audit(second.execution_id)
    assert [e.type for e in got[before:]] == [a.event_type for a in trail]


def test_watch_resumes_with_since_without_gaps_or_repeats(
    client: Client, bench: WTBTestBench
) -> None:
    r = client.run("chain10", {})
    total = len(bench.audit(r.execution_id))
    everything = take(client, total, execution_id=r.execution_id, since=0)
    head = take(client, 7, execution_id=r.execution_id, since=0)
    tail = take(client, total - 7, execution_id=r.execution_id, since=head[-1].seq)
    assert head + tail == everything


def test_since_resumes_across_a_server_restart(data_dir: Path) -> None:
    with open_bench(data_dir) as bench:
        served = serve_in_thread(bench)
        with Client(served.address) as client:
            r = client.run("linear", {})
            total = len(bench.audit(r.execution_id))
            head = take(client, 4, execution_id=r.execution_id, since=0)
        served.stop()
    with open_bench(data_dir) as bench:
        served = serve_in_thread(bench)
        try:
            with Client(served.address) as client:
                tail = take(client, total - 4, execution_id=r.execution_id, since=head[-1].seq)
                again = take(client, total, execution_id=r.execution_id, since=0)
        finally:
            served.stop()
    assert head + tail == again


def test_a_subscriber_that_overflows_its_queue_goes_on_from_the_log(
    server: ThreadedGrpcServer, client: Client, bench: WTBTestBench
) -> None:
    server.server.hub.queue_size = 1  # every commit of two events or more overflows it
    got: list[StreamEvent] = []
    with client.watch(channels=["*"], since=0) as events:
        r = client.run("chain10", {}, detach=True)
        for event in events:
            got.append(event)
            if event.type == "execution_completed" and event.execution_id == r.execution_id:
                break
    trail = [a.event_type for a in bench.audit(r.execution_id)]
    assert [e.type for e in got if e.execution_id == r.execution_id] == trail
    seqs = [e.seq for e in got]
    assert seqs == sorted(set(seqs))


def _stack(thread: threading.Thread) -> list[str]:
    frame = sys._current_frames().get(thread.ident or -1)
    return [f"{f.filename}:{f.name}" for f in traceback.extract_stack(frame)] if frame else []


def _working() -> set[str]:
    """Threads that are not idle pool workers (a worker waiting for its next task)."""
    working = set()
    for thread in threading.enumerate():
        stack = _stack(thread)
        pooled = any(line.endswith("concurrent/futures/thread.py:_worker") for line in stack)
        if not pooled or any("wtb_grpc" in line or "wtb_core" in line for line in stack):
            working.add(thread.name)
    return working


def _in_handlers() -> list[str]:
    return [t.name for t in threading.enumerate() if any("wtb_grpc" in x for x in _stack(t))]


def _settled(server: ThreadedGrpcServer, threads: set[str], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while server.server.servicer.watching or _working() - threads or _in_handlers():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{server.server.servicer.watching} streams open; threads at work "
                f"{sorted(_working() - threads)}; in wtb_grpc: {_in_handlers()}"
            )
        time.sleep(0.02)


def _open_and_cancel(server: ThreadedGrpcServer, client: Client, execution_id: str) -> None:
    """Five streams reading the log, one waiting for live events; all cancelled mid-way."""
    streams = [client.watch(execution_id=execution_id, since=0) for _ in range(5)]
    live = client.watch(channels=["*"])  # waits for events that never come
    for stream in streams:
        next(stream)
    deadline = time.monotonic() + 10
    while server.server.servicer.watching < 6:  # the live one subscribes in its own time
        assert time.monotonic() < deadline, server.server.servicer.watching
        time.sleep(0.01)
    assert _in_handlers() == []  # waiting streams hold no thread
    for stream in [*streams, live]:
        stream.cancel()


def test_a_cancelled_stream_frees_the_server(server: ThreadedGrpcServer, client: Client) -> None:
    """A handler is a coroutine, not a thread (grpc issue 22874): open streams hold no
    thread, and once they are cancelled no handler is left and every thread that is not
    an idle pool worker is one that was there before."""
    r = client.run("chain10", {})
    _open_and_cancel(server, client, r.execution_id)
    _settled(server, _working() | {"MainThread"}, timeout=10)
    threads = _working()
    for _ in range(3):
        _open_and_cancel(server, client, r.execution_id)
        _settled(server, threads)
    assert _working() <= threads  # a thread of an earlier test may end meanwhile


@pytest.mark.parametrize(
    ("watch", "message"),
    [
        ({"channels": ["nonsense"]}, "unknown topic 'nonsense'"),
        ({}, "name at least one channel"),
        ({"channels": ["*"], "since": -1}, "since_seq -1 must be >= 0"),
    ],
)
def test_a_bad_watch_is_refused(client: Client, watch: dict[str, object], message: str) -> None:
    from wtb_core import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        next(client.watch(**watch))  # type: ignore[arg-type]
