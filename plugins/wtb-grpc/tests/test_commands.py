"""The plugin: its entry point, and ``wtb grpc serve`` added through
``wtb_register_commands``."""

from __future__ import annotations

from importlib.metadata import entry_points

from typer.testing import CliRunner

import wtb_grpc.plugin
from wtb_core.cli.app import build_app
from wtb_core.registry import PluginRegistry


def test_the_entry_point_names_the_plugin_module() -> None:
    [point] = [p for p in entry_points(group="wtb") if p.name == "grpc"]
    assert point.value == "wtb_grpc.plugin" and point.load() is wtb_grpc.plugin


def test_wtb_grpc_serve_is_a_command() -> None:
    app = build_app(PluginRegistry([wtb_grpc.plugin], load_entrypoints=False))
    result = CliRunner().invoke(app, ["grpc", "serve", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--project", "--port", "--token", "--tls-cert", "--tls-key", "--workers"):
        assert option in result.output


def test_serve_refuses_an_exposed_address_without_a_token(tmp_path) -> None:
    app = build_app(PluginRegistry([wtb_grpc.plugin], load_entrypoints=False))
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "d"), "grpc", "serve", "--host", "0.0.0.0"]
    )
    assert result.exit_code != 0
    assert "exposes the bench beyond this machine" in result.output


def test_loading_the_plugin_does_not_load_grpc() -> None:
    import subprocess
    import sys

    code = "import sys, wtb_grpc.plugin; print('grpc' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
