"""Saying what is wrong with a setting.

An ``InvalidSettingError`` message names the setting, where its value came from (an
argument, ``wtb.toml``, a ``WTB_*`` variable, the default), the value (a database URL's
password hidden) and what to do; an unknown setting gets the closest known name. Also the
description of a file that is not UTF-8, which every reader of a user's file shares.
"""

from __future__ import annotations

import os
import re
import tomllib
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wtb_core.errors import ConfigurationError

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

ENV_PREFIX = "WTB_"


class InvalidSettingError(ConfigurationError, ValueError):
    """A ``StackConfig`` setting is unknown or has a bad value, or ``wtb.toml`` cannot be
    read. Also a ``ValueError``, as pydantic's ``ValidationError`` it replaces was."""


def not_utf8(exc: UnicodeDecodeError) -> str:
    """``not UTF-8 text (byte 0xff on line 3)`` for a file's decode error."""
    data = bytes(exc.object)
    line = data[: exc.start].count(b"\n") + 1
    return f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})"


def hide_password(url: str) -> str:
    """``url`` with its password, if any, shown as ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1)).geturl()


def _toml_settings(path: Path) -> dict[str, Any]:
    """The settings ``path`` holds (nothing when it cannot be read)."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, ValueError):
        return {}


def _env_variable(setting: str) -> str | None:
    """The name of the set environment variable that fills ``setting``, if one is set."""
    wanted = f"{ENV_PREFIX}{setting}".upper()
    return next((name for name in os.environ if name.upper() == wanted), None)


def _shown(setting: str, value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if setting == "database_url" and isinstance(value, str):
        value = hide_password(value)
    return repr(value)


def invalid_settings(
    exc: ValidationError, given: dict[str, Any], settings: list[str], toml_path: Path
) -> str:
    """One sentence per problem of ``exc``: the setting, where it came from, its value,
    what to do. ``given``: the arguments; ``settings``: every setting's name; ``toml_path``:
    the settings file read."""
    in_toml = _toml_settings(toml_path)
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]] or ["?"]
        setting, path = loc[0], ".".join(loc)
        variable = _env_variable(setting)
        if setting in given:
            source, fix = "given as an argument", "pass a valid value"
        elif setting in in_toml:
            source, fix = f"in {toml_path}", f"fix it in {toml_path}"
        elif variable:
            source, fix = f"from environment variable {variable}", f"fix or unset {variable}"
        else:
            variable = f"{ENV_PREFIX}{setting.upper()}"
            source, fix = "the default", f"set {variable} or {setting} in {toml_path}"
        if error["type"] == "extra_forbidden":
            close = get_close_matches(setting, settings, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"unknown setting {setting!r} {source}{guess}; the settings are "
                + ", ".join(settings)
            )
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        problems.append(
            f"invalid setting {path} = {_shown(setting, error['input'])} ({source}): "
            f"{message}; {fix}"
        )
    return "; ".join(problems)


def unparsable_setting(exc: SettingsError) -> str:
    """pydantic-settings could not parse a value (a list setting is JSON in a variable)."""
    match = re.search(r'field "(\w+)" from source "(\w+)"', str(exc))
    if not match:
        return f"invalid settings: {exc}"
    setting, source = match.groups()
    variable = _env_variable(setting) if source == "EnvSettingsSource" else None
    if variable:
        return (
            f"invalid setting {setting} = {os.environ[variable]!r} (from environment variable "
            f'{variable}): a list is JSON there, such as \'["first", "second"]\'; fix or '
            f"unset {variable}"
        )
    return f"invalid setting {setting} ({source}): {exc}"


def settings_error(exc: ValidationError, section: str, help_command: str) -> ConfigurationError:
    """A settings model's ``ValidationError`` as the ``ConfigurationError`` a user reads:
    every bad field with pydantic's reason, and the command whose ``--help`` lists them."""
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or section}: {e['msg']}" for e in exc.errors()
    )
    return ConfigurationError(f"bad {section} setting ({problems}); see `{help_command} --help`")
