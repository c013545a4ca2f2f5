"""Kills, races and escaped exceptions: no wrong result, nothing left ``running``."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from langgraph.graph import END, START, StateGraph

from tests import workflows
from tests.conftest import register
from tests.hardening import killable
from wtb_core import ExecutionStatus, InvalidStateError, WTBTestBench
from wtb_core.batch.models import BatchStatus


def _in_subprocess(data_dir: Path, folder: Path, *args: str, kill_at: str | None) -> int:
    if kill_at:
        (folder / "kill-at").write_text(kill_at)
    command = [sys.executable, "-m", "tests.hardening.killable", str(data_dir), str(folder), *args]
    return subprocess.run(command, cwd=Path(__file__).parents[2], timeout=120).returncode


def _calls(folder: Path) -> list[str]:
    return (folder / "calls").read_text().split()


def _only_execution(bench: WTBTestBench) -> str:
    (execution,) = bench.list_executions()
    return execution.execution_id


@pytest.mark.parametrize("kill_at", ["b", "c"])
def test_a_run_killed_mid_way_resumes_from_its_newest_checkpoint(data_dir, tmp_path, kill_at):
    assert _in_subprocess(data_dir, tmp_path, "run", kill_at=kill_at) == -9
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(killable.project())
        execution_id = _only_execution(bench)
        assert bench.get_execution(execution_id).status is ExecutionStatus.FAILED
        done = bench.resume(execution_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert done.state["log"] == ["a", "b", "c"]
    # the killed node runs again, and only it: a finished node never repeats
    expected = {"b": ["a", "b", "b", "c"], "c": ["a", "b", "c", "c"]}[kill_at]
    assert _calls(tmp_path) == expected


def test_a_resume_killed_mid_way_continues_from_where_it_got(data_dir, tmp_path):
    assert _in_subprocess(data_dir, tmp_path, "run", "b", kill_at=None) == 0  # paused before b
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        execution_id = _only_execution(bench)
    assert _in_subprocess(data_dir, tmp_path, "resume", execution_id, kill_at="c") == -9
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(killable.project())
        done = bench.resume(execution_id)
    assert done.state["log"] == ["a", "b", "c"]
    assert _calls(tmp_path) == ["a", "b", "c", "c"]


def test_a_resume_after_a_rollback_killed_mid_way_continues_the_new_branch(data_dir, tmp_path):
    assert _in_subprocess(data_dir, tmp_path, "run", kill_at=None) == 0
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(killable.project())
        execution_id = _only_execution(bench)
        after_a = next(c for c in bench.get_checkpoints(execution_id) if c.nodes == ("a",))
    args = ("rollback-resume", execution_id, after_a.checkpoint_id)
    assert _in_subprocess(data_dir, tmp_path, *args, kill_at="c") == -9
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(killable.project())
        done = bench.resume(execution_id)
        sources = [c.source for c in bench.get_checkpoints(execution_id)]
    assert done.state["log"] == ["a", "b", "c"]
    assert _calls(tmp_path) == ["a", "b", "c", "b", "c", "c"]  # b once on the new branch
    assert sources.count("fork") == 1


def _race_two_resumes(bench: WTBTestBench, execution_id: str) -> list[object]:
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def resume() -> None:
        start.wait()
        try:
            outcomes.append(bench.resume(execution_id).status)
        except InvalidStateError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=resume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_two_resumes_at_once_run_the_execution_once(bench):
    project = register(bench, workflows.linear)
    for _ in range(10):
        paused = bench.run(project, {}, breakpoints=["grade"])
        workflows.CALLS.clear()
        outcomes = _race_two_resumes(bench, paused.execution_id)
        completed = [o for o in outcomes if o is ExecutionStatus.COMPLETED]
        refused = [o for o in outcomes if isinstance(o, InvalidStateError)]
        assert len(completed) + len(refused) == 2 and completed, outcomes
        assert workflows.CALLS == ["grade", "generate"]  # ran once
        assert len(bench.get_checkpoints(paused.execution_id, all_branches=True)) == 5


def _interrupting(state):
    raise KeyboardInterrupt


def test_ctrl_c_in_a_node_fails_the_execution_and_it_resumes(bench):
    project = register(bench, workflows.linear)
    original = bench.get_project(project)
    original.register_variant("grade", "ctrl_c", _interrupting)
    with pytest.raises(KeyboardInterrupt):
        bench.run(project, {}, variant_config={"grade": "ctrl_c"})
    (execution,) = bench.list_executions()
    assert execution.status is ExecutionStatus.FAILED
    assert "interrupted by KeyboardInterrupt" in execution.error
    row = bench.stack.metadata.get_execution(execution.execution_id)
    assert row.status == "failed"  # stored, not only read so


def test_a_running_row_of_this_process_that_nothing_drives_is_failed(bench):
    project = register(bench, workflows.linear)
    paused = bench.run(project, {}, breakpoints=["generate"])
    bench.stack.metadata.update_execution(
        paused.execution_id, {"status": "running", "owner": bench.owner}
    )
    stuck = bench.get_execution(paused.execution_id)
    assert stuck.status is ExecutionStatus.FAILED and "ended without finishing" in stuck.error
    assert bench.resume(paused.execution_id).status is ExecutionStatus.COMPLETED


def test_an_execution_claimed_but_not_yet_driven_is_running_not_failed(bench):
    """Between the claim and the drive (file restore, the update, the event) a run or
    resume is not a crashed one: a second resume is refused and reads see it running."""
    project = register(bench, workflows.linear)
    original = bench._driver.drive
    seen: list[tuple[ExecutionStatus, str | None]] = []

    def drive(request, graph_input, finish):
        current = bench.get_execution(request.execution_id)
        seen.append((current.status, current.error))
        with pytest.raises(InvalidStateError, match="while it runs"):
            bench.resume(request.execution_id)
        with pytest.raises(InvalidStateError, match="while it runs"):
            bench.rollback(request.execution_id, "any")
        return original(request, graph_input, finish)

    bench._driver.drive = drive
    paused = bench.run(project, {}, breakpoints=["grade"])
    assert bench.resume(paused.execution_id).status is ExecutionStatus.COMPLETED
    assert seen == [(ExecutionStatus.RUNNING, None)] * 2
    assert workflows.CALLS.count("grade") == 1


def slow_last() -> StateGraph:
    """first -> slow (blocks until GATE), the last node."""
    builder = StateGraph(workflows.State)
    builder.add_node("first", workflows.step("first"))
    builder.add_node("slow", workflows._slow)
    builder.add_edge(START, "first")
    builder.add_edge("first", "slow")
    builder.add_edge("slow", END)
    return builder


def test_a_pause_during_the_last_node_finishes_completed(bench):
    project = register(bench, slow_last)
    runner = threading.Thread(target=lambda: bench.run(project, {}))
    runner.start()
    assert workflows.STARTED.wait(5)
    (execution,) = bench.list_executions()
    pausing = threading.Thread(target=lambda: bench.pause(execution.execution_id))
    pausing.start()
    threading.Event().wait(0.05)
    workflows.GATE.set()
    runner.join(10)
    pausing.join(10)
    done = bench.get_execution(execution.execution_id)
    assert done.status is ExecutionStatus.COMPLETED
    with pytest.raises(InvalidStateError, match="already completed"):
        bench.stop(execution.execution_id)


def test_a_pause_at_the_very_start_shows_the_input_and_the_first_node(bench):
    project = register(bench, workflows.linear)
    started = threading.Event()
    original_drive = bench._driver._drive

    def drive_paused(request, graph_input, control):
        control.requested = ExecutionStatus.PAUSED  # asked before the first checkpoint
        started.set()
        return original_drive(request, graph_input, control)

    bench._driver._drive = drive_paused
    paused = bench.run(project, {"query": "first"})
    assert paused.status is ExecutionStatus.PAUSED
    assert paused.state["query"] == "first" and paused.next == ("retrieve",)


def test_a_shared_prefix_batch_killed_mid_trunk_resumes_the_trunk_not_a_new_one(data_dir, tmp_path):
    # the trunk is a, b (c has two variants); the process dies inside the trunk's b
    assert _in_subprocess(data_dir, tmp_path, "shared-batch", kill_at="b") == -9
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(killable.shared_project())
        [killed] = bench.list_batches()
        done = bench.resume_batch(killed.batch_id)
        trunks = [
            e.execution_id
            for e in bench.list_executions(include_trunks=True)
            if e.execution_id not in {r.execution_id for r in done.results}
        ]
    assert done.status is BatchStatus.COMPLETED
    assert sorted(r.state["log"][-1] for r in done.results) == ["C", "c"]
    assert all(r.state["log"][:2] == ["a", "b"] for r in done.results)
    # a ran once; b again only because the kill cut it off; then c once per variant
    assert sorted(_calls(tmp_path)) == sorted(["a", "b", "b", "c", "C"])
    assert len(trunks) == 1  # the trunk the crash cut off, continued
