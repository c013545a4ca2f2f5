"""Batch tests: matrix × cases × repetitions on the builtin runners."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import (
    ConfigurationError,
    ExecutionStatus,
    PluginNotFoundError,
    ProjectError,
    StackConfig,
    TestCase,
    WorkflowProject,
    WTBTestBench,
    hookimpl,
)
from wtb_core.batch.models import BatchStatus
from wtb_core.builtins.batch_runners import SequentialRunner

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def rag(bench):
    name = register(bench, workflows.linear)
    bench.get_project(name).register_variant("generate", "echo", workflows.echo_answer)
    return name


def boom(case, outcome):
    raise RuntimeError("judge unavailable")


def test_every_cell_is_a_scored_execution(bench, rag):
    def has_answer(case, outcome):
        return {"has_answer": "answer" in outcome.state, "steps": outcome.state["n"]}

    batch = bench.run_batch_test(
        project=rag,
        variant_matrix=[{"generate": "default"}, {"generate": "echo"}],
        test_cases=[
            {"query": "What is LangGraph?"},
            TestCase(inputs={"query": "RAG?"}, expected={"n": 3}, name="rag"),
        ],
        evaluators=["exact_match", "latency", has_answer],
        runner="threadpool",
        parallelism=4,
        repetitions=2,
    )
    assert batch.status is BatchStatus.COMPLETED
    assert len(batch.results) == 2 * 2 * 2
    assert {r.combination for r in batch.results} == {"default", "generate=echo"}
    assert {r.case for r in batch.results} == {"case-0", "rag"}
    rag_echo = [r for r in batch.results if r.case == "rag" and r.combination == "generate=echo"]
    assert all(r.state["answer"] == "echo: RAG?" for r in rag_echo)
    assert all(r.scores["exact_match"] == 1.0 for r in rag_echo)  # n == 3 either way
    assert all(r.scores["has_answer"] == 1.0 for r in rag_echo)
    default_rows = [r for r in batch.results if r.combination == "default"]
    assert all(r.scores["has_answer"] == 0.0 for r in default_rows)
    assert all(r.scores["latency"] == pytest.approx(r.duration_ms) for r in batch.results)
    case0 = [r for r in batch.results if r.case == "case-0"]
    assert all("exact_match" not in r.scores | r.score_errors for r in case0)  # not applicable
    # Each cell is a real execution: inspect it, roll it back, fork it.
    row = batch.results[0]
    checkpoints = bench.get_checkpoints(row.execution_id)
    assert len(checkpoints) == 5
    fork = bench.fork(row.execution_id, checkpoints[2].checkpoint_id)
    assert bench.resume(fork.execution_id).state == row.state
    assert bench.get_batch(batch.batch_id).results == batch.results
    assert [b.batch_id for b in bench.list_batches(project=rag)] == [batch.batch_id]


def test_a_failing_cell_fails_its_row_and_the_batch_goes_on(bench):
    failing = register(bench, workflows.failing)
    batch = bench.run_batch_test(
        failing, [{}], [{"query": "a"}, {"query": "b"}], evaluators=[boom], runner="sequential"
    )
    assert batch.status is BatchStatus.COMPLETED
    assert [r.status for r in batch.results] == [ExecutionStatus.FAILED] * 2
    assert all(r.error == "ValueError: flaky node failed on purpose" for r in batch.results)
    workflows.FAIL["flaky"] = False
    retried = bench.resume_batch(batch.batch_id, retry_failed=True, evaluators=[boom])
    assert [r.status for r in retried.results] == [ExecutionStatus.COMPLETED] * 2
    assert all(
        r.score_errors == {"boom": "RuntimeError: judge unavailable"} for r in retried.results
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"variant_matrix": []}, ConfigurationError, "variant_matrix is empty"),
        ({"test_cases": []}, ConfigurationError, "test_cases is empty"),
        (
            {"variant_matrix": [{"generate": "nope"}]},
            ProjectError,
            "has no variant 'nope'; available: default, echo",
        ),
        (
            {"variant_matrix": [{"_workflow": "fast"}]},
            ProjectError,
            "no workflow variant 'fast'",
        ),
        (
            {"variant_matrix": [{"generate": "default"}, {}]},
            ConfigurationError,
            r"same combination as variant_matrix\[0\]",
        ),
        ({"evaluators": ["bleu"]}, PluginNotFoundError, r"unknown evaluator 'bleu' \(available:"),
        (
            {"runner": "ray"},
            PluginNotFoundError,
            "batch runner 'ray' is not installed: pip install wtb-ray",
        ),
        ({"repetitions": 0}, ConfigurationError, "repetitions must be at least 1"),
    ],
)
def test_bad_batches_are_refused_before_anything_runs(bench, rag, kwargs, error, message):
    arguments = {"variant_matrix": [{}], "test_cases": [{"query": "q"}], **kwargs}
    with pytest.raises(error, match=message):
        bench.run_batch_test(rag, **arguments)
    assert bench.list_batches() == [] and bench.list_executions() == []


def test_cancel_stops_scheduling_and_resume_runs_only_the_missing_cells(bench):
    project = register(bench, workflows.napping)
    seen = []

    def on_progress(progress):
        seen.append(progress)
        if progress.done == 2:
            threading.Thread(target=bench.cancel_batch, args=(progress.batch_id,)).start()

    cases = [{"query": str(i)} for i in range(8)]
    batch = bench.run_batch_test(
        project, [{}], cases, runner="threadpool", parallelism=2, on_progress=on_progress
    )
    assert batch.status is BatchStatus.CANCELLED
    finished = {(r.case, r.execution_id) for r in batch.results}
    assert 2 <= len(finished) < 8
    assert all(r.status is ExecutionStatus.COMPLETED for r in batch.results)
    assert seen[-1].total == 8 and max(p.running for p in seen) <= 2

    resumed = bench.resume_batch(batch.batch_id)
    assert resumed.status is BatchStatus.COMPLETED
    assert len(resumed.results) == 8
    assert finished <= {(r.case, r.execution_id) for r in resumed.results}  # kept as they were
    assert len(bench.list_executions()) == 8  # no cell ran twice


def test_a_batch_killed_mid_run_is_finished_by_resume_in_a_new_process(data_dir):
    script = textwrap.dedent(
        f"""
        from wtb_core import WTBTestBench, WorkflowProject
        from tests import workflows
        bench = WTBTestBench(data_dir={str(data_dir)!r}, load_entrypoints=False)
        bench.register_project(WorkflowProject("napping", workflows.napping))
        bench.run_batch_test("napping", [{{}}], [{{"query": str(i)}} for i in range(10)],
                             evaluators=["latency", workflows.answer_is_long], runner="sequential")
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as watcher:
            while time.monotonic() < deadline:
                batches = watcher.list_batches()
                if batches and len(batches[0].results) >= 3:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the child batch never got going")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        [killed] = bench.list_batches()
        assert killed.status is BatchStatus.INTERRUPTED
        before = {r.case: r for r in killed.results}
        assert 3 <= len(before) < 10
        done = bench.resume_batch(killed.batch_id)  # evaluators re-imported by reference
        assert done.status is BatchStatus.COMPLETED
        assert sorted(r.case for r in done.results) == sorted(f"case-{i}" for i in range(10))
        assert all(
            done_row == before[done_row.case]
            for done_row in done.results
            if done_row.case in before
        )
        assert all(set(r.scores) == {"latency", "answer_is_long"} for r in done.results)
        executions = bench.list_executions(status="completed")
        assert len({r.execution_id for r in done.results}) == 10
        assert {r.execution_id for r in done.results} <= {e.execution_id for e in executions}


