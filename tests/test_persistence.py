"""Everything survives the process: a new bench on the same data dir carries on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests import workflows
from tests.conftest import register
from wtb_core import ExecutionStatus, WorkflowProject, WTBTestBench

REPO = Path(__file__).resolve().parent.parent


def test_a_new_bench_lists_inspects_resumes_rolls_back_and_forks(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as first:
        project = register(first, workflows.linear)
        done = first.run(project, {"query": "persist"})
        paused = first.run(project, {"query": "later"}, breakpoints=["generate"])
        checkpoints = first.get_checkpoints(done.execution_id)

    # A new bench: the project is re-imported from its module:function factory.
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as second:
        assert second.list_projects() == ["linear"]
        listed = {r.execution_id: r.status for r in second.list_executions()}
        assert listed == {
            done.execution_id: ExecutionStatus.COMPLETED,
            paused.execution_id: ExecutionStatus.PAUSED,
        }
        assert second.get_checkpoints(done.execution_id) == checkpoints
        assert second.get_state(done.execution_id) == done.state
        assert len(second.audit(done.execution_id)) > 5

        resumed = second.resume(paused.execution_id)
        assert resumed.status is ExecutionStatus.COMPLETED
        assert resumed.state["log"] == ["retrieve", "grade", "generate"]

        rolled = second.rollback(done.execution_id, checkpoints[2].checkpoint_id)
        assert rolled.state == checkpoints[2].values
        fork = second.fork(done.execution_id, checkpoints[3].checkpoint_id)
        assert second.resume(fork.execution_id).state == done.state


def test_projects_from_main_must_be_registered_again(data_dir):
    def local_factory():
        return workflows.linear()

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as first:
        first.register_project(WorkflowProject("local", local_factory))
        run = first.run("local", {})
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as second:
        import pytest

        from wtb_core import ProjectNotFoundError

        with pytest.raises(ProjectNotFoundError, match="cannot be imported again"):
            second.get_checkpoints(run.execution_id)
        second.register_project(WorkflowProject("local", local_factory))
        assert len(second.get_checkpoints(run.execution_id)) == 5


def test_an_execution_whose_process_was_killed_can_be_resumed(data_dir):
    script = textwrap.dedent(
        f"""
        from wtb_core import WTBTestBench, WorkflowProject
        from tests import workflows
        bench = WTBTestBench(data_dir={str(data_dir)!r}, load_entrypoints=False)
        bench.register_project(WorkflowProject("forever", workflows.sleeps_forever))
        bench.run("forever", {{"query": "killed"}})
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as watcher:
            while time.monotonic() < deadline:
                running = watcher.list_executions(status="running")
                if running and len(watcher.get_checkpoints(running[0].execution_id)) >= 3:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the child never reached the sleeping node")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)

    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        [crashed] = bench.list_executions()
        assert crashed.status is ExecutionStatus.FAILED
        assert "exited mid-run" in crashed.error
        assert [c.nodes for c in bench.get_checkpoints(crashed.execution_id)][-1] == ("first",)
        # Continue with a graph whose sleepy node now returns: same project name.
        bench.register_project(WorkflowProject("forever", workflows.chain3))
        fork = bench.fork(
            crashed.execution_id, bench.get_checkpoints(crashed.execution_id)[0].checkpoint_id
        )
        assert bench.resume(fork.execution_id).status is ExecutionStatus.COMPLETED
