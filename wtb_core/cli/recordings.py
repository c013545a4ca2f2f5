"""``wtb recordings list | show NAME | delete NAME | export NAME FILE | import FILE``: the
recordings of node outputs in the data directory (``bench.list_recordings`` and friends)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wtb_core.cli import render
from wtb_core.cli.common import JsonFlag, session
from wtb_core.storage.recordings import Recording, RecordingEntry

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Recording name (a batch id too).")]
OUTPUT_WIDTH = 60


def _recordings_table(recordings: list[Recording]) -> Table:
    table = Table(title=f"{len(recordings)} recording(s)", title_justify="left")
    for column in ("name", "project", "entries", "nodes", "updated"):
        table.add_column(column)
    for r in recordings:
        nodes = ", ".join(f"{node} ({count})" for node, count in r.nodes.items())
        updated = r.updated_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(r.name, r.project or "", str(r.entries), nodes, updated)
    return table


def _entries_table(recording: Recording, entries: list[RecordingEntry]) -> Table:
    title = f"recording {recording.name}: {len(entries)} output(s), made by {recording.source}"
    table = Table(title=title, title_justify="left")
    for column in ("node", "variant", "key", "bytes", "output"):
        table.add_column(column, overflow="fold")
    for e in entries:
        output = render.fmt_value(e.output, OUTPUT_WIDTH)
        table.add_row(e.node, e.variant, e.key, str(e.size), output)
    return table


def list_recordings(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the recordings, newest first."""
    s = session(ctx, as_json)
    recordings = s.bench.list_recordings()
    s.show(recordings, lambda: _recordings_table(recordings))


def show_recording(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Show a recording's outputs: node, variant, input key, size and the output."""
    s = session(ctx, as_json)
    recording = s.bench.get_recording(name)
    entries = s.bench.recording_entries(name)
    s.show(
        {"recording": recording, "entries": entries},
        lambda: _entries_table(recording, entries),
    )


def delete_recording(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Delete a recording and its outputs."""
    s = session(ctx, as_json)
    s.bench.delete_recording(name)
    s.show({"deleted": name}, lambda: f"deleted recording {name}")


def export_recording(
    ctx: typer.Context,
    name: NameArg,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The JSON file to write.")],
    as_json: JsonFlag = False,
) -> None:
    """Write a recording to a JSON file (to commit next to the tests that replay it)."""
    s = session(ctx, as_json)
    written = s.bench.export_recording(name, path)
    s.show({"exported": name, "path": str(written)}, lambda: f"wrote {name} to {written}")


def import_recording(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A file 'export' wrote.")],
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="Store it as NAME (default: its own).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Store the recording in a file 'wtb recordings export' wrote."""
    s = session(ctx, as_json)
    recording = s.bench.import_recording(path, name)
    s.show(recording, lambda: f"imported {recording.entries} output(s) as {recording.name}")


def add_commands(app: typer.Typer) -> None:
    """Add the ``recordings`` group to ``app``."""
    group = typer.Typer(
        no_args_is_help=True,
        help="Recorded node outputs: list, show, delete, export to and import from files.",
    )
    group.command("list")(list_recordings)
    group.command("show")(show_recording)
    group.command("delete")(delete_recording)
    group.command("export")(export_recording)
    group.command("import")(import_recording)
    app.add_typer(group, name="recordings")
