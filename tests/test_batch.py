"""Batch tests: matrix × cases × repetitions on the builtin runners."""

from __future__ import annotations

import math
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
    BatchNotFoundError,
    ConfigurationError,
    ExecutionStatus,
    PluginNotFoundError,
    ProjectError,
    StackConfig,
    TestCase,
    WorkflowProject,
    WTBError,
    WTBTestBench,
    hookimpl,
)
from wtb_core.batch.models import BatchStatus
from wtb_core.builtins.batch_runners import SequentialRunner
from wtb_core.storage.metadata import MetadataStore

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
    assert {r.combination_label for r in batch.results} == {"default", "generate=echo"}
    assert {r.case for r in batch.results} == {"case-0", "rag"}
    echo = {"generate": "echo"}
    rag_echo = [r for r in batch.results if r.case == "rag" and r.combination == echo]
    assert all(r.state["answer"] == "echo: RAG?" for r in rag_echo)
    assert all(r.scores["exact_match"] == 1.0 for r in rag_echo)  # n == 3 either way
    assert all(r.scores["has_answer"] == 1.0 for r in rag_echo)
    default_rows = [r for r in batch.results if r.combination == {"generate": "default"}]
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


def test_a_third_party_evaluator_is_usable_by_name(monkeypatch, data_dir, sample_plugin):
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


# --- rows carry the matrix entry they ran ---------------------------------------------------


def test_rows_carry_the_matrix_entry_they_ran_as_a_dict(bench, rag, data_dir):
    bench.get_project(rag).register_workflow_variant("again", workflows.linear)
    matrix = [{"generate": "default"}, {"generate": "echo"}, {"_workflow": "again"}]
    batch = bench.run_batch_test(rag, matrix, [{"query": "a"}, {"query": "b"}], ["latency"])
    assert [r.combination for r in batch.results] == [m for m in matrix for _ in range(2)]
    assert [r.combination_label for r in batch.results[::2]] == [
        "default",
        "generate=echo",
        "_workflow=again",
    ]
    echo = [r for r in batch.results if r.combination == {"generate": "echo"}]
    assert [(r.case, r.state["answer"]) for r in echo] == [
        ("case-0", "echo: a"),
        ("case-1", "echo: b"),
    ]
    assert batch.combinations == matrix
    assert batch.rows_for({"generate": "echo"}) == echo == batch.rows_for("generate=echo")
    assert batch.rows_for({}) == batch.rows_for("default") == batch.results[:2]
    with pytest.raises(ConfigurationError, match="not a combination of this batch"):
        batch.rows_for({"generate": "nope"})
    # the comparison groups by combination and takes the baseline as a label or a dict
    comparison = batch.comparison(baseline={"generate": "echo"})
    assert comparison.baseline == {"generate": "echo"}
    assert comparison.baseline_label == "generate=echo"
    assert [c.combination for c in comparison.combinations] == matrix
    assert [p.combination for p in comparison.paired] == [matrix[0], matrix[2]]
    assert batch.comparison(baseline="generate=echo") == comparison
    with pytest.raises(ConfigurationError, match="not a combination"):
        batch.comparison(baseline={"_workflow": "nope"})
    # read back (from the batch's stored matrix) in a new bench, rows are the same
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as again:
        assert again.get_batch(batch.batch_id).results == batch.results
        [listed] = again.list_batches()
        assert listed.results == batch.results and listed.combinations == matrix
    assert {r.combination for r in bench.stack.metadata.batch_rows(batch.batch_id)} == {
        "default",
        "generate=echo",
        "_workflow=again",
    }  # the table keeps the label


# --- non-finite scores --------------------------------------------------------------------


def nan_score(case, outcome):
    return math.nan


def split_scores(case, outcome):
    """``recall`` is infinite for case ``a`` only; ``precision`` is never finite."""
    return {"recall": math.inf if case.inputs["query"] == "a" else 0.5, "precision": -math.inf}


def check_non_finite_scores(bench: WTBTestBench, project: str) -> None:
    """A non-finite score is that metric's error for the row, never a stored float, and the
    comparison counts it as an error (shared with the PostgreSQL test in wtb-postgres)."""
    batch = bench.run_batch_test(
        project,
        [{}],
        [{"query": "a"}, {"query": "b"}],
        evaluators=[nan_score, split_scores, "latency"],
        runner="sequential",
    )
    assert batch.status is BatchStatus.COMPLETED and len(batch.results) == 2
    first, second = batch.results
    assert [r.status for r in batch.results] == [ExecutionStatus.COMPLETED] * 2
    assert set(first.scores) == {"latency"}
    assert set(second.scores) == {"latency", "recall"} and second.scores["recall"] == 0.5
    assert first.score_errors == {
        "nan_score": "evaluator returned nan: not a finite number",
        "recall": "evaluator returned inf: not a finite number",
        "precision": "evaluator returned -inf: not a finite number",
    }
    assert set(second.score_errors) == {"nan_score", "precision"}
    assert not first.passed and not second.passed
    stored = bench.stack.metadata.batch_rows(batch.batch_id)
    assert all(math.isfinite(v) for r in stored for v in r.scores.values())
    assert bench.get_batch(batch.batch_id).results == batch.results

    metrics = batch.comparison().combinations[0].metrics
    assert list(metrics) == ["latency", "nan_score", "precision", "recall"]
    assert (metrics["latency"].n_cases, metrics["latency"].n_errors) == (2, 0)
    assert (metrics["recall"].n_cases, metrics["recall"].n_errors) == (1, 1)
    assert metrics["recall"].mean == 0.5
    for only_errors in ("nan_score", "precision"):
        stats = metrics[only_errors]
        assert (stats.n_cases, stats.n_errors, stats.mean, stats.ci) == (0, 2, None, None)
    text = str(batch.comparison())
    assert "precision" in text and "nan_score" in text and "errors" in text


