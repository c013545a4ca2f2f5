"""Batch tests on a real local Ray cluster."""

from __future__ import annotations

import operator
import os
import random
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
import ray
from langgraph.graph import END, START, StateGraph

import wtb_ray.plugin
from tests import workflows
from wtb_core import ExecutionStatus, StackConfig, TestCase, WorkflowProject, WTBTestBench
from wtb_core.batch.models import BatchStatus
from wtb_core.batch.parity import ParityChecker
from wtb_core.config import (
    EnvironmentConfig,
    EnvSpec,
    ExecutionConfig,
    NodeResourceConfig,
    RayConfig,
)


class RayState(TypedDict, total=False):
    query: str
    workdir: str
    log: Annotated[list[str], operator.add]
    pids: Annotated[list[int], operator.add]
    seen: str


def _counted(name: str):
    def node(state: RayState) -> dict[str, Any]:
        with open(Path(state["workdir"]) / f"{name}.count", "a") as counter:
            counter.write("x")
        return {"log": [name], "pids": [os.getpid()]}

    return node


def _crash_once(state: RayState) -> dict[str, Any]:
    """Kills its worker process the first time it runs (the marker file remembers)."""
    marker = Path(state["workdir"]) / "crashed"
    if not marker.exists():
        marker.write_text("1")
        os._exit(1)
    return {"log": ["crash_once"]}


def crashing_graph() -> StateGraph:
    """Defined in this test module: Ray ships it by value."""
    builder = StateGraph(RayState)
    builder.add_node("first", _counted("first"))
    builder.add_node("crash_once", _crash_once)
    builder.add_node("last", _counted("last"))
    builder.add_edge(START, "first")
    builder.add_edge("first", "crash_once")
    builder.add_edge("crash_once", "last")
    builder.add_edge("last", END)
    return builder


def _where(state: RayState) -> dict[str, Any]:
    return {"log": ["where"], "pids": [os.getpid()], "seen": os.environ.get("WTB_MARK", "")}


def resource_graph() -> StateGraph:
    builder = StateGraph(RayState)
    builder.add_node("light", lambda s: {"log": ["light"], "pids": [os.getpid()]})
    builder.add_node("heavy", _where)
    builder.add_edge(START, "light")
    builder.add_edge("light", "heavy")
    builder.add_edge("heavy", END)
    return builder


def _bench(tmp_path: Path, **config: Any) -> WTBTestBench:
    stack = StackConfig(data_dir=tmp_path / "data", batch_runner="ray", **config)
    return WTBTestBench(config=stack, plugins=[wtb_ray.plugin], load_entrypoints=False)


def test_a_batch_on_ray_gives_real_executions_and_parity_with_the_thread_pool(tmp_path):
    with _bench(tmp_path) as bench:
        project = bench.register_project(WorkflowProject("linear", workflows.linear))
        project.register_variant("generate", "echo", workflows.echo_answer)
        cases = [TestCase(inputs={"query": f"q{i}"}, expected={"n": 3}) for i in range(4)]
        batch = bench.run_batch_test(
            "linear",
            [{}, {"generate": "echo"}],
            cases,
            evaluators=["exact_match", "latency"],
            runner="ray",
            parallelism=4,
        )
        assert batch.status is BatchStatus.COMPLETED and len(batch.results) == 8
        assert all(r.status is ExecutionStatus.COMPLETED for r in batch.results)
        echo = [r for r in batch.results if r.combination == {"generate": "echo"}]
        assert sorted(r.state["answer"] for r in echo) == [f"echo: q{i}" for i in range(4)]
        assert {r.combination_label for r in echo} == {"generate=echo"}
        row = batch.results[0]
        assert len(bench.get_checkpoints(row.execution_id)) == 5  # written by a worker
        assert bench.audit(row.execution_id)[0].data["worker"] != bench.owner
        fork = bench.fork(
            row.execution_id, bench.get_checkpoints(row.execution_id)[2].checkpoint_id
        )
        assert bench.resume(fork.execution_id).state == row.state

        report = ParityChecker(bench).check(
            "linear", cases, [{}, {"generate": "echo"}], ["exact_match", "latency"]
        )
        assert report.ok, str(report)
        assert report.cells == 8


def _noisy(state: RayState) -> dict[str, Any]:
    return {"seen": str(random.random())}


def test_parity_reports_cells_that_differ(tmp_path):
    def noisy_graph():
        builder = StateGraph(RayState)
        builder.add_node("noisy", _noisy)
        builder.add_edge(START, "noisy")
        builder.add_edge("noisy", END)
        return builder

    with _bench(tmp_path) as bench:
        bench.register_project(WorkflowProject("noisy", noisy_graph))
        report = ParityChecker(bench).check("noisy", [{"query": "a"}, {"query": "b"}])
    assert not report.ok
    assert {d.field for d in report.differences} == {"state.seen"}
    assert all(d.combination == {} and d.combination_label == "default" for d in report.differences)
    assert "2 difference(s) between threadpool and ray" in str(report)