class CountingRunner(SequentialRunner):
    name = "counting"
    jobs = 0

    def run(self, job):
        CountingRunner.jobs += 1
        yield from super().run(job)


class RunnerPlugin:
    @hookimpl
    def wtb_register_batch_runners(self, register):
        register("counting", CountingRunner)


def test_a_plugin_runner_is_chosen_by_configuration(data_dir):
    config = StackConfig(data_dir=data_dir, batch_runner="counting")
    with WTBTestBench(config=config, plugins=[RunnerPlugin()], load_entrypoints=False) as bench:
        batch = bench.run_batch_test(register(bench, workflows.linear), [{}], [{"query": "x"}])
    assert CountingRunner.jobs == 1 and len(batch.results) == 1


def test_a_third_party_evaluator_is_usable_by_name(monkeypatch, data_dir):
    monkeypatch.delenv("WTB_LOAD_PLUGINS")
    with WTBTestBench(data_dir=data_dir) as bench:
        project = register(bench, workflows.linear)
        bench.get_project(project).register_variant("generate", "echo", workflows.echo_answer)
        batch = bench.run_batch_test(
            project,
            [{"generate": "echo"}],
            [{"query": "hello"}],
            evaluators=["sample_answer_length"],
        )
    assert batch.results[0].scores == {"sample_answer_length": float(len("echo: hello"))}


def test_builtin_evaluators(bench):
    from wtb_core.builtins import evaluators as ev
    from wtb_core.domain.models import ExecutionResult

    outcome = ExecutionResult(
        execution_id="e",
        project="p",
        status=ExecutionStatus.COMPLETED,
        state={
            "answer": "LangGraph is a library",
            "tags": ["a", "b"],
            "json": '{"b": 1, "a": [1]}',
        },
        duration_ms=12.5,
    )
    case = TestCase(inputs={}, expected={"answer": "LangGraph is a library"})
    assert ev.exact_match(case, outcome) == 1.0
    assert ev.exact_match(TestCase(inputs={}, expected={"answer": "no"}), outcome) == 0.0
    assert (
        ev.contains(TestCase(inputs={}, expected={"answer": "library", "tags": "b"}), outcome)
        == 1.0
    )
    assert ev.regex(TestCase(inputs={}, expected={"answer": r"^Lang\w+ is"}), outcome) == 1.0
    assert ev.json_match(TestCase(inputs={}, expected={"json": {"a": [1], "b": 1}}), outcome) == 1.0
    assert ev.latency(case, outcome) == 12.5
    assert ev.exact_match(TestCase(inputs={}, name="bare"), outcome) is None  # not applicable


def test_from_a_new_bench_batches_are_listed_and_resumable(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as first:
        first.register_project(WorkflowProject("linear", workflows.linear))
        batch = first.run_batch_test("linear", [{}], [{"query": "a"}], evaluators=["latency"])
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as second:
        again = second.get_batch(batch.batch_id)
        assert again.status is BatchStatus.COMPLETED and again.results == batch.results


def test_cancel_from_another_process_stops_the_running_batch(bench, data_dir):
    """Another bench on the same data (as another process would) cancels through the store."""
    project = register(bench, workflows.napping)
    other = WTBTestBench(data_dir=data_dir, load_entrypoints=False)

    def on_progress(progress):
        if progress.done == 1 and progress.running == 0:
            other.cancel_batch(progress.batch_id)

    try:
        batch = bench.run_batch_test(
            project,
            [{}],
            [{"query": str(i)} for i in range(12)],
            runner="sequential",
            on_progress=on_progress,
        )
    finally:
        other.close()
    assert batch.status is BatchStatus.CANCELLED
    assert 1 <= len(batch.results) < 12
