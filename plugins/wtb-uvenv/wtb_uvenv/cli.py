"""``wtb envs list`` and ``wtb envs gc [--older-than 7d]``.

They read the environment root (``WTB_UVENV_ENV_ROOT``, default ``<data dir>/envs``)
directly, so they work whatever environment provider the command line runs with.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from wtb_core import StackConfig
from wtb_core.plugin import JsonFlag, session
from wtb_uvenv.gc import GcReport, collect_garbage, parse_duration
from wtb_uvenv.settings import UvEnvSettings
from wtb_uvenv.usage import EnvInfo, list_envs

OlderThan = Annotated[
    str,
    typer.Option(
        "--older-than", help="Remove environments not used for this long: 90s, 30m, 12h, 7d, 2w."
    ),
]


def _root(ctx: typer.Context) -> Path:
    data_dir = session(ctx).data_dir or StackConfig().data_dir
    return UvEnvSettings().located(data_dir).root


def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the uv environments: key, spec, size, last use, and who uses them."""
    s = session(ctx, as_json)
    root = _root(ctx)
    envs = list_envs(root)
    s.show([asdict(info) for info in envs], lambda: _table(root, envs))


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _table(root: Path, envs: list[EnvInfo]) -> Table:
    table = Table(title=f"{len(envs)} uv environments in {root}", title_justify="left")
    for column in ("key", "spec", "resolved", "size", "last used", "used by"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for info in envs:
        users = ", ".join(
            f"{u['project']}/{u['node']}" + (f":{u['variant']}" if u.get("variant") else "")
            for u in info.used_by
        )
        requested = [*info.spec.get("dependencies", [])]
        if info.spec.get("requirements_file"):
            requested.append(f"-r {info.spec['requirements_file']}")
        table.add_row(
            info.key[:12],
            " ".join([f"python {info.spec.get('python', '?')}", *requested]),
            " ".join(info.packages) or "-",
            f"{info.size_bytes / 1e6:.1f} MB",
            "in use" if info.in_use else _when(info.last_used),
            users or "-",
        )
    return table


def gc_command(ctx: typer.Context, older_than: OlderThan = "7d", as_json: JsonFlag = False) -> None:
    """Remove environments not used for --older-than (default 7d); never one in use."""
    s = session(ctx, as_json)
    root = _root(ctx)
    report = collect_garbage(root, parse_duration(older_than))
    s.show(asdict(report), lambda: _gc_text(report, older_than))


def _gc_text(report: GcReport, older_than: str) -> Text:
    text = Text(
        f"removed {len(report.removed)} environments unused for {older_than} "
        f"({report.bytes_freed / 1e6:.1f} MB); kept {len(report.kept_recent)} recent and "
        f"{len(report.kept_in_use)} in use"
    )
    if report.half_built_removed:
        text.append(f"; removed {report.half_built_removed} half-built directories")
    return text


def add_commands(cli: typer.Typer) -> None:
    """Add the ``envs`` group to the ``wtb`` app."""
    group = typer.Typer(no_args_is_help=True, help="uv environments of wtb-uvenv.")
    group.command("list")(list_command)
    group.command("gc")(gc_command)
    cli.add_typer(group, name="envs")
