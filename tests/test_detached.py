"""Cells run away from the driver: the executor distributed runners use in workers."""

from __future__ import annotations

import pickle
import uuid

from tests import workflows
from tests.conftest import register
from wtb_core import ExecutionStatus, StackConfig, TestCase, WorkflowProject, WTBTestBench, hookimpl
from wtb_core.batch.detached import DetachedExecutor
from wtb_core.batch.models import BatchStatus, Cell


def _cell(project: str, inputs: dict, index: int = 0) -> Cell:
    return Cell(
        batch_id="b",
        project=project,
        combination_index=0,
        combination={},
        case_index=index,
        case_name=f"case-{index}",
        inputs=inputs,
        repetition=0,
    )


class DetachedRunner:
    """A runner that ships cells (pickled, as to another process) to a DetachedExecutor."""

    name = "detached"

    def __init__(self, config):
        self.config = config

    def run(self, job):
        executor = DetachedExecutor(job.config, load_entrypoints=False)
        project = pickle.loads(pickle.dumps(job.project))
        try:
            for cell in job.cells:
                yield executor.run_cell(
                    project, job.cases[cell.case_index], cell, job.evaluators, uuid.uuid4().hex[:16]
                )
        finally:
            executor.close()

    def close(self):
        pass


class RunnerPlugin:
    @hookimpl
    def wtb_register_batch_runners(self, register):
        register("detached", DetachedRunner)


def test_detached_cells_become_real_executions_written_by_the_driver(data_dir):
    config = StackConfig(data_dir=data_dir)
    with WTBTestBench(config=config, plugins=[RunnerPlugin()], load_entrypoints=False) as bench:
        register(bench, workflows.linear)
        cases = [TestCase(inputs={"query": q}, expected={"n": 3}) for q in ("a", "b")]
        batch = bench.run_batch_test(
            "linear", [{}], cases, evaluators=["exact_match"], runner="detached"
        )
        assert batch.status is BatchStatus.COMPLETED
        assert [r.scores for r in batch.results] == [{"exact_match": 1.0}] * 2
        row = batch.results[0]
        execution = bench.get_execution(row.execution_id)
        assert execution.status is ExecutionStatus.COMPLETED and execution.state == row.state
        assert execution.project_version == "1.0"
        assert [e.event_type for e in bench.audit(row.execution_id)][-1] == "execution_completed"
        checkpoints = bench.get_checkpoints(row.execution_id)
        fork = bench.fork(row.execution_id, checkpoints[2].checkpoint_id)
        assert bench.resume(fork.execution_id).state == row.state


def test_running_a_cell_again_resumes_from_its_last_checkpoint(data_dir):
    config = StackConfig(data_dir=data_dir)
    executor = DetachedExecutor(config, load_entrypoints=False)
    project = WorkflowProject("failing", workflows.failing)
    case = TestCase(inputs={"query": "x"}, name="case-0")
    try:
        first = executor.run_cell(project, case, _cell("failing", {"query": "x"}), {}, "e1")
        assert first.row.status is ExecutionStatus.FAILED
        assert workflows.CALLS == ["first", "flaky"]
        workflows.FAIL["flaky"] = False
        second = executor.run_cell(project, case, _cell("failing", {"query": "x"}), {}, "e1")
    finally:
        executor.close()
    assert second.row.status is ExecutionStatus.COMPLETED
    assert workflows.CALLS == ["first", "flaky", "flaky", "last"]  # "first" did not run again
    assert second.events[0]["event_type"] == "execution_resumed"
    assert second.execution["state"]["log"] == ["first", "flaky", "last"]
