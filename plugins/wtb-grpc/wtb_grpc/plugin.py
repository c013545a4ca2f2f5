"""wtb-grpc's hook: the ``wtb grpc serve`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wtb_core.plugin import hookimpl

if TYPE_CHECKING:
    from typer import Typer


@hookimpl
def wtb_register_commands(cli: Typer) -> None:
    from wtb_grpc.commands import add_commands

    add_commands(cli)
