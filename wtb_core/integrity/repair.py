"""The safe repairs ``wtb integrity --repair`` applies, one function per finding kind.

* outbox rows: finished or compensated by the processor (failed ones tried once more);
* executions stuck ``running``: marked failed with the reason (a compare-and-set, so a run
  that claimed it meanwhile wins), the head moved to the newest checkpoint of the thread
  and the state read from it, so the row shows where the run got to;
* unreferenced cell executions and orphan threads: deleted only with ``yes`` (a dry run
  lists them otherwise); orphan threads never while a batch's driver is alive;
* dangling file links: re-linked to the stored commit another execution links at the same
  checkpoint (a fork shares its source's checkpoint ids), else dropped.

Nothing a batch row references is deleted: a cell execution with a row is no finding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from wtb_core.engine.history import snapshot_at, snapshot_fields
from wtb_core.errors import WTBError
from wtb_core.integrity.report import Finding, FindingKind, RepairAction

if TYPE_CHECKING:
    from wtb_core.integrity.checks import CheckContext
    from wtb_core.sdk.catalog import ProjectCatalog

log = logging.getLogger(__name__)

DeleteExecution = Callable[[str], None]


def outbox(ctx: CheckContext) -> list[RepairAction]:
    return [
        RepairAction(
            kind=FindingKind.PENDING_OPERATION,
            subject=f"outbox row {settled.operation_id}",
            action=f"{settled.kind} of execution {settled.execution_id}: {settled.outcome}",
            applied=settled.outcome in ("done", "compensated"),
            detail=settled.detail,
        )
        for settled in ctx.outbox.process(include_failed=True)
    ]


def stale_running(
    ctx: CheckContext, findings: list[Finding], catalog: ProjectCatalog
) -> list[RepairAction]:
    ledger = ctx.ledger
    actions = []
    for finding in findings:
        assert finding.execution_id is not None
        row = ledger.fetch(finding.execution_id)
        reason = ledger.seen(row)[1]
        fields: dict[str, object] = {}
        head = ledger.current_head(row, crashed=True)
        note = ""
        if head is not None and head != row.head_checkpoint_id:
            try:
                snapshot = snapshot_at(catalog.graph_of(row), row.thread_id, head)
                fields = {"head_checkpoint_id": head, **snapshot_fields(snapshot)}
            except WTBError as exc:  # the project cannot be loaded here: status only
                note = f"; its head stays (the graph cannot be loaded: {exc})"
        changed = ledger.metadata.fail_stuck_execution(row.id, row.owner, str(reason), fields)
        actions.append(
            RepairAction(
                kind=FindingKind.STALE_RUNNING,
                subject=finding.subject,
                action="marked failed" if changed else "left: it was claimed meanwhile",
                applied=changed,
                detail=f"{reason}{note}",
            )
        )
    return actions


def cell_executions(
    findings: list[Finding], yes: bool, delete: DeleteExecution
) -> list[RepairAction]:
    actions = []
    for finding in findings:
        assert finding.execution_id is not None
        if not yes:
            actions.append(_dry(finding, "would delete the execution and its checkpoints"))
            continue
        try:
            delete(finding.execution_id)
        except WTBError as exc:
            actions.append(_not_done(finding, "delete", exc))
            continue
        actions.append(
            RepairAction(
                kind=finding.kind,
                subject=finding.subject,
                action="deleted the execution and its checkpoints",
                applied=True,
            )
        )
    return actions


def orphan_threads(ctx: CheckContext, findings: list[Finding], yes: bool) -> list[RepairAction]:
    actions = []
    for finding in findings:
        assert finding.ref is not None
        if not yes:
            actions.append(_dry(finding, "would delete the thread"))
        elif ctx.live_batches:
            batches = ", ".join(sorted(ctx.live_batches))
            actions.append(
                RepairAction(
                    kind=finding.kind,
                    subject=finding.subject,
                    action="left: a batch is running (its cells may be writing threads)",
                    applied=False,
                    detail=f"running: {batches}; repair again when it has finished",
                )
            )
        else:
            ctx.ledger.checkpoints.delete_thread(finding.ref)
            actions.append(
                RepairAction(
                    kind=finding.kind, subject=finding.subject, action="deleted", applied=True
                )
            )
    return actions


def file_links(ctx: CheckContext, findings: list[Finding]) -> list[RepairAction]:
    metadata = ctx.ledger.metadata
    links = metadata.file_links()
    stored = metadata.stored_commit_ids(link.commit_id for link in links)
    by_checkpoint: dict[str, str] = {}
    for link in links:
        if link.commit_id in stored:
            by_checkpoint.setdefault(link.checkpoint_id, link.commit_id)
    actions = []
    for finding in findings:
        assert finding.ref is not None
        link_id = int(finding.ref)
        found = next((link for link in links if link.id == link_id), None)
        if found is None:
            continue
        replacement = by_checkpoint.get(found.checkpoint_id)
        if replacement is not None:
            metadata.relink_file_snapshot(link_id, replacement)
            action = f"re-linked to file commit {replacement[:12]}"
        else:
            metadata.drop_file_snapshot(link_id)
            action = "dropped the link"
        actions.append(
            RepairAction(kind=finding.kind, subject=finding.subject, action=action, applied=True)
        )
    return actions


def _dry(finding: Finding, action: str) -> RepairAction:
    return RepairAction(
        kind=finding.kind,
        subject=finding.subject,
        action=action,
        applied=False,
        detail="dry run: pass --yes (repair_integrity(yes=True)) to do it",
    )


def _not_done(finding: Finding, action: str, exc: Exception) -> RepairAction:
    return RepairAction(
        kind=finding.kind,
        subject=finding.subject,
        action=f"could not {action}",
        applied=False,
        detail=str(exc),
    )
