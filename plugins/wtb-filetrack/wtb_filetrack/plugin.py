"""wtb-filetrack's hooks: the ``cas`` file tracker and the ``files`` / ``gc`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wtb_core.plugin import FileTrackerRegister, hookimpl
from wtb_filetrack.tracker import CasFileTracker

if TYPE_CHECKING:
    from typer import Typer


@hookimpl
def wtb_register_file_trackers(register: FileTrackerRegister) -> None:
    register(CasFileTracker.name, CasFileTracker)


@hookimpl
def wtb_register_commands(cli: Typer) -> None:
    from wtb_filetrack.commands import add_commands

    add_commands(cli)
