"""``IntegrityReport``: what ``bench.check_integrity()`` found (and ``repair_integrity()``
did), printed by ``wtb integrity`` as a table or, with ``--json``, as this model."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, computed_field
from rich.console import Group
from rich.table import Table
from rich.text import Text


class FindingKind(StrEnum):
    MISSING_CHECKPOINT = "missing_checkpoint"
    ORPHAN_THREAD = "orphan_thread"
    STALE_RUNNING = "stale_running"
    BATCH_ROW_WITHOUT_EXECUTION = "batch_row_without_execution"
    UNREFERENCED_CELL_EXECUTION = "unreferenced_cell_execution"
    DANGLING_FILE_LINK = "dangling_file_link"
    BROKEN_FILE_COMMIT = "broken_file_commit"
    MISSING_BLOB = "missing_blob"
    CORRUPT_BLOB = "corrupt_blob"
    UNREFERENCED_BLOB = "unreferenced_blob"
    PENDING_OPERATION = "pending_operation"
    FAILED_OPERATION = "failed_operation"


class Finding(BaseModel):
    """One thing found: its ``kind``, the ``subject`` it is about (an execution, a thread,
    a batch row, a file link, a blob, an outbox row), what is wrong (``detail``) and what
    ``--repair`` does about it (``repair``; ``none: …`` says what to do instead). A
    ``notice`` is worth knowing but no fault (a blob ``wtb gc`` would free, an operation
    in progress)."""

    kind: FindingKind
    subject: str
    detail: str
    repair: str
    severity: Literal["problem", "notice"] = "problem"
    execution_id: str | None = None
    ref: str | None = Field(None, description="the id a repair acts on (thread, link, row)")


class RepairAction(BaseModel):
    """One repair: what was (``applied``) or would be done (a dry run without ``--yes``)."""

    kind: FindingKind
    subject: str
    action: str
    applied: bool
    detail: str = ""


class IntegrityReport(BaseModel):
    """The findings of one integrity check; ``clean`` when none is a problem.

    ``checked`` counts what was looked at (executions, threads, file links, blobs, blobs
    hashed, outbox rows); ``repairs`` lists what ``repair_integrity`` did before this
    check, which ran after it."""

    checked_at: datetime
    deep: bool
    checked: dict[str, int]
    findings: list[Finding]
    repairs: list[RepairAction] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def clean(self) -> bool:
        return not self.problems

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "problem"]

    @property
    def notices(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "notice"]

    def kinds(self) -> set[FindingKind]:
        """The kinds of the problems found."""
        return {f.kind for f in self.problems}

    def __rich__(self) -> Group:
        parts: list[Table | Text] = []
        if self.repairs:
            done = Table(title=f"{len(self.repairs)} repairs", title_justify="left")
            for column in ("kind", "subject", "action", "applied"):
                done.add_column(column, overflow="fold")
            for r in self.repairs:
                done.add_row(r.kind.value, r.subject, r.action, "yes" if r.applied else "no")
            parts.append(done)
        counts = ", ".join(f"{n} {what}" for what, n in self.checked.items())
        if self.findings:
            found = Table(
                title=f"{len(self.problems)} problems, {len(self.notices)} notices",
                title_justify="left",
            )
            for column in ("kind", "subject", "detail", "repair"):
                found.add_column(column, overflow="fold")
            for f in self.findings:
                style = "red" if f.severity == "problem" else "yellow"
                found.add_row(Text(f.kind.value, style=style), f.subject, f.detail, f.repair)
            parts.append(found)
        verdict = (
            "clean" if self.clean else "problems found: `wtb integrity --repair` fixes what is safe"
        )
        parts.append(Text(f"{verdict} (checked {counts})", style="green" if self.clean else "red"))
        return Group(*parts)
