"""``wtb serve`` as a user starts it: a real process, stopped with SIGTERM mid-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from wtb_core import ExecutionStatus, WTBTestBench

ROOT = Path(__file__).resolve().parents[2]
WTB = Path(sys.executable).with_name("wtb")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("wtb serve did not start")


def test_sigterm_pauses_a_running_execution_at_a_node_boundary_and_exits(tmp_path):
    data_dir, port = tmp_path / "data", _free_port()
    env = {**os.environ, "WTB_LOAD_PLUGINS": "", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [str(WTB), "--data-dir", str(data_dir), "serve", "--port", str(port),
         "--project", "tests.workflows:dozing"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        started = httpx.post(f"{url}/api/v1/executions", json={"project": "dozing"}, timeout=10)
        assert started.status_code == 202, started.text
        execution_id = started.json()["execution_id"]
        time.sleep(0.6)  # inside the second node
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: "ended by SIGTERM".
        assert process.wait(30) in (0, -signal.SIGTERM), process.communicate()[1]
    finally:
        if process.poll() is None:
            process.kill()
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        paused = bench.get_execution(execution_id)
        assert paused.status is ExecutionStatus.PAUSED, paused
        assert 0 < len(paused.state.get("log", [])) < 6
        assert paused.next  # resumable from the boundary it stopped at
        from tests.conftest import register
        from tests.workflows import dozing

        register(bench, dozing)
        done = bench.resume(execution_id)
        assert done.status is ExecutionStatus.COMPLETED
        assert done.state["log"] == [f"doze{i}" for i in range(6)]
