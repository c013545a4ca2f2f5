"""The integrity checks, one function each, over a ``CheckContext`` read once per check.

Each returns ``Finding``s; none changes anything. Things that belong to an operation in
progress are left alone: an execution running on a live claim, the cells of a batch whose
driver is alive, a thread younger than ``claim_timeout`` or named by a pending outbox row.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from wtb_core.domain.models import ExecutionStatus
from wtb_core.engine.records import owner_alive, thread_id_of
from wtb_core.engine.threads import saver_checkpoint_ids, saver_thread_ids, thread_config
from wtb_core.integrity.outbox import OperationKind
from wtb_core.integrity.report import Finding, FindingKind
from wtb_core.ports import ThreadInventory
from wtb_core.storage.database import as_utc
from wtb_core.storage.outbox import FAILED

if TYPE_CHECKING:
    from wtb_core.integrity.outbox import Outbox
    from wtb_core.ports import FileTracker
    from wtb_core.sdk.ledger import ExecutionLedger
    from wtb_core.storage.integrity_queries import ExecutionSummary
    from wtb_core.storage.tables import OutboxRecord

THREAD_PREFIX = "wtb-"
"""Threads of executions; a checkpoint store shared with other programs holds others too,
which are none of WTB's business."""

_RESTORE = "none: restore the checkpoint store from a backup, or delete the execution"


@dataclass
class CheckContext:
    """What every check reads, read once: the executions, the outbox rows not closed, the
    batches whose driver is alive; thread listings are read on first use."""

    ledger: ExecutionLedger
    outbox: Outbox
    file_tracker: FileTracker
    now: datetime
    executions: list[ExecutionSummary]
    operations: list[OutboxRecord]
    live_batches: set[str]
    _checkpoints: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def read(
        cls, ledger: ExecutionLedger, outbox: Outbox, file_tracker: FileTracker, now: datetime
    ) -> CheckContext:
        metadata = ledger.metadata
        live = {
            b.id for b in metadata.list_batches() if b.status == "running" and owner_alive(b.owner)
        }
        return cls(
            ledger,
            outbox,
            file_tracker,
            now,
            metadata.execution_summaries(),
            metadata.operations(),
            live,
        )

    @functools.cached_property
    def threads(self) -> set[str]:
        store = self.ledger.checkpoints
        if isinstance(store, ThreadInventory):
            return store.thread_ids()
        return saver_thread_ids(store.saver)

    def checkpoint_ids(self, thread_id: str) -> set[str]:
        if thread_id not in self._checkpoints:
            store = self.ledger.checkpoints
            self._checkpoints[thread_id] = (
                store.checkpoint_ids(thread_id)
                if isinstance(store, ThreadInventory)
                else saver_checkpoint_ids(store.saver, thread_id)
            )
        return self._checkpoints[thread_id]

    def operation_executions(self, *kinds: OperationKind) -> set[str]:
        wanted = {k.value for k in kinds} or {k.value for k in OperationKind}
        return {op.execution_id for op in self.operations if op.kind in wanted}

    @property
    def timeout(self) -> timedelta:
        return timedelta(seconds=self.ledger.claim_timeout)


def checkpoints(ctx: CheckContext) -> list[Finding]:
    """Executions whose head, fork point or file-snapshot checkpoints are missing from the
    checkpoint store."""
    links: dict[str, set[str]] = defaultdict(set)
    for link in ctx.ledger.metadata.file_links():
        links[link.execution_id].add(link.checkpoint_id)
    in_flight = ctx.operation_executions()  # their outbox rows are reported instead
    findings = []
    for execution in ctx.executions:
        if execution.id in in_flight:
            continue
        listed: dict[str, set[str]] = {
            "head": {c for c in [execution.head_checkpoint_id] if c},
            "fork point": {c for c in [execution.parent_checkpoint_id] if c},
            "file snapshot": links.get(execution.id, set()),
        }
        if not any(listed.values()):
            continue
        have = ctx.checkpoint_ids(execution.thread_id)
        missing = {what: sorted(ids - have) for what, ids in listed.items() if ids - have}
        if not missing:
            continue
        what = "; ".join(f"{name} {', '.join(ids)}" for name, ids in missing.items())
        findings.append(
            Finding(
                kind=FindingKind.MISSING_CHECKPOINT,
                subject=f"execution {execution.id}",
                detail=f"thread {execution.thread_id} lacks its {what}",
                repair=_RESTORE + " (bench.delete_execution)",
                execution_id=execution.id,
            )
        )
    return findings


