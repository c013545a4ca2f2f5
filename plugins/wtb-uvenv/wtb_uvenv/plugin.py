"""wtb-uvenv's hooks: environment provider ``uv`` and the ``wtb envs`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wtb_core.plugin import EnvironmentProviderRegister, hookimpl

if TYPE_CHECKING:
    from typer import Typer


@hookimpl
def wtb_register_environment_providers(register: EnvironmentProviderRegister) -> None:
    from wtb_uvenv.provider import UvEnvironmentProvider

    register(UvEnvironmentProvider.name, UvEnvironmentProvider)


@hookimpl
def wtb_register_commands(cli: Typer) -> None:
    from wtb_uvenv.cli import add_commands

    add_commands(cli)
