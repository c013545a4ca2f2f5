"""Each integrity check finds what a hand edit (or a lost file) left behind, says what the
repair does, and the repair does exactly that — on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from langgraph.graph import END, START, StateGraph

from tests.hardening import killable
from wtb_core import ExecutionStatus, StorageError, WorkflowProject, WTBError
from wtb_core.engine.threads import thread_config
from wtb_core.integrity.outbox import MAX_ATTEMPTS
from wtb_core.integrity.report import FindingKind
from wtb_core.storage.database import utcnow

FAST_CLAIMS = {"claim_renewal_interval": 0.05, "claim_timeout": 0.2}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request):
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


@pytest.fixture
def workspace(tmp_path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture
def bench(tmp_path, workspace, store):
    with killable.open_bench(tmp_path / "data", workspace, store, **FAST_CLAIMS) as b:
        b.register_project(killable.files_project())
        yield b


def _kinds(report) -> list[FindingKind]:
    return [f.kind for f in report.findings]


def _dead_owner() -> str:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return f"{socket.gethostname()}:{child.stdout.strip()}"


def _blob(data_dir: Path, content: str) -> Path:
    digest = hashlib.sha256(content.encode()).hexdigest()
    return data_dir / "files" / "objects" / digest[:2] / digest[2:]


def test_a_bench_after_every_operation_is_clean(bench):
    done = bench.run("files", {"tag": "t"})
    after_a = next(
        c.checkpoint_id for c in bench.get_checkpoints(done.execution_id) if "a" in c.nodes
    )
    fork = bench.fork(done.execution_id, after_a, updates={"note": "f"})
    bench.resume(fork.execution_id)
    bench.rollback(done.execution_id, after_a)
    bench.update_state(done.execution_id, {"note": "edited"})
    bench.resume(done.execution_id)
    bench.run_batch_test("files", [{}], [{"tag": "k"}], runner="threadpool", repetitions=2)
    gone = bench.run("files", {"tag": "gone"})
    bench.delete_execution(gone.execution_id)
    report = bench.check_integrity(deep=True)
    assert report.clean and {f.kind for f in report.findings} == {FindingKind.UNREFERENCED_BLOB}
    from wtb_filetrack.gc import collect_garbage

    collect_garbage(bench)  # what the notices said
    report = bench.check_integrity(deep=True)
    assert report.clean and report.findings == []
    assert report.checked["executions"] == 4 and report.checked["threads"] == 4
    assert report.checked["blobs hashed"] == report.checked["blobs"] > 0
    closed = bench.stack.metadata.operations(("done", "compensated"))
    assert sorted(op.kind for op in closed) == ["delete", "fork", "rollback", "update_state"]


def test_an_execution_whose_checkpoints_are_gone_is_reported_and_named_on_resume(bench):
    paused = bench.run("files", {"tag": "t"}, breakpoints=["b"])
    bench.stack.checkpoints.delete_thread(f"wtb-{paused.execution_id}")
    report = bench.repair_integrity(yes=True)
    [finding] = report.problems
    assert finding.kind is FindingKind.MISSING_CHECKPOINT
    assert finding.execution_id == paused.execution_id and "lacks its head" in finding.detail
    assert finding.repair.startswith("none: restore the checkpoint store")
    with pytest.raises(StorageError, match="wtb integrity"):
        bench.resume(paused.execution_id)


def test_an_orphan_thread_is_deleted_only_with_yes_and_foreign_threads_are_left(bench):
    done = bench.run("files", {"tag": "t"})
    store = bench.stack.checkpoints
    store.copy_thread(f"wtb-{done.execution_id}", "wtb-ghost", done.checkpoint_id)
    store.copy_thread(f"wtb-{done.execution_id}", "someone-elses", done.checkpoint_id)
    assert bench.check_integrity().clean  # too young: a distributed cell may be writing it
    time.sleep(FAST_CLAIMS["claim_timeout"] + 0.1)  # the copy keeps the checkpoint's time...
    store.copy_thread(f"wtb-{done.execution_id}", "wtb-young", done.checkpoint_id)
    found = bench.check_integrity()
    assert [f.subject for f in found.problems] == ["thread wtb-ghost", "thread wtb-young"]
    dry = bench.repair_integrity()
    assert [(r.subject, r.applied) for r in dry.repairs] == [
        ("thread wtb-ghost", False), ("thread wtb-young", False)
    ]  # fmt: skip
    assert not dry.clean
    repaired = bench.repair_integrity(yes=True)
    assert repaired.clean and all(r.applied for r in repaired.repairs)
    assert store.saver.get_tuple(thread_config("wtb-ghost")) is None
    assert store.saver.get_tuple(thread_config("someone-elses")) is not None


def test_a_running_execution_of_another_host_fails_once_its_claim_lapses(bench):
    paused = bench.run("files", {"tag": "t"}, breakpoints=["c"])
    metadata = bench.stack.metadata
    metadata.update_execution(
        paused.execution_id,
        {"status": "running", "owner": "elsewhere:42", "heartbeat_at": utcnow()},
    )
    assert bench.get_execution(paused.execution_id).status is ExecutionStatus.RUNNING
    assert bench.check_integrity().clean
    stale = utcnow() - timedelta(seconds=FAST_CLAIMS["claim_timeout"] + 1)
    metadata.update_execution(paused.execution_id, {"heartbeat_at": stale})
    seen = bench.get_execution(paused.execution_id)
    assert seen.status is ExecutionStatus.FAILED and "not renewed its claim" in seen.error
    [finding] = bench.check_integrity().problems
    assert finding.kind is FindingKind.STALE_RUNNING
    repaired = bench.repair_integrity()
    assert repaired.clean and [r.action for r in repaired.repairs] == ["marked failed"]
    row = metadata.get_execution(paused.execution_id)
    assert row.status == "failed" and "elsewhere:42" in row.error
    assert bench.resume(paused.execution_id).status is ExecutionStatus.COMPLETED


def test_a_run_renews_its_claim_while_it_runs(bench, tmp_path):
    gate = tmp_path / "gate"

    def slow(state):
        deadline = time.monotonic() + 5
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"log": ["slow"]}

    builder = StateGraph(killable.FileState)
    builder.add_node("slow", slow)
    builder.add_edge(START, "slow")
    builder.add_edge("slow", END)
    bench.register_project(WorkflowProject("slow", lambda: builder))
    import threading

    runner = threading.Thread(target=lambda: bench.run("slow", {}))
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while not bench.list_executions() and time.monotonic() < deadline:
            time.sleep(0.01)
        (execution,) = bench.list_executions()
        first = bench.stack.metadata.get_execution(execution.execution_id).heartbeat_at
        time.sleep(FAST_CLAIMS["claim_renewal_interval"] * 4)
        later = bench.stack.metadata.get_execution(execution.execution_id).heartbeat_at
        assert later > first
    finally:
        gate.touch()
        runner.join(10)
    assert bench.get_execution(execution.execution_id).status is ExecutionStatus.COMPLETED


def test_a_batch_row_whose_execution_was_deleted_is_reported_not_repaired(bench):
    batch = bench.run_batch_test("files", [{}], [{"tag": "k"}], runner="sequential")
    [row] = batch.results
    bench.delete_execution(row.execution_id)
    report = bench.repair_integrity(yes=True)
    [finding] = report.problems
    assert finding.kind is FindingKind.BATCH_ROW_WITHOUT_EXECUTION
    assert row.execution_id in finding.detail and finding.repair.startswith("none")
    assert bench.get_batch(batch.batch_id).results[0].status == "completed"  # the row stays


def test_cells_run_again_by_retry_failed_leave_their_old_executions_as_plain_ones(bench):
    project = bench.get_project("files")
    project.register_variant("b", "broken", lambda state: 1 / 0)
    batch = bench.run_batch_test("files", [{"b": "broken"}], [{"tag": "k"}], runner="sequential")
    [failed] = batch.results
    project.remove_variant("b", "broken")
    project.register_variant("b", "broken", killable._file_node("b"))
    again = bench.resume_batch(batch.batch_id, retry_failed=True)
    assert [r.status for r in again.results] == ["completed"]
    assert bench.get_execution(failed.execution_id).status is ExecutionStatus.FAILED
    assert bench.check_integrity().clean


def test_dangling_file_links_are_relinked_from_a_fork_source_or_dropped(bench, tmp_path):
    done = bench.run("files", {"tag": "t"})
    after_a = next(
        c.checkpoint_id for c in bench.get_checkpoints(done.execution_id) if "a" in c.nodes
    )
    fork = bench.fork(done.execution_id, after_a)
    metadata = bench.stack.metadata
    links = {
        link.checkpoint_id: link
        for link in metadata.file_links()
        if link.execution_id == fork.execution_id
    }
    shared = links[after_a]
    metadata.relink_file_snapshot(shared.id, "0" * 64)  # the fork's link now dangles
    orphan = metadata.save_file_snapshot("nobody", "cp-x", {})
    metadata.relink_file_snapshot(
        next(link.id for link in metadata.file_links() if link.execution_id == "nobody"), "f" * 64
    )
    found = bench.check_integrity()
    assert sorted(f.kind for f in found.problems) == [FindingKind.DANGLING_FILE_LINK] * 2
    repaired = bench.repair_integrity()
    assert repaired.clean
    actions = sorted(r.action for r in repaired.repairs)
    assert actions == ["dropped the link", f"re-linked to file commit {shared.commit_id[:12]}"]
    assert orphan and metadata.file_snapshot_links(fork.execution_id)[after_a] == shared.commit_id


def test_missing_blobs_and_corrupt_blobs_are_reported(bench, tmp_path, workspace):
    done = bench.run("files", {"tag": "t"})
    data_dir = tmp_path / "data"
    missing = _blob(data_dir, "a:t:0")
    corrupt = _blob(data_dir, "b:t:1")
    missing.unlink()
    os.chmod(corrupt, 0o644)
    corrupt.write_text("tampered")
    sampled = bench.check_integrity(deep=False)
    assert FindingKind.MISSING_BLOB in _kinds(sampled)
    deep = bench.check_integrity(deep=True)
    assert sorted(f.kind for f in deep.problems) == [
        FindingKind.CORRUPT_BLOB,
        FindingKind.MISSING_BLOB,
    ]
    assert all("listed by file commit" in f.detail for f in deep.problems)
    (workspace / "out" / "a.txt").unlink()  # a rollback must write it from the missing blob
    after_a = next(
        c.checkpoint_id for c in bench.get_checkpoints(done.execution_id) if "a" in c.nodes
    )
    with pytest.raises(WTBError, match="is missing"):
        bench.rollback(done.execution_id, after_a)


def test_a_commit_missing_a_chunk_is_reported(bench):
    bench.run("files", {"tag": "t"})
    metadata = bench.stack.metadata
    from sqlalchemy import delete, select

    from wtb_core.storage.tables import FileChunkRecord

    with metadata.db.transaction() as session:
        chunk = session.scalars(select(FileChunkRecord.id)).first()
        session.execute(delete(FileChunkRecord).where(FileChunkRecord.id == chunk))
    kinds = _kinds(bench.check_integrity())
    assert FindingKind.BROKEN_FILE_COMMIT in kinds


def test_a_blob_no_commit_lists_is_a_notice_for_gc(bench, tmp_path):
    bench.run("files", {"tag": "t"})
    stray = _blob(tmp_path / "data", "stray")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("stray")
    report = bench.check_integrity()
    assert report.clean
    [notice] = report.notices
    assert notice.kind is FindingKind.UNREFERENCED_BLOB and "wtb gc" in notice.repair


def test_an_outbox_row_that_cannot_be_settled_fails_after_bounded_attempts(
    bench, tmp_path, workspace
):
    done = bench.run("files", {"tag": "t"})
    metadata = bench.stack.metadata
    blob = _blob(tmp_path / "data", "c:t:2")  # the head's files cannot be restored
    saved = blob.read_bytes()
    blob.unlink()
    (workspace / "out" / "c.txt").unlink()
    row_id = metadata.open_operation(
        "rollback",
        done.execution_id,
        owner=_dead_owner(),
        checkpoint_id="somewhere",
        payload={"from_checkpoint": done.checkpoint_id},
    )
    outbox = bench.services.integrity
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [settled] = outbox.process_outbox()
        assert settled.outcome == ("failed" if attempt == MAX_ATTEMPTS else "pending")
    assert outbox.process_outbox() == []  # not retried forever
    row = metadata.operation(row_id)
    assert row.state == "failed" and row.attempts == MAX_ATTEMPTS and "missing" in row.last_error
    found = bench.check_integrity().problems
    assert sorted(f.kind for f in found) == [FindingKind.FAILED_OPERATION, FindingKind.MISSING_BLOB]
    [finding] = [f for f in found if f.kind is FindingKind.FAILED_OPERATION]
    assert f"{MAX_ATTEMPTS} attempts" in finding.detail and "missing" in finding.detail
    blob.write_bytes(saved)
    repaired = bench.repair_integrity()
    assert repaired.clean and metadata.operation(row_id).state == "compensated"


def test_an_outbox_row_of_a_live_process_is_left_alone(bench):
    done = bench.run("files", {"tag": "t"})
    live = f"{socket.gethostname()}:{os.getppid()}"
    row_id = bench.stack.metadata.open_operation(
        "rollback", done.execution_id, owner=live, payload={"from_checkpoint": done.checkpoint_id}
    )
    assert bench.services.integrity.process_outbox() == []
    report = bench.check_integrity()
    assert report.clean
    [notice] = report.notices
    assert notice.kind is FindingKind.PENDING_OPERATION and "in progress" in notice.detail
    assert bench.stack.metadata.operation(row_id).state == "pending"
