"""Batches forked from a checkpoint (``bench.fork_batch`` / ``wtb batch fork``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import prefix_workflows as wf
from tests.cli_helpers import as_json, assert_error, cli, ok
from tests.conftest import register
from wtb_core import (
    ConfigurationError,
    ExecutionStatus,
    InvalidInputError,
    WTBError,
    WTBTestBench,
)
from wtb_core.batch.models import BatchStatus
from wtb_core.integrity import cuts


@pytest.fixture
def project(bench: WTBTestBench) -> str:
    name = register(bench, wf.looping_answer)
    proj = bench.get_project(name)
    proj.register_variant("draft", "twice", wf.draft_twice)
    proj.register_variant("finish", "shout", wf.shout)
    wf.CALLS.clear()
    return name


def _before(bench: WTBTestBench, execution_id: str, node: str) -> str:
    """The first checkpoint of the execution whose next node is ``node``."""
    return next(
        cp.checkpoint_id for cp in bench.get_checkpoints(execution_id) if cp.next == (node,)
    )


def test_every_cell_forks_the_checkpoint_and_runs_its_combination(bench, project):
    source = bench.run(project, {"query": "loop"})
    history = bench.get_checkpoints(source.execution_id)
    at = _before(bench, source.execution_id, "finish")
    wf.CALLS.clear()
    batch = bench.fork_batch(
        source.execution_id, at, [{}, {"finish": "shout"}], repetitions=2,
        evaluators=["latency"],
    )  # fmt: skip
    assert batch.status is BatchStatus.COMPLETED and len(batch.results) == 4
    assert {r.case for r in batch.results} == {f"{source.execution_id}@{at}"}
    answers = sorted(r.state["answer"] for r in batch.results)
    assert answers == ["LOOP:3", "LOOP:3", "loop:3", "loop:3"]
    assert wf.CALLS == {"finish": 2, "shout": 2}  # nothing before the checkpoint ran again
    upto = [cp.checkpoint_id for cp in history][: [c.checkpoint_id for c in history].index(at) + 1]
    for row in batch.results:
        lineage = [cp.checkpoint_id for cp in bench.get_checkpoints(row.execution_id)]
        assert lineage[: len(upto)] == upto and len(lineage) == len(upto) + 1
        assert bench.get_execution(row.execution_id).parent_execution_id == source.execution_id
    assert [cp.checkpoint_id for cp in bench.get_checkpoints(source.execution_id)] == [
        cp.checkpoint_id for cp in history
    ]  # the source never changes
    comparison = batch.comparison()
    assert [c.combination_label for c in comparison.combinations] == ["default", "finish=shout"]
    assert bench.get_batch(batch.batch_id).total_cells == 4


def test_combinations_changing_nodes_that_already_ran_are_refused(bench, project):
    source = bench.run(project, {"query": "loop"})
    at = _before(bench, source.execution_id, "finish")
    with pytest.raises(InvalidInputError) as refused:
        bench.fork_batch(source.execution_id, at, [{"finish": "shout"}, {"draft": "twice"}])
    message = str(refused.value)
    assert "variant_matrix[1] (draft=twice)" in message and "draft (default -> twice)" in message
    assert "variant_matrix[0]" not in message and "earlier checkpoint" in message
    assert bench.list_batches() == []
    # from before the loop, changing the loop's node is fine
    early = _before(bench, source.execution_id, "draft")
    batch = bench.fork_batch(source.execution_id, early, [{}, {"draft": "twice"}])
    assert sorted(r.state["answer"] for r in batch.results) == ["loop:3", "loop:4"]


def test_bad_arguments_are_typed_errors_and_store_nothing(bench, project):
    source = bench.run(project, {"query": "loop"})
    at = _before(bench, source.execution_id, "finish")
    with pytest.raises(WTBError, match="not one of execution"):
        bench.fork_batch(source.execution_id, "nope", [{}])
    with pytest.raises(WTBError, match="execution"):
        bench.fork_batch("no-such-execution", at, [{}])
    with pytest.raises(ConfigurationError, match="repetitions"):
        bench.fork_batch(source.execution_id, at, [{}], repetitions=0)
    bench.get_project(project).register_workflow_variant("other", wf.looping_answer)
    with pytest.raises(InvalidInputError, match="runs workflow variant 'other'"):
        bench.fork_batch(source.execution_id, at, [{"_workflow": "other"}])
    assert bench.list_batches() == []
    assert not bench.list_executions(status="running", include_trunks=True)


def test_a_forked_batch_resumes_and_cancels_like_any_other(bench, project):
    source = bench.run(project, {"query": "loop"})
    at = _before(bench, source.execution_id, "finish")
    cuts.install(cuts.FailAt("batch.after_row", nth=2))
    try:
        with pytest.raises(cuts.InjectedFault):
            bench.fork_batch(source.execution_id, at, [{}, {"finish": "shout"}], repetitions=2,
                             runner="sequential")  # fmt: skip
    finally:
        cuts.install(None)
    [killed] = bench.list_batches()
    assert killed.status is BatchStatus.INTERRUPTED and len(killed.results) == 2
    done = bench.resume_batch(killed.batch_id)
    assert done.status is BatchStatus.COMPLETED and len(done.results) == 4
    assert all(r.status is ExecutionStatus.COMPLETED for r in done.results)
    assert sorted(r.state["answer"] for r in done.results)[-2:] == ["loop:3", "loop:3"]

    def cancel_at_first(progress):
        if progress.done == 1:
            bench.cancel_batch(progress.batch_id)

    cancelled = bench.fork_batch(
        source.execution_id, at, [{}, {"finish": "shout"}], repetitions=2,
        runner="sequential", on_progress=cancel_at_first,
    )  # fmt: skip
    assert cancelled.status is BatchStatus.CANCELLED and len(cancelled.results) == 1
    assert len(bench.resume_batch(cancelled.batch_id).results) == 4


def test_wtb_batch_fork_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project.yaml"
    project.write_text(
        "name: forkable\n"
        "workflow: {module: tests.workflows, factory: linear}\n"
        "variants:\n"
        "  nodes:\n"
        "    generate:\n"
        "      - {name: echo, module: tests.workflows, function: echo_answer}\n"
    )
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("- {}\n- {generate: echo}\n")
    wtb = cli(tmp_path / "data", monkeypatch)
    run = as_json(wtb, "run", str(project), "--input", json.dumps({"query": "hi"}))
    execution = run["execution_id"]
    checkpoints = as_json(wtb, "checkpoints", execution)
    at = next(cp["checkpoint_id"] for cp in checkpoints if cp["next"] == ["generate"])
    out = as_json(wtb, "batch", "fork", execution, at, "--matrix", str(matrix))
    assert out["status"] == "completed" and out["rows"] == 2
    assert {r["state"].get("answer") for r in out["results"]} == {None, "echo: hi"}
    printed = ok(wtb("batch", "fork", execution, at[:-4], "--matrix", str(matrix))).stdout
    assert "generate=echo" in printed
    final = checkpoints[-1]["checkpoint_id"]  # generate has run: echo is refused
    refused = wtb("batch", "fork", execution, final, "--matrix", str(matrix))
    assert_error(refused, "variant_matrix[1] (generate=echo)", "generate (default -> echo)")
    assert len(as_json(wtb, "batches")) == 2
