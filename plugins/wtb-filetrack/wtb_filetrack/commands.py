"""``wtb files`` and ``wtb gc``.

``wtb files EXEC`` (short for ``wtb files list EXEC``) lists an execution's file snapshots;
``wtb files diff EXEC CP_A CP_B`` shows the paths added, modified and deleted between two
checkpoints (full ids or unique prefixes of snapshot checkpoints); ``wtb gc`` frees the
blobs no snapshot references. They read the metadata database and the blob store, so they
work whatever ``WTB_FILE_TRACKER`` the command line runs with.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from wtb_core.plugin import CommandLineError, ExecArg, JsonFlag, session, short_ids
from wtb_filetrack.diff import SnapshotDiff, diff_snapshots
from wtb_filetrack.gc import GcReport, collect_garbage

if TYPE_CHECKING:
    from typer._click import Context as ClickContext

    from wtb_core import WTBTestBench

LIST = "list"
SnapshotArg = Annotated[
    str, typer.Argument(help="Checkpoint id, or a unique prefix of a snapshot's checkpoint.")
]


class _FilesGroup(TyperGroup):
    """``wtb files``: a first argument that is not a subcommand starts ``list``, so
    ``wtb files EXEC`` is ``wtb files list EXEC``."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [LIST, *args]
        return super().parse_args(ctx, args)


def list_snapshots(ctx: typer.Context, execution_id: ExecArg, as_json: JsonFlag = False) -> None:
    """List an execution's file snapshots, oldest first: checkpoint, commit, files, bytes."""
    s = session(ctx, as_json)
    s.bench.get_execution(execution_id)
    rows = [
        {
            "checkpoint_id": snapshot.checkpoint_id,
            "commit_id": snapshot.commit.id,
            "files": snapshot.commit.file_count,
            "bytes": snapshot.commit.total_bytes,
            "created_at": snapshot.created_at,
        }
        for snapshot in s.bench.stack.metadata.file_snapshots(execution_id)
    ]
    s.show(rows, lambda: _snapshots_table(execution_id, rows))


def _snapshots_table(execution_id: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(rows)} file snapshots of {execution_id}", title_justify="left")
    for column in ("checkpoint", "commit"):
        table.add_column(column, no_wrap=True)
    for column in ("files", "bytes"):
        table.add_column(column, justify="right")
    table.add_column("taken", no_wrap=True)
    ids = short_ids(r["checkpoint_id"] for r in rows)
    for r in rows:
        table.add_row(
            ids[r["checkpoint_id"]],
            r["commit_id"][:12],
            str(r["files"]),
            f"{r['bytes']:,}",
            r["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
        )
    return table


def diff(
    ctx: typer.Context,
    execution_id: ExecArg,
    checkpoint_a: SnapshotArg,
    checkpoint_b: SnapshotArg,
    as_json: JsonFlag = False,
) -> None:
    """Show the tracked paths added, modified and deleted from CP_A to CP_B."""
    s = session(ctx, as_json)
    s.bench.get_execution(execution_id)
    found = diff_snapshots(
        s.bench,
        execution_id,
        _resolve(s.bench, execution_id, checkpoint_a),
        _resolve(s.bench, execution_id, checkpoint_b),
    )
    s.show(asdict(found), lambda: _diff_text(found))


def _resolve(bench: WTBTestBench, execution_id: str, given: str) -> str:
    """A snapshot checkpoint ``given`` is a unique prefix of; else ``given`` itself (the
    snapshot at or before it is used)."""
    ids = bench.stack.metadata.file_snapshot_links(execution_id)
    if given in ids:
        return given
    matches = sorted(i for i in ids if i.startswith(given))
    if len(matches) > 1:
        raise CommandLineError(
            f"checkpoint prefix {given!r} matches {len(matches)} file snapshots of execution "
            f"{execution_id} ({', '.join(matches[:3])}…); give more characters"
        )
    return matches[0] if matches else given


def _diff_text(found: SnapshotDiff) -> Text:
    text = Text(f"{found.checkpoint_a} → {found.checkpoint_b}\n", style="bold")
    for sign, style, paths in (
        ("+", "green", found.added),
        ("~", "yellow", found.modified),
        ("-", "red", found.deleted),
    ):
        for path in paths:
            text.append(f"{sign} {path}\n", style=style)
    text.append(
        f"{len(found.added)} added, {len(found.modified)} modified, {len(found.deleted)} deleted"
    )
    return text


def gc(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Delete file commits and blobs no snapshot references (after `delete_execution`)."""
    s = session(ctx, as_json)
    report = collect_garbage(s.bench)
    s.show(asdict(report), lambda: _gc_text(report))


def _gc_text(report: GcReport) -> Text:
    text = Text(
        f"deleted {report.commits_deleted} file commits and {report.blobs_deleted} blobs, "
        f"freed {report.bytes_freed:,} bytes; kept {report.blobs_kept} referenced blobs"
    )
    if report.recent_kept:
        text.append(
            f" and {report.recent_kept} recent ones (executions are running: run gc again "
            "when they finish)"
        )
    return text


def add_commands(cli: typer.Typer) -> None:
    """Add the ``files`` group and the ``gc`` command to the ``wtb`` app."""
    group = typer.Typer(
        cls=_FilesGroup,
        no_args_is_help=True,
        help="Tracked files: an execution's file snapshots, and diffs between checkpoints. "
        "'wtb files EXEC' is short for 'wtb files list EXEC'.",
    )
    group.command(LIST)(list_snapshots)
    group.command("diff")(diff)
    cli.add_typer(group, name="files")
    cli.command("gc")(gc)