def test_non_finite_scores_are_score_errors(bench, rag):
    check_non_finite_scores(bench, rag)


# --- arguments are checked before anything is stored --------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"repetitions": 1.5}, r"repetitions must be a whole number .*not 1\.5"),
        ({"repetitions": "2"}, r"repetitions must be a whole number .*not '2'"),
        ({"repetitions": True}, "repetitions must be a whole number"),
        ({"repetitions": None}, "repetitions must be a whole number"),
        ({"repetitions": -2}, "repetitions must be at least 1, not -2"),
        ({"parallelism": "4"}, r"parallelism must be a whole number .*or None.*not '4'"),
        ({"parallelism": 2.0}, "parallelism must be a whole number"),
        ({"parallelism": 0}, "parallelism must be at least 1, not 0"),
        ({"parallelism": -3}, "parallelism must be at least 1, not -3"),
        ({"variant_matrix": {"generate": "echo"}}, "variant_matrix must be a list of"),
        ({"variant_matrix": "generate=echo"}, "variant_matrix must be a list of"),
        ({"variant_matrix": None}, "variant_matrix must be a list of"),
        ({"variant_matrix": [["generate", "echo"]]}, r"variant_matrix\[0\] must be a dict"),
        ({"variant_matrix": [{}, {"generate": 1}]}, r"variant_matrix\[1\]\['generate'\] is 1"),
        ({"variant_matrix": [{"generate": None}]}, r"variant_matrix\[0\]\['generate'\] is None"),
        ({"variant_matrix": [{1: "echo"}]}, r"variant_matrix\[0\] has the key 1"),
        ({"test_cases": {"query": "q"}}, "test_cases must be a list of"),
        ({"test_cases": "q"}, "test_cases must be a list of"),
        ({"test_cases": [{"query": "q"}, 3]}, r"test_cases\[1\] is an int: give a dict"),
        ({"test_cases": ["q"]}, r"test_cases\[0\] is a str: give a dict"),
        ({"test_cases": [{1: "q"}]}, r"test_cases\[0\] has the key 1"),
        ({"test_cases": [{"query": object()}]}, r"test_cases\[0\] cannot be stored as JSON"),
        ({"evaluators": "latency"}, "evaluators must be a list of"),
        ({"evaluators": [3]}, "evaluator 3 is neither a registered name nor a callable"),
        ({"runner": "nope"}, r"unknown batch runner 'nope' \(available: sequential"),
        ({"runner": 3}, "runner must be a runner name"),
        ({"on_progress": 3}, "on_progress must be a callable"),
        ({"keep_workspaces": "yes"}, "keep_workspaces must be True or False"),
    ],
)
def test_bad_arguments_are_typed_errors_and_store_nothing(bench, rag, kwargs, message):
    arguments = {"variant_matrix": [{}], "test_cases": [{"query": "q"}], **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        bench.run_batch_test(rag, **arguments)
    assert bench.list_batches() == [] and bench.list_executions() == []


def test_a_project_name_must_be_a_string(bench, rag):
    with pytest.raises(ConfigurationError, match=r"project must be a project name .*not \['x'\]"):
        bench.run_batch_test(["x"], [{}], [{"query": "q"}])
    assert bench.list_batches() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parallelism": "4"}, "parallelism must be a whole number"),
        ({"parallelism": 0}, "parallelism must be at least 1, not 0"),
        ({"runner": "nope"}, "unknown batch runner 'nope'"),
        ({"runner": 2}, "runner must be a runner name"),
        ({"evaluators": "latency"}, "evaluators must be a list of"),
        ({"retry_failed": "yes"}, "retry_failed must be True or False"),
        ({"on_progress": "print"}, "on_progress must be a callable"),
        ({"keep_workspaces": 1}, "keep_workspaces must be True or False"),
        ({"batch_id": 7}, "batch_id must be a batch id"),
    ],
)
def test_bad_resume_arguments_are_typed_errors_and_change_nothing(bench, kwargs, message):
    failing = register(bench, workflows.failing)
    batch = bench.run_batch_test(failing, [{}], [{"query": "a"}], runner="sequential")
    arguments = {"batch_id": batch.batch_id, "retry_failed": True, **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        bench.resume_batch(**arguments)
    [stored] = bench.list_batches()
    assert stored.status is BatchStatus.COMPLETED and stored.results == batch.results
    workflows.FAIL["flaky"] = False
    resumed = bench.resume_batch(batch.batch_id, retry_failed=True)  # still resumable here
    assert [r.status for r in resumed.results] == [ExecutionStatus.COMPLETED]


def test_a_batch_stored_with_unusable_settings_is_refused_by_resume(bench, rag):
    """A batch stored unchecked by an earlier WTB (repetitions=1.5) gets a typed error."""
    batch = bench.run_batch_test(rag, [{}], [{"query": "q"}], runner="sequential")
    bench.stack.metadata.update_batch(batch.batch_id, repetitions=1.5)
    with pytest.raises(ConfigurationError, match=r"was stored with repetitions=1\.5"):
        bench.resume_batch(batch.batch_id)
    assert bench.get_batch(batch.batch_id).status is BatchStatus.COMPLETED


@pytest.mark.parametrize(
    "call",
    [
        lambda bench: bench.get_batch("nope"),
        lambda bench: bench.resume_batch("nope"),
        lambda bench: bench.cancel_batch("nope"),
    ],
    ids=["get_batch", "resume_batch", "cancel_batch"],
)
def test_a_missing_batch_is_a_batch_not_found_error(bench, call):
    with pytest.raises(BatchNotFoundError, match=r"batch 'nope' does not exist; list batches"):
        call(bench)
    assert issubclass(BatchNotFoundError, WTBError) and bench.list_batches() == []


def test_summaries_and_the_stateless_comparison_agree_with_the_full_batch(bench, rag):
    failing = register(bench, workflows.failing)
    failed = bench.run_batch_test(failing, [{}], [{"query": "a"}], runner="sequential")
    cases = [TestCase(inputs={"query": q}, expected={"answer": f"echo: {q}"}) for q in "abc"]
    batch = bench.run_batch_test(
        rag, [{}, {"generate": "echo"}], cases, evaluators=["exact_match"], repetitions=2
    )
    service = bench.services.batches
    for result in (batch, failed):
        summary = service.summary(result.batch_id)
        assert summary.finished_cells == len(result.results) == summary.total_cells
        not_completed = [r for r in result.results if r.status is not ExecutionStatus.COMPLETED]
        assert summary.failed_cells == len(not_completed)
        assert summary.status is result.status
    assert summary.failed_cells == 1  # the failing project's one cell
    assert {s.batch_id for s in service.summaries()} == {batch.batch_id, failed.batch_id}
    assert [s.batch_id for s in service.summaries(failing)] == [failed.batch_id]
    for baseline in (None, "generate=echo"):
        full = bench.get_batch(batch.batch_id).comparison(baseline)
        assert service.comparison(batch.batch_id, baseline) == full


def test_a_cached_comparison_follows_rows_that_are_retried(bench):
    failing = register(bench, workflows.failing)
    batch = bench.run_batch_test(failing, [{}], [{"query": "a"}, {"query": "b"}])
    service = bench.services.batches
    before = service.comparison(batch.batch_id)
    assert before.combinations[0].success_rate == 0.0
    assert service.comparison(batch.batch_id) == before  # the same question: from the cache
    workflows.FAIL["flaky"] = False
    bench.resume_batch(batch.batch_id, retry_failed=True)  # the same count, new rows
    after = service.comparison(batch.batch_id)
    assert after.combinations[0].success_rate == 1.0
    assert after == bench.get_batch(batch.batch_id).comparison()


def test_the_default_comparison_is_stored_with_the_batch_for_other_processes(data_dir, monkeypatch):
    """A batch keeps its default comparison when it ends: a bench that did not run it (a
    server, the CLI) answers it without working it out — and never once its rows change."""
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as running:
        failing = register(running, workflows.failing)
        batch = running.run_batch_test(failing, [{}], [{"query": "a"}, {"query": "b"}])
        expected = running.get_batch(batch.batch_id).comparison()

    def not_again(*args, **kwargs):
        raise AssertionError("the stored comparison was worked out again")

    reading = WTBTestBench(data_dir=data_dir, load_entrypoints=False)
    with reading, monkeypatch.context() as patched:
        patched.setattr("wtb_core.batch.reading.compare", not_again)
        assert reading.services.batches.comparison(batch.batch_id) == expected

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as retrying:
        register(retrying, workflows.failing)
        workflows.FAIL["flaky"] = False
        with monkeypatch.context() as patched:  # as if killed before it stored the new one
            patched.setattr(MetadataStore, "store_comparison", lambda *args: None)
            retrying.resume_batch(batch.batch_id, retry_failed=True)  # same count, new rows

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as reading:
        after = reading.services.batches.comparison(batch.batch_id)
        assert after.combinations[0].success_rate == 1.0 != expected.combinations[0].success_rate
        assert after == reading.get_batch(batch.batch_id).comparison()
