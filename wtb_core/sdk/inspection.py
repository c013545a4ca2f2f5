"""Reading executions: results, state, checkpoints, file snapshots and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtb_core.domain.models import (
    AuditEntry,
    Checkpoint,
    ExecutionResult,
    ExecutionStatus,
    FileSnapshot,
    Severity,
)
from wtb_core.engine.history import head_snapshot, list_checkpoints, snapshot_at
from wtb_core.errors import InvalidStateError
from wtb_core.sdk.ledger import LedgerService


class InspectionService(LedgerService):
    """Read-only views of executions. Thread-safe: it changes nothing; a read of an
    execution that is running sees its newest checkpoint (``ExecutionLedger.current_head``),
    like LangGraph's ``get_state`` on a live thread."""

    def get_execution(self, execution_id: str) -> ExecutionResult:
        return self._ledger.result(self._ledger.fetch(execution_id))

    def list_executions(
        self,
        project: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        variant_config: Mapping[str, str] | None = None,
    ) -> list[ExecutionResult]:
        """Executions, newest first, optionally of one project, status and/or variants."""
        if status is not None:
            try:
                status = ExecutionStatus(status)
            except ValueError:
                allowed = ", ".join(s.value for s in ExecutionStatus)
                raise InvalidStateError(
                    f"unknown status {status!r}: use one of {allowed}"
                ) from None
        rows = self._ledger.metadata.list_executions(
            project, None if status is None else status.value, limit, variant_config
        )
        return [self._ledger.result(row) for row in rows]

    def get_state(self, execution_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        """The state values at ``checkpoint_id`` (default: the head)."""
        row = self._ledger.fetch(execution_id)
        if checkpoint_id is not None:
            graph = self._catalog.graph_of(row)
            return dict(snapshot_at(graph, row.thread_id, checkpoint_id).values)
        head = self._ledger.current_head(row)
        if head is None:
            return dict(row.state)
        graph = self._catalog.graph_of(row)
        return dict(head_snapshot(graph, row.thread_id, head, row.time_travel).values)

    def get_checkpoints(self, execution_id: str, all_branches: bool = False) -> list[Checkpoint]:
        """The head's lineage, oldest first (``all_branches``: with those rollbacks left)."""
        row = self._ledger.fetch(execution_id)
        head = self._ledger.current_head(row)
        if head is None:
            return []
        return list_checkpoints(self._catalog.graph_of(row), row.thread_id, head, all_branches)

    def get_file_snapshots(self, execution_id: str) -> list[FileSnapshot]:
        self._ledger.fetch(execution_id)
        return self._file_tracker.snapshots(execution_id)

    def audit(self, execution_id: str) -> list[AuditEntry]:
        """The execution's audit trail, oldest first (events still buffered included)."""
        self._ledger.fetch(execution_id)
        self._ledger.bus.flush()
        return [
            AuditEntry(
                timestamp=r.timestamp,
                event_type=r.event_type,
                severity=Severity(r.severity),
                execution_id=r.execution_id,
                node=r.node,
                checkpoint_id=r.checkpoint_id,
                message=r.message,
                data=r.data,
            )
            for r in self._ledger.metadata.list_events(execution_id)
        ]