def orphan_threads(ctx: CheckContext) -> list[Finding]:
    """Threads of the checkpoint store that no execution owns (and no fork in progress is
    writing), older than ``claim_timeout``."""
    owned = {e.thread_id for e in ctx.executions}
    owned |= {thread_id_of(e) for e in ctx.operation_executions()}
    saver = ctx.ledger.checkpoints.saver
    findings = []
    for thread in sorted(ctx.threads - owned):
        if not thread.startswith(THREAD_PREFIX):
            continue
        newest = saver.get_tuple(thread_config(thread))
        if newest is None:
            continue
        written = as_utc(datetime.fromisoformat(newest.checkpoint["ts"]))
        if ctx.now - written < ctx.timeout:
            continue  # a writer may be about to store its execution (a distributed cell)
        findings.append(
            Finding(
                kind=FindingKind.ORPHAN_THREAD,
                subject=f"thread {thread}",
                detail=f"no execution owns it (last checkpoint {written:%Y-%m-%d %H:%M:%S} UTC)",
                repair="deleted (with --yes)",
                ref=thread,
            )
        )
    return findings


def stale_running(ctx: CheckContext) -> list[Finding]:
    """Executions stored as ``running`` whose run is gone: driven by nothing in this
    process, their owner's process exited (this host) or their claim lapsed (another)."""
    ledger = ctx.ledger
    findings = []
    for summary in ctx.executions:
        if summary.status != ExecutionStatus.RUNNING.value:
            continue
        row = ledger.fetch(summary.id)
        status, reason = ledger.seen(row)
        if status is ExecutionStatus.RUNNING:
            continue
        findings.append(
            Finding(
                kind=FindingKind.STALE_RUNNING,
                subject=f"execution {row.id}",
                detail=f"stored as running by {row.owner}, but {reason}",
                repair="marked failed with that reason, its head at its newest checkpoint",
                execution_id=row.id,
            )
        )
    return findings


def batch_rows(ctx: CheckContext) -> list[Finding]:
    """Batch rows naming an execution that does not exist."""
    return [
        Finding(
            kind=FindingKind.BATCH_ROW_WITHOUT_EXECUTION,
            subject=f"batch {ref.batch_id} row {ref.row_id}",
            detail=f"cell {ref.cell} names execution {ref.execution_id}, which does not exist",
            repair="none: the row keeps its result; its execution cannot be inspected",
            execution_id=ref.execution_id,
            ref=str(ref.row_id),
        )
        for ref in ctx.ledger.metadata.batch_rows_without_execution()
    ]


def cell_executions(ctx: CheckContext) -> list[Finding]:
    """Executions created for a batch cell that no row references, of batches whose
    driver is gone: what a killed batch leaves (``resume_batch`` runs those cells again)."""
    by_id = {e.id: e for e in ctx.executions}
    ledger = ctx.ledger
    findings = []
    for execution_id in ledger.metadata.unreferenced_cell_executions():
        summary = by_id.get(execution_id)
        if summary is None or summary.batch_id in ctx.live_batches:
            continue
        running = summary.status == ExecutionStatus.RUNNING.value
        if running and ledger.seen(ledger.fetch(execution_id))[0] is ExecutionStatus.RUNNING:
            continue
        findings.append(
            Finding(
                kind=FindingKind.UNREFERENCED_CELL_EXECUTION,
                subject=f"execution {execution_id}",
                detail=f"created for a cell of batch {summary.batch_id}, which has no row for it",
                repair="deleted with its checkpoints (with --yes)",
                execution_id=execution_id,
            )
        )
    return findings


