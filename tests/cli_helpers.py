"""Driving the ``wtb`` command line in tests (typer's CliRunner)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from wtb_core.cli.app import build_app

Invoke = Callable[..., Result]


def cli(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """``invoke(*args)``: the CLI on ``data_dir``, no entry-point plugins, wide tables."""
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables wide enough not to wrap names
    app = build_app()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(data_dir), *args])

    return invoke


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def as_json(wtb: Invoke, *args: str) -> Any:
    return json.loads(ok(wtb("--json", *args)).stdout)


def assert_error(result: Result, *fragments: str) -> None:
    """Exit 1 and exactly one ``error:`` line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]
