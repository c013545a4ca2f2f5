"""One persistent worker per environment per bench: reused, replaced when it dies, shared
by parallel cells, stopped with the bench — and pause/stop while a node runs in it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from wtb_core import ExecutionStatus, WorkflowProject
from wtb_core.config import EnvironmentConfig, EnvSpec

from .conftest import TOMLI_NEW, alive, chain, provider_of, uvenv_nodes

BARE = EnvironmentConfig(default_env=EnvSpec())


def _register(bench, name, *nodes, env=BARE):
    bench.register_project(WorkflowProject(name, chain(*nodes), environment=env))


def _wait_for(path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return int(path.read_text())


def _in_thread(func, *args, **kwargs):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", func(*args, **kwargs)))
    thread.start()
    return thread, box


def test_a_worker_is_reused_and_a_killed_one_fails_its_node_and_is_replaced(bench, tmp_path):
    _register(bench, "kill", ("slow", uvenv_nodes.slow))
    pid_file = tmp_path / "pid"
    thread, box = _in_thread(bench.run, "kill", {"pid_file": str(pid_file), "sleep": 60})
    pid = _wait_for(pid_file)
    os.kill(pid, signal.SIGKILL)
    thread.join(30)

    failed = box["result"]
    assert failed.status is ExecutionStatus.FAILED
    assert "WorkerDiedError" in failed.error and "node 'slow'" in failed.error
    assert "killed by SIGKILL" in failed.error and "next call" in failed.error

    pid_file.unlink()
    again = bench.run("kill", {"pid_file": str(pid_file), "sleep": 0})
    assert again.status is ExecutionStatus.COMPLETED, again.error
    replacement = int(pid_file.read_text())
    assert replacement != pid
    bench.run("kill", {"pid_file": str(pid_file), "sleep": 0})
    assert int(pid_file.read_text()) == replacement  # warm: the same worker again


def test_a_worker_that_exits_mid_node_fails_only_that_call(bench):
    _register(bench, "exit", ("n", uvenv_nodes.crash))
    result = bench.run("exit", {})
    assert result.status is ExecutionStatus.FAILED
    assert "exit status 17" in result.error
    _register(bench, "after", ("n", uvenv_nodes.plain))
    assert bench.run("after", {}).status is ExecutionStatus.COMPLETED


def test_pause_and_stop_while_a_node_runs_remotely(bench, tmp_path):
    _register(bench, "ctl", ("slow", uvenv_nodes.slow), ("after", uvenv_nodes.plain))
    for request, status in ((bench.pause, ExecutionStatus.PAUSED),
                            (bench.stop, ExecutionStatus.CANCELLED)):  # fmt: skip
        pid_file = tmp_path / f"{status.value}.pid"
        thread, box = _in_thread(bench.run, "ctl", {"pid_file": str(pid_file), "sleep": 1.0})
        worker = _wait_for(pid_file)
        [running] = bench.list_executions(project="ctl", status=ExecutionStatus.RUNNING)
        answered = request(running.execution_id)  # waits for the node boundary
        thread.join(30)
        assert answered.status is status and box["result"].status is status
        assert answered.state["steps"] == ["slow"]  # the remote node finished, "after" did not
        assert alive(worker)  # the worker stays warm for the next call
    resumed = bench.resume(bench.list_executions(project="ctl", status="paused")[0].execution_id)
    assert resumed.status is ExecutionStatus.COMPLETED, resumed.error
    assert resumed.state["steps"] == ["slow", "plain"]


def test_parallel_cells_share_the_workers_of_their_environment(make_bench, monkeypatch):
    monkeypatch.setenv("WTB_UVENV_WORKERS_PER_ENV", "2")
    bench = make_bench(batch_runner="threadpool")
    _register(bench, "par", ("n", uvenv_nodes.plain))
    batch = bench.run_batch_test(
        project="par", variant_matrix=[{}], test_cases=[{"query": str(i)} for i in range(8)],
        parallelism=4,
    )  # fmt: skip
    assert [r.status for r in batch.results] == [ExecutionStatus.COMPLETED] * 8
    pids = {r.state["pid"] for r in batch.results}
    assert 1 <= len(pids) <= 2 and set(provider_of(bench).worker_pids()) >= pids


def test_closing_the_bench_stops_every_worker(make_bench):
    bench = make_bench()
    _register(bench, "a", ("n", uvenv_nodes.plain))
    env = EnvironmentConfig(default_env=EnvSpec(dependencies=[f"tomli=={TOMLI_NEW}"]))
    _register(bench, "b", ("n", uvenv_nodes.report), env=env)
    pids = {bench.run("a", {}).state["pid"], bench.run("b", {}).state["pid"]}
    assert pids == set(provider_of(bench).worker_pids()) and all(alive(p) for p in pids)
    bench.close()
    assert not [pid for pid in pids if alive(pid)]


ORPHAN = """
import os, sys
sys.path.insert(0, {nodes!r})
import uvenv_nodes
import wtb_uvenv.plugin
from langgraph.graph import StateGraph, START, END
from typing import TypedDict
from wtb_core import StackConfig, WorkflowProject, WTBTestBench
from wtb_core.config import EnvironmentConfig, EnvSpec

class S(TypedDict, total=False):
    pid: int
    steps: list

def graph():
    g = StateGraph(S)
    g.add_node("n", uvenv_nodes.plain)
    g.add_edge(START, "n")
    g.add_edge("n", END)
    return g

bench = WTBTestBench(config=StackConfig(data_dir={data!r}, environment_provider="uv"),
                     plugins=[wtb_uvenv.plugin], load_entrypoints=False)
bench.register_project(WorkflowProject("o", graph,
                       environment=EnvironmentConfig(default_env=EnvSpec())))
print(bench.run("o", {{}}).state["pid"], flush=True)
os._exit(0)  # no close(), no atexit: the worker must notice on its own
"""


def test_a_worker_exits_when_its_parent_dies_without_closing(tmp_path):
    nodes = str(uvenv_nodes.__file__).rsplit("/", 1)[0]
    code = textwrap.dedent(ORPHAN.format(nodes=nodes, data=str(tmp_path / "data")))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