def test_a_worker_that_dies_is_replaced_and_the_cell_resumes_from_its_checkpoint(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    execution = ExecutionConfig(ray_config=RayConfig(max_retries=2, retry_delay=0.1))
    with _bench(tmp_path) as bench:
        bench.register_project(WorkflowProject("crashing", crashing_graph, execution=execution))
        batch = bench.run_batch_test("crashing", [{}], [{"workdir": str(workdir)}], runner="ray")
    [row] = batch.results
    assert row.status is ExecutionStatus.COMPLETED, row.error
    assert row.state["log"] == ["first", "crash_once", "last"]
    assert (workdir / "first.count").read_text() == "x"  # finished before the crash: not re-run
    assert (workdir / "last.count").read_text() == "x"


def test_nodes_with_resources_run_as_ray_tasks_and_impossible_ones_fail_fast(tmp_path):
    fits = ExecutionConfig(node_resources={"heavy": NodeResourceConfig(num_cpus=1, memory="50MB")})
    impossible = ExecutionConfig(
        node_resources={"heavy": NodeResourceConfig(num_cpus=1, custom_resources={"tpu": 4})}
    )
    with _bench(tmp_path) as bench:
        bench.register_project(WorkflowProject("fits", resource_graph, execution=fits))
        bench.register_project(WorkflowProject("impossible", resource_graph, execution=impossible))
        [ok] = bench.run_batch_test("fits", [{}], [{"query": "x"}], runner="ray").results
        [bad] = bench.run_batch_test("impossible", [{}], [{"query": "x"}], runner="ray").results
    assert ok.status is ExecutionStatus.COMPLETED
    light_pid, heavy_pid = ok.state["pids"]
    assert light_pid != heavy_pid  # the heavy node ran in a Ray task, not in the actor
    assert bad.status is ExecutionStatus.FAILED
    assert "no node of the Ray cluster has" in bad.error and "tpu=4" in bad.error


def test_runtime_env_vars_and_pip_packages_reach_the_node(tmp_path):
    environment = EnvironmentConfig(
        granularity="node",
        node_environments={
            "heavy": EnvSpec(dependencies=["pyfiglet==1.0.2"], env_vars={"WTB_MARK": "from-env"})
        },
    )

    def figlet_graph():
        builder = StateGraph(RayState)
        builder.add_node("heavy", _figlet)
        builder.add_edge(START, "heavy")
        builder.add_edge("heavy", END)
        return builder

    with _bench(tmp_path) as bench:
        bench.register_project(WorkflowProject("env", figlet_graph, environment=environment))
        [row] = bench.run_batch_test("env", [{}], [{"query": "x"}], runner="ray").results
    assert row.status is ExecutionStatus.COMPLETED, row.error
    assert row.state["seen"] == "from-env 1.0.2"
    with pytest.raises(ModuleNotFoundError):
        __import__("pyfiglet")  # installed only in the node's runtime env


def _figlet(state: RayState) -> dict[str, Any]:
    import pyfiglet

    return {"seen": f"{os.environ.get('WTB_MARK')} {pyfiglet.__version__}"}


def test_cancel_keeps_finished_rows(tmp_path):
    with _bench(tmp_path) as bench:
        bench.register_project(WorkflowProject("napping", workflows.napping))

        def on_progress(progress):
            if progress.done == 2:
                bench.cancel_batch(progress.batch_id)

        batch = bench.run_batch_test(
            "napping",
            [{}],
            [{"query": str(i)} for i in range(12)],
            runner="ray",
            parallelism=2,
            on_progress=on_progress,
        )
        assert batch.status is BatchStatus.CANCELLED
        assert 2 <= len(batch.results) < 12
        assert all(r.status is ExecutionStatus.COMPLETED for r in batch.results)


def test_the_memory_store_is_refused(tmp_path):
    from wtb_core import ConfigurationError

    with _bench(tmp_path, checkpoint_store="memory") as bench:
        bench.register_project(WorkflowProject("linear", workflows.linear))
        with pytest.raises(ConfigurationError, match="use the sqlite store"):
            bench.run_batch_test("linear", [{}], [{"query": "x"}], runner="ray")
    assert ray.is_initialized()


def test_wtb_parity_command(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from wtb_core.cli.app import build_app
    from wtb_core.registry import PluginRegistry

    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"query": "a"}\n{"query": "b"}\n')
    app = build_app(PluginRegistry([wtb_ray.plugin], load_entrypoints=False))
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "ray")  # the command's bench loads the plugin
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(tmp_path / "d"), "--json", "parity", "tests.workflows:linear",
         "--cases", str(cases), "--runners", "threadpool,ray"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["runners"] == ["threadpool", "ray"] and report["cells"] == 2
    assert report["differences"] == []


def test_async_nodes_run_on_ray(tmp_path):
    from tests.differential import graphs

    with _bench(tmp_path) as bench:
        bench.register_project(WorkflowProject("loop", graphs.looping_async))
        batch = bench.run_batch_test("loop", [{}], [{"n": 0}, {"n": 2}], runner="ray")
        assert [r.status for r in batch.results] == [ExecutionStatus.COMPLETED] * 2
        assert [r.state["n"] for r in batch.results] == [3, 3]
        assert [r.state["log"] for r in batch.results] == [["up"] * 3 + ["done"], ["up", "done"]]


def test_reuse_prefix_on_ray_runs_independent_cells_and_says_so(tmp_path):
    """Ray workers cannot fork a trunk the driver holds: the batch runs every cell on its
    own, records why, and its comparison does not claim a shared prefix."""
    with _bench(tmp_path) as bench:
        project = bench.register_project(WorkflowProject("linear", workflows.linear))
        project.register_variant("generate", "echo", workflows.echo_answer)
        cases = [TestCase(inputs={"query": f"q{i}"}, expected={"n": 3}) for i in range(2)]
        matrix = [{}, {"generate": "echo"}]
        batch = bench.run_batch_test(
            "linear", matrix, cases, evaluators=["exact_match"], runner="ray", reuse_prefix=True
        )
        assert batch.status is BatchStatus.COMPLETED and len(batch.results) == 4
        assert all(r.status is ExecutionStatus.COMPLETED for r in batch.results)
        assert batch.warning is not None and "'ray' runner" in batch.warning
        assert bench.get_batch(batch.batch_id).warning == batch.warning
        assert batch.comparison().shared_prefix is False
        assert len(bench.list_executions(include_trunks=True)) == 4  # no trunk was made