def file_links(ctx: CheckContext) -> list[Finding]:
    """File-snapshot links whose commit is not stored."""
    metadata = ctx.ledger.metadata
    links = metadata.file_links()
    stored = metadata.stored_commit_ids(link.commit_id for link in links)
    findings = []
    for link in links:
        if link.commit_id in stored:
            continue
        findings.append(
            Finding(
                kind=FindingKind.DANGLING_FILE_LINK,
                subject=f"execution {link.execution_id} checkpoint {link.checkpoint_id}",
                detail=f"links file commit {link.commit_id[:12]}, which is not stored",
                repair="re-linked to a stored commit another execution has at that "
                "checkpoint (a fork's source), else dropped (restores there then use the "
                "snapshot before it)",
                execution_id=link.execution_id,
                ref=str(link.id),
            )
        )
    return findings


def file_commits(ctx: CheckContext) -> list[Finding]:
    """File commits listing manifest chunks that are not stored."""
    return [
        Finding(
            kind=FindingKind.BROKEN_FILE_COMMIT,
            subject=f"file commit {commit[:12]}",
            detail=f"lists {len(missing)} chunk(s) that are not stored ({missing[0][:12]}…)",
            repair="none: restore the metadata database from a backup; restoring files at "
            "its checkpoints fails until then",
            ref=commit,
        )
        for commit, missing in sorted(ctx.ledger.metadata.commits_missing_chunks().items())
    ]


def file_storage(ctx: CheckContext, deep: bool, sample: int) -> tuple[list[Finding], int, int]:
    """The file tracker's blobs (through its port): missing or corrupt ones, and those
    no commit lists. Returns the findings, the blobs stored and the blobs hashed."""
    check = getattr(ctx.file_tracker, "check_storage", None)
    if check is None:  # a tracker from before the port had it
        return [], 0, 0
    result = check(deep, sample)
    findings = []
    for problem in result.problems:
        commits = ", ".join(c[:12] for c in problem.commits)
        if problem.kind == "unreferenced_blob":
            findings.append(
                Finding(
                    kind=FindingKind.UNREFERENCED_BLOB,
                    subject=problem.subject,
                    detail=problem.detail,
                    repair="none: `wtb gc` frees it",
                    severity="notice",
                )
            )
            continue
        findings.append(
            Finding(
                kind=FindingKind(problem.kind),
                subject=problem.subject,
                detail=f"{problem.detail}; listed by file commit(s) {commits}",
                repair="none: restore the blob store from a backup; restoring the files of "
                "those commits fails (and changes nothing) until then",
            )
        )
    return findings, result.blobs, result.verified


def outbox_rows(ctx: CheckContext) -> list[Finding]:
    """Outbox rows not closed: failed ones, pending ones whose operation is gone, and (as
    notices) pending ones still in progress."""
    findings = []
    for op in ctx.operations:
        what = f"{op.kind} of execution {op.execution_id}"
        if op.state == FAILED:
            findings.append(
                Finding(
                    kind=FindingKind.FAILED_OPERATION,
                    subject=f"outbox row {op.id}",
                    detail=f"{what}: gave up after {op.attempts} attempts: {op.last_error}",
                    repair="tried once more",
                    execution_id=op.execution_id,
                    ref=str(op.id),
                )
            )
            continue
        in_progress = ctx.outbox.in_progress(op)
        tried = f" ({op.attempts} failed attempts, last: {op.last_error})" if op.attempts else ""
        findings.append(
            Finding(
                kind=FindingKind.PENDING_OPERATION,
                subject=f"outbox row {op.id}",
                detail=f"{what} is in progress ({op.owner})"
                if in_progress
                else f"{what} was cut off{tried}",
                repair="none: it is in progress" if in_progress else "finished or compensated",
                severity="notice" if in_progress else "problem",
                execution_id=op.execution_id,
                ref=str(op.id),
            )
        )
    return findings
