"""Rich renderings of the SDK's models, and their JSON form, for the ``wtb`` command line.

Every user-provided string goes into a ``Text`` (never parsed as rich markup). Tables show
the shortest checkpoint-id prefixes that are unique (at least 8 characters); ``--json``
output always carries full ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python
from rich.console import Group
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from pathlib import Path

    from wtb_core.batch.comparison import Comparison
    from wtb_core.batch.service import BatchTestResult
    from wtb_core.domain.models import AuditEntry, Checkpoint, ExecutionResult
    from wtb_core.registry import PluginInfo

STATUS_STYLES = {
    "pending": "dim",
    "running": "cyan",
    "paused": "yellow",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "interrupted": "bold red",
}
STATUS_COMPLETED = "completed"
MIN_ID = 8


def to_json(value: Any) -> str:
    """``value`` as indented JSON: pydantic models as ``model_dump(mode="json")`` would give,
    dataclasses as dicts, anything unknown as its ``str``."""
    return json.dumps(to_jsonable_python(value, fallback=str), indent=2, ensure_ascii=False)


def fmt_value(value: Any, limit: int | None = None) -> str:
    """A state value as compact JSON, cut to ``limit`` characters with an ellipsis."""
    text = json.dumps(to_jsonable_python(value, fallback=str), ensure_ascii=False)
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def short_ids(ids: Iterable[str | None]) -> dict[str, str]:
    """Each id's shortest prefix (at least ``MIN_ID`` characters) unique among ``ids``."""
    unique = sorted({i for i in ids if i})
    width = MIN_ID
    while len({i[:width] for i in unique}) < len(unique):
        width += 1
    return {i: i[:width] for i in unique}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def _joined(names: Sequence[str]) -> Text:
    return Text(", ".join(names) if names else "-")


def state_table(values: Mapping[str, Any], limit: int | None = None) -> Table:
    """One row per state key; values as JSON, cut to ``limit`` characters when given."""
    table = Table()
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in values.items():
        table.add_row(Text(key), Text(fmt_value(value, limit)))
    return table


def execution_table(result: ExecutionResult) -> Table:
    """The fields of one execution (its state is shown by ``state_table``)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("execution", Text(result.execution_id))
    table.add_row("project", Text(result.project))
    table.add_row("status", status_text(result.status.value))
    table.add_row("checkpoint", Text(result.checkpoint_id or "-"))
    table.add_row("next", _joined(result.next))
    for interrupt in result.interrupts:
        table.add_row("interrupt", Text(f"{interrupt.node}: {fmt_value(interrupt.value, 80)}"))
    if result.workflow_variant:
        table.add_row("workflow", Text(result.workflow_variant))
    if result.variant_config:
        variants = [f"{node}={name}" for node, name in result.variant_config.items()]
        table.add_row("variants", _joined(variants))
    if result.parent_execution_id:
        table.add_row("forked from", Text(result.parent_execution_id))
    table.add_row("duration", f"{result.duration_ms:.1f} ms")
    if result.error:
        table.add_row("error", Text(result.error, style="red"))
    return table


def execution_view(result: ExecutionResult) -> Group:
    """An execution's fields, then its state, if any (long values cut)."""
    if not result.state:
        return Group(execution_table(result))
    return Group(execution_table(result), state_table(result.state, limit=200))


def executions_table(results: Sequence[ExecutionResult]) -> Table:
    table = Table(title=f"{len(results)} execution(s)", title_justify="left")
    table.add_column("execution", no_wrap=True, min_width=16)
    table.add_column("project")
    table.add_column("status", no_wrap=True)
    table.add_column("next")
    table.add_column("forked from", no_wrap=True, min_width=16)
    table.add_column("created")
    table.add_column("ms", justify="right")
    for r in results:
        created = r.created_at.strftime("%m-%d %H:%M:%S") if r.created_at else "-"
        table.add_row(
            Text(r.execution_id),
            Text(r.project),
            status_text(r.status.value),
            _joined(r.next),
            Text(r.parent_execution_id or "-"),
            created,
            f"{r.duration_ms:.0f}",
        )
    return table


def changes(before: Mapping[str, Any], after: Mapping[str, Any], limit: int = 24) -> str:
    """``key=value`` for every key whose value differs from ``before``; a list that only
    grew (an ``operator.add`` reducer) as ``key+=[new items]``."""
    parts = []
    for key, value in after.items():
        old = before.get(key)
        if key in before and old == value:
            continue
        if isinstance(old, list) and old and isinstance(value, list) and value[: len(old)] == old:
            parts.append(f"{key}+={fmt_value(value[len(old) :], limit)}")
        else:
            parts.append(f"{key}={fmt_value(value, limit)}")
    return ", ".join(parts) or "-"


def _nodes_cell(checkpoint: Checkpoint) -> Text:
    if checkpoint.nodes:
        return _joined(checkpoint.nodes)
    return Text(f"({checkpoint.source})", style="dim")


