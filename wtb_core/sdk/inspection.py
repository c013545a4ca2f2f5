"""Reading executions: results, state, checkpoints, file snapshots and the audit trail."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from langgraph.types import StateSnapshot
from pydantic import BaseModel, Field

from wtb_core.domain.models import (
    AuditEntry,
    Checkpoint,
    ExecutionResult,
    ExecutionStatus,
    FileSnapshot,
    Severity,
)
from wtb_core.engine.history import head_snapshot, list_checkpoints, snapshot_at
from wtb_core.engine.threads import thread_config
from wtb_core.errors import (
    ExecutionNotFoundError,
    InvalidInputError,
    InvalidStateError,
    WTBError,
)
from wtb_core.sdk.ledger import LedgerService
from wtb_core.storage.database import as_utc

_PROBE = thread_config("wtb-readiness-probe")
_METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]+")


class InvalidCursorError(WTBError):
    """A paging cursor that no listing handed out."""


class ExecutionPage(BaseModel):
    """One page of executions, newest first; ``next_cursor`` fetches the next page
    (``None`` on the last one)."""

    items: list[ExecutionResult]
    next_cursor: str | None = None


class StateChange(BaseModel):
    """One state key that differs between two checkpoints."""

    key: str
    change: Literal["added", "removed", "changed"]
    before: Any = Field(None, description="The value at the first checkpoint (absent: null)")
    after: Any = Field(None, description="The value at the second checkpoint (absent: null)")


class StateDiff(BaseModel):
    """The state keys whose values differ from ``from_checkpoint`` to ``to_checkpoint``,
    by key name."""

    execution_id: str
    from_checkpoint: str
    to_checkpoint: str | None
    changes: list[StateChange] = Field(default_factory=list)


def _cursor(result: ExecutionResult) -> str:
    created = result.created_at.isoformat() if result.created_at else ""
    raw = json.dumps([created, result.execution_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str) -> tuple[datetime, str]:
    """``(created_at, id)`` of the execution a cursor was made from."""
    try:
        created, execution_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        return as_utc(datetime.fromisoformat(created)), str(execution_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursorError(
            f"cursor {cursor!r} was not handed out by a listing of executions; pass the "
            "next_cursor of the previous page, or no cursor for the first page"
        ) from None


def _differs(before: Any, after: Any) -> bool:
    try:
        return bool(before != after)
    except Exception:  # a value whose == does not give a truth value (an array): compare by repr
        return repr(before) != repr(after)


class InspectionService(LedgerService):
    """Read-only views of executions. Thread-safe: it changes nothing; a read of an
    execution that is running sees its newest checkpoint (``ExecutionLedger.current_head``),
    like LangGraph's ``get_state`` on a live thread."""

    def get_execution(self, execution_id: str) -> ExecutionResult:
        return self._ledger.result(self._ledger.fetch(execution_id))

    def find_execution(self, execution_id: str) -> ExecutionResult | None:
        """``get_execution``, or ``None`` when there is none (a cheap check first)."""
        if not self._ledger.metadata.execution_exists(execution_id):
            return None
        try:
            return self.get_execution(execution_id)
        except ExecutionNotFoundError:  # deleted between the two reads
            return None

    def list_executions(
        self,
        project: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        variant_config: Mapping[str, str] | None = None,
        include_trunks: bool = False,
    ) -> list[ExecutionResult]:
        """Executions, newest first, optionally of one project, status and/or variants;
        the trunks of shared-prefix batches only with ``include_trunks``."""
        rows = self._ledger.metadata.list_executions(
            project, _status_value(status), limit, variant_config, include_trunks=include_trunks
        )
        return [self._ledger.result(row) for row in rows]

    def page_executions(
        self,
        project: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        variant_config: Mapping[str, str] | None = None,
        *,
        batch_id: str | None = None,
        parent_execution_id: str | None = None,
        text: str | None = None,
    ) -> ExecutionPage:
        """``limit`` executions, newest first, after the one ``cursor`` (a ``next_cursor``)
        points at: paging through every page lists each execution once, also while new
        ones are created (those land before the first page). Filters: ``project``,
        ``status``, ``variant_config`` (ran these variants), ``batch_id`` (its cells),
        ``parent_execution_id`` (its forks), ``text`` (in the state, any case)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidCursorError(f"limit must be a whole number of at least 1, not {limit!r}")
        after = None if cursor is None else _position(cursor)
        rows = self._ledger.metadata.list_executions(
            project,
            _status_value(status),
            limit + 1,
            variant_config,
            after=after,
            batch_id=batch_id,
            parent_execution_id=parent_execution_id,
            text=text,
        )
        items = [self._ledger.result(row) for row in rows[:limit]]
        more = len(rows) > limit and bool(items)
        return ExecutionPage(items=items, next_cursor=_cursor(items[-1]) if more else None)

    def diff(
        self, execution_id: str, from_checkpoint: str, to_checkpoint: str | None = None
    ) -> StateDiff:
        """The state keys that differ between two checkpoints of an execution (``to``
        defaults to the head), each with its value before and after."""
        before = self.get_state(execution_id, from_checkpoint)
        after = self.get_state(execution_id, to_checkpoint)
        if to_checkpoint is None:
            to_checkpoint = self._ledger.current_head(self._ledger.fetch(execution_id))
        changes = []
        for key in sorted({*before, *after}):
            if key not in after:
                changes.append(StateChange(key=key, change="removed", before=before[key]))
            elif key not in before:
                changes.append(StateChange(key=key, change="added", after=after[key]))
            elif _differs(before[key], after[key]):
                changes.append(
                    StateChange(key=key, change="changed", before=before[key], after=after[key])
                )
        return StateDiff(
            execution_id=execution_id,
            from_checkpoint=from_checkpoint,
            to_checkpoint=to_checkpoint,
            changes=changes,
        )

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

    def snapshot(
        self, execution_id: str, checkpoint_id: str | None = None, *, subgraphs: bool = False
    ) -> StateSnapshot | None:
        """LangGraph's own ``StateSnapshot`` of the execution's thread: at ``checkpoint_id``,
        or at the head as ``get_state`` shows it (the live view; after a rollback, the
        checkpoint it went back to). ``None`` when the execution has no checkpoint yet.
        ``subgraphs``: tasks of subgraph nodes carry the subgraph's snapshot."""
        row = self._ledger.fetch(execution_id)
        graph = self._catalog.graph_of(row)
        if checkpoint_id is not None:
            snapshot = snapshot_at(graph, row.thread_id, checkpoint_id)
        else:
            head = self._ledger.current_head(row)
            if head is None:
                return None
            snapshot = head_snapshot(graph, row.thread_id, head, row.time_travel)
        if subgraphs and any(task.state is not None for task in snapshot.tasks):
            addressed = checkpoint_id is not None or row.time_travel
            config = snapshot.config if addressed else thread_config(row.thread_id)
            snapshot = graph.get_state(config, subgraphs=True)
        return snapshot

    def snapshots(
        self,
        execution_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[StateSnapshot]:
        """LangGraph's ``get_state_history`` of the execution's thread: every checkpoint of
        every branch (rollbacks leave branches behind), newest first; ``before`` a
        checkpoint id, ``metadata`` keeping checkpoints whose metadata has those values."""
        bad = [k for k in metadata or {} if not _METADATA_KEY.fullmatch(k)]
        if bad:
            raise InvalidInputError(
                f"metadata filter key(s) {', '.join(map(repr, bad))} are not valid: use letters, "
                "digits, '_', '.' and '-' (e.g. source, step)"
            )
        row = self._ledger.fetch(execution_id)
        graph = self._catalog.graph_of(row)
        return list(
            graph.get_state_history(
                thread_config(row.thread_id),
                filter=dict(metadata) if metadata else None,
                before=thread_config(row.thread_id, before) if before else None,
                limit=limit,
            )
        )

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

    def readiness(self) -> dict[str, str]:
        """``{"metadata": ..., "checkpoints": ...}``: ``"ok"`` for each store that answers a
        trivial read now, else what went wrong."""
        ledger = self._ledger

        def checkpoints() -> None:
            ledger.checkpoints.saver.get_tuple(_PROBE)

        probes: dict[str, Callable[[], None]] = {
            "metadata": ledger.metadata.ping,
            "checkpoints": checkpoints,
        }
        checks: dict[str, str] = {}
        for name, probe in probes.items():
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:  # a probe reports, it does not raise
                checks[name] = f"{type(exc).__name__}: {exc}"
        return checks


def _status_value(status: ExecutionStatus | str | None) -> str | None:
    if status is None:
        return None
    try:
        return ExecutionStatus(status).value
    except ValueError:
        allowed = ", ".join(s.value for s in ExecutionStatus)
        raise InvalidStateError(f"unknown status {status!r}: use one of {allowed}") from None
