"""Stopping drains like ``wtb serve``: health turns NOT_SERVING, in-flight unary calls
finish, streams end, running executions pause at their next node boundary — in process,
and for ``wtb grpc serve`` stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from wtb_core import ExecutionResult, ExecutionStatus, WorkflowProject, WTBTestBench
from wtb_core.plugin import ServerBusyError
from wtb_grpc import Client, ServerUnavailableError, StreamEvent, serve_in_thread

from .conftest import open_bench

ROOT = Path(__file__).resolve().parents[3]
WTB = Path(sys.executable).with_name("wtb")
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(address: str) -> Any:
    with grpc.insecure_channel(address) as channel:
        request = health_pb2.HealthCheckRequest(service="wtb.v1.WorkflowTestBench")
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=2).status


def _watch_until_stopped(client: Client, execution_id: str, seen: list[StreamEvent]) -> str:
    try:
        for event in client.watch(execution_id=execution_id, since=0):
            seen.append(event)
    except ServerUnavailableError as exc:
        return str(exc)
    return "ended without a status"


def _in_flight(client: Client, pool: ThreadPoolExecutor) -> tuple[Future[Any], ...]:
    """A blocking ``Run`` of ``dozing`` and a stream watching it, once it is running."""
    run: Future[ExecutionResult] = pool.submit(client.run, "dozing", {})
    seen: list[StreamEvent] = []
    deadline = time.monotonic() + 30
    while not client.list_executions(project="dozing", status="running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [running] = client.list_executions(project="dozing", status="running")
    stream = pool.submit(_watch_until_stopped, client, running.execution_id, seen)
    while not any(e.type == "node_completed" for e in seen):  # inside the second node
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return run, stream


def test_stopping_drains_calls_streams_and_executions(data_dir: Path) -> None:
    bench = open_bench(data_dir)
    served = serve_in_thread(bench)
    with Client(served.address) as client, ThreadPoolExecutor(4) as pool:
        run, stream = _in_flight(client, pool)
        stopping = threading.Thread(target=served.stop)
        stopping.start()
        deadline = time.monotonic() + 10
        while _health(served.address) != NOT_SERVING:  # NOT_SERVING while it drains
            assert time.monotonic() < deadline
        paused = run.result(30)  # the in-flight unary call finished
        assert "the server is stopping" in stream.result(30)
        stopping.join(60)
    assert paused.status is ExecutionStatus.PAUSED and paused.next
    assert 0 < len(paused.state["log"]) < 6
    done = bench.resume(paused.execution_id)
    assert done.state["log"] == [f"doze{i}" for i in range(6)]
    bench.close()


def test_sigterm_pauses_a_running_execution_and_exits(data_dir: Path) -> None:
    port = _free_port()
    env = {**os.environ, "WTB_LOAD_PLUGINS": "grpc", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [str(WTB), "--data-dir", str(data_dir), "grpc", "serve", "--port", str(port),
         "--project", "tests.workflows:dozing"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if _health(address) == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                assert time.monotonic() < deadline, "wtb grpc serve did not start"
                time.sleep(0.1)
        with Client(address) as client, ThreadPoolExecutor(4) as pool:
            run, stream = _in_flight(client, pool)
            process.send_signal(signal.SIGTERM)
            paused = run.result(30)
            assert "the server is stopping" in stream.result(30)
        assert process.wait(30) == 0, process.communicate()[1]
    finally:
        if process.poll() is None:
            process.kill()
    assert "over gRPC (plaintext) at 127.0.0.1" in process.communicate()[0]
    assert paused.status is ExecutionStatus.PAUSED
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        from tests.workflows import dozing

        stored = bench.get_execution(paused.execution_id)
        assert stored.status is ExecutionStatus.PAUSED and stored.next
        bench.register_project(WorkflowProject("dozing", dozing))
        done = bench.resume(paused.execution_id)
        assert done.state["log"] == [f"doze{i}" for i in range(6)]


def test_a_run_started_while_draining_is_refused(data_dir: Path) -> None:
    with open_bench(data_dir) as bench:
        served = serve_in_thread(bench)
        served.server.jobs.drain(0.1)  # what SIGTERM starts with: no new work
        client = Client(served.address)
        with client, pytest.raises(ServerBusyError, match="shutting down"):
            client.run("linear", {})
        served.stop()
