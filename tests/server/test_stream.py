"""The WebSocket event stream ``/api/v1/stream`` over a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests import workflows
from tests.conftest import register
from tests.server.conftest import PROJECTS
from tests.server.stream_client import StreamClient, measure_delivery_latency
from wtb_core import WTBTestBench
from wtb_core.server.events import BUS_INTERVAL, MAX_NOTICES, EventHub
from wtb_core.server.settings import ServeSettings
from wtb_core.server.threaded import ThreadedServer as LiveServer
from wtb_core.server.threaded import serve_in_thread as serve
from wtb_core.server.wire import wire_event


def hub_of(live: LiveServer) -> EventHub:
    hub = live.server.config.app.state.events
    assert isinstance(hub, EventHub)
    return hub


def stored(bench: WTBTestBench, since: int = 0, **filters: Any) -> list[dict[str, Any]]:
    """The stored event log after ``since``, as the stream sends it."""
    bench.services.events.flush()
    rows = bench.stack.metadata.events_since(since, 100_000, **filters)
    return [wire_event(row) for row in rows]


def events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if "seq" in m and m["type"] != "lagged"]


def completed(execution_id: str):
    return lambda m: m["type"] == "execution_completed" and m["execution_id"] == execution_id


def in_thread(call, *args: Any, **kwargs: Any) -> threading.Thread:
    thread = threading.Thread(target=call, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def test_a_subscriber_of_an_execution_gets_its_events_in_seq_order_while_it_runs(live):
    bench = live.bench
    other = bench.run("linear", {"query": "before"})  # not subscribed: never sent
    with StreamClient(live.url) as client:
        replayed, subscribed = client.subscribe(["execution:watched"])
        assert replayed == [] and subscribed["topics"] == ["execution:watched"]
        run = in_thread(bench.run, "slow", {"query": "q"}, execution_id="watched")
        # Live: the slow node's start arrives while the node still waits on the gate.
        got = client.until(lambda m: m["type"] == "node_started" and m["node"] == "slow")
        assert workflows.STARTED.is_set() and bench.get_execution("watched").status == "running"
        workflows.GATE.set()
        got += client.until(completed("watched"))
        run.join(10)
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(m["execution_id"] == "watched" and m["project"] == "slow" for m in got)
    assert got == stored(bench, executions=["watched"])  # exactly the log, nothing else
    assert got[0]["type"] == "execution_started" and got[0]["seq"] > subscribed["seq"]
    assert [m["node"] for m in got if m["type"] == "node_completed"] == [
        "first",
        "slow",
        "after",
        "last",
    ]
    assert {"seq", "type", "execution_id", "node", "checkpoint_id", "timestamp", "data"} <= set(
        got[-1]
    )
    assert other.execution_id not in {m["execution_id"] for m in got}


def test_since_replays_the_stored_log_then_goes_live(live):
    bench = live.bench
    first = bench.run("linear", {"query": "a"})
    second = bench.run("chain10", {"query": "b"})
    log = stored(bench)
    assert len(log) > 20
    with StreamClient(live.url) as client:
        replayed, subscribed = client.subscribe(["*"], since=0)
        assert replayed == log and subscribed["seq"] == log[-1]["seq"]
        middle = log[len(log) // 2]["seq"]
        replayed, _ = client.subscribe(["*"], since=middle)  # since restarts the stream
        assert replayed == [e for e in log if e["seq"] > middle]
        third = bench.run("linear", {"query": "c"})
        live_events = client.until(completed(third.execution_id))
        assert live_events == stored(bench, since=log[-1]["seq"])
    with StreamClient(live.url) as client:  # filtered replay: one execution, one project
        replayed, _ = client.subscribe([f"execution:{first.execution_id}"], since=0)
        assert replayed == stored(bench, executions=[first.execution_id])
        assert {e["execution_id"] for e in replayed} == {first.execution_id}
        replayed, _ = client.subscribe(["project:chain10"], since=0)
        assert replayed == stored(
            bench, executions=[first.execution_id], projects=["chain10"]
        )  # both topics now
        assert {e["execution_id"] for e in replayed} == {first.execution_id, second.execution_id}


def test_reconnect_with_since_after_a_server_restart_gets_exactly_the_missed_events(data_dir):
    def bench() -> WTBTestBench:
        b = WTBTestBench(data_dir=data_dir, load_entrypoints=False)
        for name, factory in PROJECTS.items():
            register(b, factory, name)
        return b

    first_bench = bench()
    server = serve(first_bench)
    with StreamClient(server.url) as client:
        client.subscribe(["*"])
        run = first_bench.run("chain10", {"query": "a"})
        seen = client.until(lambda m: m["type"] == "checkpoint_created")  # part of the run
    last = seen[-1]["seq"]
    missed_run = first_bench.run("linear", {"query": "b"})  # no client connected
    connected = StreamClient(server.url)  # still connected while the server stops
    connected.subscribe(["*"])
    server.stop()
    with pytest.raises(ConnectionClosed):
        while True:
            connected.recv()
    first_bench.close()

    second_bench = bench()
    server = serve(second_bench)
    try:
        after_restart = second_bench.run("linear", {"query": "c"})  # before the reconnect
        log = stored(second_bench)
        with StreamClient(server.url) as client:
            replayed, subscribed = client.subscribe(["*"], since=last)
            assert replayed == [e for e in log if e["seq"] > last]
            assert {e["execution_id"] for e in replayed} == {
                run.execution_id,
                missed_run.execution_id,
                after_restart.execution_id,
            }
            assert [e["seq"] for e in seen + replayed] == [e["seq"] for e in log]  # no dup
            live_run = second_bench.run("linear", {"query": "d"})
            live_events = client.until(completed(live_run.execution_id))
            assert live_events == stored(second_bench, since=subscribed["seq"])
    finally:
        server.stop()
        second_bench.close()


def test_topics_can_be_added_and_dropped_on_an_open_socket(live):
    bench = live.bench
    with StreamClient(live.url) as client:
        client.subscribe(["execution:a"])
        _, subscribed = client.subscribe(["execution:b"])  # added live, from now on
        assert subscribed["topics"] == ["execution:a", "execution:b"]
        client.send({"unsubscribe": ["execution:a"]})
        assert client.recv() == {"type": "unsubscribed", "topics": ["execution:b"]}
        bench.run("linear", {"query": "q"}, execution_id="a")
        bench.run("linear", {"query": "q"}, execution_id="b")
        got = client.until(completed("b"))
    assert got == stored(bench, executions=["b"])


def test_events_another_process_writes_reach_live_subscribers(live, data_dir):
    with StreamClient(live.url) as client:
        _, subscribed = client.subscribe(["project:linear"])
        with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as elsewhere:
            register(elsewhere, workflows.linear, "linear")
            run = elsewhere.run("linear", {"query": "q"})  # its own bus writes the rows
        got = client.until(completed(run.execution_id))
    assert got == stored(live.bench, since=subscribed["seq"])


def test_a_client_that_disconnects_mid_stream_disturbs_neither_the_server_nor_others(live):
    bench = live.bench
    hub = hub_of(live)
    leaving = StreamClient(live.url)
    staying = StreamClient(live.url)
    leaving.subscribe(["*"])
    _, subscribed = staying.subscribe(["*"])
    ids = [f"run-{i}" for i in range(5)]

    def runs() -> None:
        for execution_id in ids:
            bench.run("chain10", {"query": "q"}, execution_id=execution_id)

    worker = in_thread(runs)
    leaving.until(lambda m: m["type"] == "node_completed")
    leaving.ws.socket.shutdown(socket.SHUT_RDWR)  # gone without a closing handshake
    leaving.ws.socket.close()
    got = staying.until(completed(ids[-1]), timeout=30)
    worker.join(30)
    assert got == stored(bench, since=subscribed["seq"])
    assert all(bench.get_execution(i).status == "completed" for i in ids)
    deadline = time.monotonic() + 10
    while hub.subscribers != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.subscribers == 1
    staying.close()
    assert httpx.get(f"{live.url}/healthz").status_code == 200
    with StreamClient(live.url) as again:
        replayed, _ = again.subscribe([f"execution:{ids[0]}"], since=0)
        assert replayed == stored(bench, executions=[ids[0]])


def _shrink_send_buffer(live: LiveServer, client_port: int) -> None:
    """Make the server's side of one client's connection buffer little, so a client that
    stops reading fills it quickly (the kernel would otherwise take megabytes)."""
    for connection in live.server.server_state.connections:
        if getattr(connection, "client", None) and connection.client[1] == client_port:
            sock = connection.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            return
    raise AssertionError("no such connection")


def test_a_client_that_stops_reading_is_told_it_lagged_and_slows_nothing(live):
    bench = live.bench
    hub = hub_of(live)
    hub.queue_size = 100
    runs = 25
    ids = [f"load-{i}" for i in range(runs)]
    fast = StreamClient(live.url)  # the baseline runs with a reading subscriber too
    _, fast_subscribed = fast.subscribe(["*"])
    received: list[dict[str, Any]] = []
    reader = in_thread(lambda: received.extend(fast.until(completed(ids[-1]), timeout=60)))
    started = time.perf_counter()
    for _ in range(5):
        bench.run("chain10", {"query": "baseline"})
    baseline = (time.perf_counter() - started) / 5

    slow = StreamClient(live.url, slow=True)
    _, slow_subscribed = slow.subscribe(["*"])
    _shrink_send_buffer(live, slow.local_port)
    started = time.perf_counter()
    for execution_id in ids:
        bench.run("chain10", {"query": "q"}, execution_id=execution_id)
    loaded = (time.perf_counter() - started) / runs
    reader.join(60)
    assert loaded < 3 * baseline + 0.05, (loaded, baseline)  # the slow client costs nothing
    log = stored(bench, since=fast_subscribed["seq"])
    assert received == log  # the fast client got everything, in order
    assert len(log) > 600

    # The slow client, reading at last: a gap-free prefix of the log, then "lagged".
    got = slow.until(lambda m: m["type"] == "lagged", timeout=30)
    lagged = got[-1]
    prefix = events(got)
    log = stored(bench, since=slow_subscribed["seq"])
    assert prefix == [e for e in log if e["seq"] <= lagged["seq"]]
    assert lagged["seq"] == (prefix[-1]["seq"] if prefix else slow_subscribed["seq"])
    assert lagged["seq"] < log[-1]["seq"]
    replayed, _ = slow.subscribe(["*"], since=lagged["seq"])  # resumes without a gap
    assert prefix + replayed == log
    slow.close()
    fast.close()


def test_batch_progress_streams_on_the_batch_topic(live):
    bench = live.bench
    register(bench, workflows.picky, "picky")
    cases = [{"query": q} for q in ("a", "bad", "b", "c", "bad")]
    with StreamClient(live.url) as watcher:
        watcher.subscribe(["project:picky"])
        result: list[Any] = []
        batch = in_thread(
            lambda: result.append(
                bench.run_batch_test("picky", [{}], cases, runner="threadpool", parallelism=2)
            )
        )
        start = watcher.until(lambda m: m["type"] == "batch_started")[-1]
        batch_id = start["batch_id"]
        assert start["data"] == {"done": 0, "failed": 0, "total": 5}
        assert start["execution_id"] == ""
        with StreamClient(live.url) as client:  # joins late: since= catches it up
            replayed, _ = client.subscribe([f"batch:{batch_id}"], since=start["seq"] - 1)
            got = replayed + client.until(lambda m: m["type"] == "batch_finished", timeout=30)
        batch.join(30)
    assert got == stored(bench, batches=[batch_id])
    progress = [m["data"] for m in got if m["type"] == "batch_progress"]
    assert [(p["done"], p["total"]) for p in progress] == [(n, 5) for n in range(1, 6)]
    assert progress[-1]["failed"] == 2
    finished = got[-1]
    assert finished["data"] == {"done": 5, "failed": 2, "total": 5, "status": "completed"}
    rows = result[0].results
    cell_events = [m for m in got if m["execution_id"]]
    assert {m["execution_id"] for m in cell_events} == {r.execution_id for r in rows}
    assert all(m["batch_id"] == batch_id for m in got)
    # each cell's progress event comes after the cell's own events
    for p_event in (m for m in got if m["type"] == "batch_progress"):
        cell = p_event["data"]["execution_id"]
        assert max(m["seq"] for m in cell_events if m["execution_id"] == cell) < p_event["seq"]


def test_malformed_messages_get_an_error_and_the_socket_stays_open(live):
    bad = [
        "not json",
        b"\x00binary",
        "[1, 2]",
        {"subscribe": ["bogus:topic"]},
        {"subscribe": ["execution:"]},
        {"subscribe": []},
        {"subscribe": ["*"], "since": -1},
        {"subscribe": ["*"], "since": "yesterday"},
        {"unsubscribe": ["*"], "since": 3},
        {"subscribe": ["*"], "extra": 1},
        {},
    ]
    with StreamClient(live.url) as client:
        for message in bad:
            client.send(message)
            reply = client.recv()
            assert reply["type"] == "error", (message, reply)
            assert reply["message"]
        run = live.bench.run("linear", {"query": "q"})
        log = stored(live.bench, executions=[run.execution_id])
        replayed, _ = client.subscribe([f"execution:{run.execution_id}"], since=0)
        assert replayed == log
        client.send({"unsubscribe": [f"execution:{run.execution_id}"]})
        assert client.recv() == {"type": "unsubscribed", "topics": []}


def test_a_client_that_never_reads_the_answers_to_its_requests_is_cut_off(live):
    client = StreamClient(live.url, slow=True)
    _shrink_send_buffer(live, client.local_port)
    for _ in range(MAX_NOTICES + 500):
        client.send("not json")
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert hub_of(live).subscribers == 0
    assert httpx.get(f"{live.url}/healthz").status_code == 200


def test_the_stream_takes_the_token_in_the_query_when_one_is_set(served_bench):
    token = "s" * 32
    server = serve(served_bench, ServeSettings(port=0, token=token))
    try:
        with pytest.raises(InvalidStatus):
            StreamClient(server.url)
        with StreamClient(server.url, token=token) as client:
            _, subscribed = client.subscribe(["*"])
            assert subscribed["type"] == "subscribed"
    finally:
        server.stop()


def test_delivery_latency_to_many_subscribers_while_a_batch_runs(live):
    bench = live.bench
    cases = [{"query": str(i)} for i in range(6)]
    latencies = measure_delivery_latency(
        live.url,
        lambda: bench.run_batch_test("chain10", [{}], cases, runner="threadpool", parallelism=3),
        subscribers=5,
    )
    assert len(latencies) == 5 * len(stored(bench))
    assert all(latency >= 0 for latency in latencies)
    assert sorted(latencies)[len(latencies) // 2] < 1000  # generous: CI machines vary


def test_the_audit_writer_runs_tight_only_while_a_socket_is_open(live):
    """With nobody subscribed runs keep the bench's own (batched) audit interval; an open
    socket tightens it so events reach it within ``BUS_INTERVAL``, and its close gives it
    back."""
    bus = live.bench.services.events
    own = bus.interval
    assert own > BUS_INTERVAL
    with StreamClient(live.url) as client:
        client.subscribe(["*"])
        assert bus.interval == BUS_INTERVAL
        started = time.monotonic()
        live.bench.run("linear", {"query": "q"})
        client.until(lambda m: m["type"] == "execution_completed")
        assert time.monotonic() - started < own  # not held for the bench's interval
    deadline = time.monotonic() + 5
    while bus.interval != own and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bus.interval == own
