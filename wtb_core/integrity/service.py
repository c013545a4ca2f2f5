"""``IntegrityService``: the bench's cross-store checks and repairs, and its outbox
processor — what ``bench.check_integrity()``, ``bench.repair_integrity()``, ``wtb
integrity`` and ``wtb serve``'s periodic processor call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wtb_core.integrity import checks, repair
from wtb_core.integrity.outbox import Outbox, Settled
from wtb_core.integrity.report import Finding, FindingKind, IntegrityReport, RepairAction
from wtb_core.storage.database import utcnow

if TYPE_CHECKING:
    from wtb_core.ports import FileTracker
    from wtb_core.sdk.catalog import ProjectCatalog
    from wtb_core.sdk.ledger import ExecutionLedger

SAMPLE = 64
"""Blobs hashed per check (chosen at random); ``deep`` hashes them all."""


class IntegrityService:
    """Checks that the metadata database, the checkpoint store and the file store agree,
    repairs what is safe, and runs the outbox processor.

    Thread-safe: checks only read; repairs are conditional writes (a stuck execution is
    failed only if it is still as read) and the outbox serialises its settling."""

    def __init__(
        self,
        ledger: ExecutionLedger,
        outbox: Outbox,
        catalog: ProjectCatalog,
        file_tracker: FileTracker,
        delete_execution: Callable[[str], None],
    ) -> None:
        self._ledger = ledger
        self._outbox = outbox
        self._catalog = catalog
        self._file_tracker = file_tracker
        self._delete = delete_execution

    def process_outbox(self) -> list[Settled]:
        """Finish or compensate the pending outbox rows whose operations were cut off."""
        return self._outbox.process()

    def check(self, deep: bool = False, sample: int = SAMPLE) -> IntegrityReport:
        """Every check (``integrity.checks``); with ``deep`` every blob is hashed, not a
        sample of ``sample``."""
        ctx = self._context()
        found: list[Finding] = []
        for check in (
            checks.outbox_rows,
            checks.stale_running,
            checks.checkpoints,
            checks.orphan_threads,
            checks.batch_rows,
            checks.cell_executions,
            checks.file_links,
            checks.file_commits,
        ):
            found += check(ctx)
        stored, blobs, verified = checks.file_storage(ctx, deep, sample)
        found += stored
        counted = {
            "executions": len(ctx.executions),
            "threads": len(ctx.threads),
            "file links": len(ctx.ledger.metadata.file_links()),
            "blobs": blobs,
            "blobs hashed": verified,
            "open outbox rows": len(ctx.operations),
        }
        return IntegrityReport(checked_at=ctx.now, deep=deep, checked=counted, findings=found)

    def repair(self, yes: bool = False, deep: bool = False) -> IntegrityReport:
        """Apply the safe repairs (``integrity.repair``) to what a check finds, then check
        again: the report returned is the second check's, with ``repairs`` listing what was
        done. Deletions (unreferenced cell executions, orphan threads) need ``yes``."""
        ctx = self._context()
        actions: list[RepairAction] = repair.outbox(ctx)
        ctx = self._context()  # the outbox settled: look again
        actions += repair.stale_running(ctx, checks.stale_running(ctx), self._catalog)
        actions += repair.cell_executions(checks.cell_executions(ctx), yes, self._delete)
        actions += repair.orphan_threads(ctx, checks.orphan_threads(ctx), yes)
        actions += repair.file_links(ctx, checks.file_links(ctx))
        report = self.check(deep)
        return report.model_copy(update={"repairs": actions})

    def _context(self) -> checks.CheckContext:
        return checks.CheckContext.read(self._ledger, self._outbox, self._file_tracker, utcnow())


__all__ = ["Finding", "FindingKind", "IntegrityReport", "IntegrityService", "RepairAction"]
