"""Every multi-store operation cut at every cut point — a real SIGKILL in a forked child
of the case server, or an exception injected in-process — on SQLite and on PostgreSQL.

After each cut, a new bench (whose outbox processor runs as it opens) and the integrity
check leave the data consistent: the check is clean (after ``repair_integrity`` where a
repair applies), the workspace holds the files of the head of the execution that wrote it
last, every execution left paused or failed resumes to completion with files agreeing
with its state, and a batch resumes to exactly one completed row per cell.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.hardening import killable
from tests.integrity.conftest import OUTCOMES
from wtb_core import ExecutionStatus, WTBTestBench
from wtb_core.integrity.cuts import CUT_POINTS, InjectedFault

# (scenario, cut point, nth time it is reached)
CASES = [
    ("run", "run.after_create", 1),
    ("run", "drive.after_checkpoint", 3),  # after a's checkpoint and snapshot
    ("run", "drive.before_snapshot", 4),  # b's checkpoint written, its files not snapshotted
    ("run", "drive.before_finish", 1),
    ("resume", "resume.after_claim", 1),
    ("resume", "drive.after_checkpoint", 1),
    ("rollback", "rollback.after_intent", 1),
    ("rollback", "rollback.after_files", 1),
    ("fork", "fork.after_intent", 1),
    ("fork", "fork.after_copy", 1),
    ("fork", "fork.after_links", 1),
    ("fork", "fork.after_update", 1),
    ("update_state", "update_state.after_intent", 1),
    ("update_state", "update_state.after_checkpoint", 1),
    ("delete_gc", "delete.after_intent", 1),
    ("delete_gc", "delete.after_checkpoints", 1),
    ("delete_gc", "gc.after_commits", 1),
    ("batch", "batch.before_row", 2),
    ("batch", "batch.after_row", 1),
    ("batch", "drive.after_checkpoint", 6),  # inside a cell on the thread pool
]
STORES = ["sqlite", "postgres"]
ACTIONS = ["kill", "raise"]
CELLS = 4  # the batch scenario: 1 combination × 2 cases × 2 repetitions


def test_the_cases_reach_every_cut_point_and_every_operation():
    assert {cut for _, cut, _ in CASES} == set(CUT_POINTS)
    assert {scenario for scenario, _, _ in CASES} == set(killable.SCENARIOS)


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    ("scenario", "cut", "nth"), CASES, ids=[f"{s}-{c}#{n}" for s, c, n in CASES]
)
def test_a_cut_operation_is_settled_and_leaves_the_data_consistent(
    request, tmp_path, case_server, scenario, cut, nth, action, store
):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    case: dict[str, Any] = {
        "scenario": scenario,
        "cut": cut,
        "nth": nth,
        "data_dir": str(tmp_path / "data"),
        "workspace": str(workspace),
        "database_url": request.getfixturevalue("pg_url") if store == "postgres" else None,
    }
    if action == "kill":
        answer = case_server.run(case)
        assert answer == {"signal": signal.SIGKILL, "code": None}, "the cut point was not reached"
    else:
        try:
            injector = killable.run_scenario(case, "raise")
        except InjectedFault:
            pass
        else:  # a fault inside a drive fails the execution (or the cell) instead of raising
            assert injector.hits >= nth, "the cut point was not reached"
    outcome = _settle_and_check(case, workspace)
    OUTCOMES.append((cut, action, store, f"{scenario} at {cut}: {outcome}"))


def _settle_and_check(case: dict[str, Any], workspace: Path) -> str:
    with killable.open_bench(case["data_dir"], workspace, case["database_url"]) as bench:
        settled = _outbox_states(bench)  # the processor has run: the bench is open
        bench.register_project(killable.files_project())
        first = bench.check_integrity(deep=True)
        outcome = f"outbox {settled}; " if settled else ""
        if first.clean:
            outcome += "check clean"
        else:
            repaired = bench.repair_integrity(yes=True, deep=True)
            assert repaired.clean, [f.model_dump() for f in repaired.problems]
            outcome += "repaired " + "+".join(sorted(k.value for k in first.kinds()))
        _check_workspace_agrees_with_its_last_writer(bench, workspace)
        _check_every_execution_finishes(bench, workspace)
        if case["scenario"] == "batch":
            _check_the_batch_finishes_with_one_row_per_cell(bench)
        if case["scenario"] == "delete_gc":
            _check_garbage_collection_finishes(bench)
        final = bench.check_integrity(deep=True)
        assert final.clean, [f.model_dump() for f in final.problems]
        assert not final.notices, [f.model_dump() for f in final.notices]
    return outcome


def _outbox_states(bench: WTBTestBench) -> str:
    rows = bench.stack.metadata.operations(("pending", "failed", "done", "compensated"))
    return ", ".join(f"{row.kind} {row.state}" for row in rows)


def _files(workspace: Path) -> dict[str, str]:
    out = workspace / "out"
    return {p.name: p.read_text() for p in sorted(out.glob("*.txt"))} if out.exists() else {}


def _check_workspace_agrees_with_its_last_writer(bench: WTBTestBench, workspace: Path) -> None:
    """The bench's workspace is written by the newest execution that is not a fork (a
    fork never writes it before it resumes; batch cells work in workspaces of their own)."""
    writers = [
        e
        for e in bench.list_executions()
        if e.parent_execution_id is None and not _is_cell(bench, e.execution_id)
    ]
    if writers:
        newest = writers[0]
        assert _files(workspace) == killable.expected_files(bench.get_state(newest.execution_id))


def _is_cell(bench: WTBTestBench, execution_id: str) -> bool:
    return bench.stack.metadata.get_execution(execution_id).batch_id is not None


def _check_every_execution_finishes(bench: WTBTestBench, workspace: Path) -> None:
    for execution in reversed(bench.list_executions()):  # oldest first
        if execution.status in (ExecutionStatus.PAUSED, ExecutionStatus.FAILED):
            if _is_cell(bench, execution.execution_id):
                continue  # a failed cell runs again through resume_batch
            done = bench.resume(execution.execution_id)
            assert done.status is ExecutionStatus.COMPLETED, done.error
            assert done.state["log"] == ["a", "b", "c"]
            assert _files(workspace) == killable.expected_files(done.state)
        else:
            assert execution.status is ExecutionStatus.COMPLETED


def _check_the_batch_finishes_with_one_row_per_cell(bench: WTBTestBench) -> None:
    (batch,) = bench.list_batches()
    done = bench.resume_batch(batch.batch_id, retry_failed=True)
    rows = bench.stack.metadata.batch_rows(batch.batch_id)
    cells = [(r.combination_index, r.case_index, r.repetition) for r in rows]
    assert len(cells) == len(set(cells)) == CELLS
    assert {r.status for r in rows} == {"completed"}
    for row in rows:
        assert row.execution_id is not None
        assert bench.get_execution(row.execution_id).status is ExecutionStatus.COMPLETED
    assert len(done.results) == CELLS


def _check_garbage_collection_finishes(bench: WTBTestBench) -> None:
    from wtb_filetrack.gc import collect_garbage

    collect_garbage(bench)
    assert len(bench.list_executions()) in (1, 2)  # the delete happened entirely or not at all
