"""wtb-filetrack's hooks: the ``cas`` file tracker and the ``files`` / ``gc`` commands."""

from __future__ import annotations

from typing import Any

from wtb_core import hookimpl
from wtb_core.hookspecs import Register
from wtb_filetrack.tracker import CasFileTracker


@hookimpl
def wtb_register_file_trackers(register: Register) -> None:
    register(CasFileTracker.name, CasFileTracker)


@hookimpl
def wtb_register_commands(cli: Any) -> None:
    from wtb_filetrack.commands import add_commands

    add_commands(cli)