def checkpoints_table(
    checkpoints: Sequence[Checkpoint],
    head: str | None = None,
    ids: Mapping[str, str] | None = None,
) -> Table:
    """Step, nodes that wrote each checkpoint, next nodes and the state it changed; the
    ``head`` is marked with an arrow. With ``ids`` (full id -> id to show) a checkpoint
    column is added."""
    table = Table()
    table.add_column("", width=1)
    table.add_column("step", justify="right")
    if ids is not None:
        table.add_column("checkpoint", no_wrap=True)
    table.add_column("nodes")
    table.add_column("next")
    table.add_column("state changes")
    by_id = {c.checkpoint_id: c for c in checkpoints}
    previous: Mapping[str, Any] = {}
    for cp in checkpoints:
        parent = by_id.get(cp.parent_checkpoint_id or "")
        before = parent.values if parent is not None else previous
        marker = Text("→", style="bold cyan") if cp.checkpoint_id == head else Text("")
        id_cell = [Text(ids[cp.checkpoint_id])] if ids is not None else []
        table.add_row(
            marker,
            str(cp.step),
            *id_cell,
            _nodes_cell(cp),
            _joined(cp.next),
            Text(changes(before, cp.values)),
        )
        previous = cp.values
    return table


def audit_table(entries: Sequence[AuditEntry], ids: Mapping[str, str]) -> Table:
    """One row per audit entry; ``ids`` maps full checkpoint ids to the ids to show."""
    table = Table(title=f"{len(entries)} audit entries", title_justify="left")
    for column in ("time", "event", "severity", "node", "checkpoint"):
        table.add_column(column, no_wrap=True)
    table.add_column("message", overflow="fold")
    for e in entries:
        table.add_row(
            e.timestamp.strftime("%H:%M:%S.%f")[:-3],
            Text(e.event_type),
            Text(e.severity.value, style="red" if e.severity.value == "error" else ""),
            Text(e.node or "-"),
            Text(ids.get(e.checkpoint_id or "", "-")),
            Text(e.message),
        )
    return table


def plugins_table(infos: Sequence[PluginInfo]) -> Table:
    table = Table(title=f"{len(infos)} plugin(s)", title_justify="left")
    for column in ("plugin", "version", "origin", "registers", "hooks"):
        table.add_column(column, overflow="fold")
    for info in infos:
        registers = [f"{kind}: {', '.join(names)}" for kind, names in info.registers.items()]
        table.add_row(
            Text(info.name),
            Text(info.version or "-"),
            Text(info.origin),
            Text("\n".join(registers) or "-"),
            Text("\n".join(info.hooks) or "-"),
        )
    return table


def wtb_command(data_dir: Path, command: str) -> str:
    """``wtb [--data-dir DIR] <command>``: the command line that finds ``data_dir`` again."""
    from wtb_core.config import DEFAULT_DATA_DIR

    flag = "" if data_dir == DEFAULT_DATA_DIR else f" --data-dir {data_dir}"
    return f"wtb{flag} {command}"


def failed_rows(batch: BatchTestResult) -> int:
    """How many of the batch's rows are of cells whose execution did not complete."""
    return sum(row.status.value != STATUS_COMPLETED for row in batch.results)


def batch_summary(batch: BatchTestResult) -> dict[str, Any]:
    """A batch's fields without its rows, as ``--json`` prints them."""
    return {
        "batch_id": batch.batch_id,
        "project": batch.project,
        "status": batch.status.value,
        "rows": len(batch.results),
        "total_cells": batch.total_cells,
        "failed_rows": failed_rows(batch),
        "created_at": batch.created_at,
        "error": batch.error,
        "warning": batch.warning,
    }


def batch_json(batch: BatchTestResult, comparison: Comparison) -> dict[str, Any]:
    """A batch's fields, every row, and its comparison."""
    return {
        **batch_summary(batch),
        "results": [row.model_dump(mode="json") for row in batch.results],
        "comparison": comparison.to_dict(),
    }


def _rows_cell(batch: BatchTestResult) -> Text:
    failed = failed_rows(batch)
    text = Text(f"{len(batch.results)}/{batch.total_cells}")
    if failed:
        text.append(f" ({failed} failed)", style="red")
    return text


def batch_table(batch: BatchTestResult) -> Table:
    """The fields of one batch (its comparison is printed on its own)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("batch", Text(batch.batch_id))
    table.add_row("project", Text(batch.project))
    table.add_row("status", status_text(batch.status.value))
    table.add_row("rows", _rows_cell(batch))
    table.add_row("created", batch.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    if batch.error:
        table.add_row("error", Text(batch.error, style="red"))
    if batch.warning:
        table.add_row("warning", Text(batch.warning, style="yellow"))
    return table


def batch_view(batch: BatchTestResult, comparison: Comparison) -> Group:
    """A batch's fields, then its comparison when it has rows."""
    if not comparison.combinations:
        return Group(batch_table(batch))
    return Group(batch_table(batch), comparison)


def batches_table(batches: Sequence[BatchTestResult]) -> Table:
    table = Table(title=f"{len(batches)} batch(es)", title_justify="left")
    table.add_column("batch", no_wrap=True, min_width=16)
    table.add_column("project")
    table.add_column("status", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for b in batches:
        table.add_row(
            Text(b.batch_id),
            Text(b.project),
            status_text(b.status.value),
            _rows_cell(b),
            b.created_at.strftime("%m-%d %H:%M:%S"),
        )
    return table
