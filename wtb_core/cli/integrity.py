"""``wtb integrity [--json] [--deep] [--repair] [--yes]``: check that the metadata database,
the checkpoint store and the tracked files agree; exit 0 when clean, 1 when problems are
left. ``--repair`` applies the safe repairs first (deletions only with ``--yes``; a dry
run lists them otherwise) and prints what it did above what is left."""

from __future__ import annotations

from typing import Annotated

import typer

from wtb_core.cli.common import JsonFlag, session


def integrity(
    ctx: typer.Context,
    deep: Annotated[
        bool, typer.Option("--deep", help="Hash every blob, not a random sample.")
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Apply the safe repairs: settle cut-off operations, fail stuck executions, "
            "re-link or drop dangling file links; deletions need --yes.",
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            help="With --repair: delete orphan threads and the cell executions a killed "
            "batch left (otherwise listed as a dry run).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check the stores agree (executions, checkpoints, batch rows, file snapshots, blobs,
    the outbox); exit 1 when problems are left."""
    s = session(ctx, as_json)
    report = (
        s.bench.repair_integrity(yes=yes, deep=deep) if repair else s.bench.check_integrity(deep)
    )
    s.show(report, lambda: report)
    if not report.clean:
        raise typer.Exit(1)


def add_commands(app: typer.Typer) -> None:
    app.command()(integrity)
