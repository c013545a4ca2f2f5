"""``wtb envs list`` / ``wtb envs gc``, and the plugin's registration through its entry point."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import wtb_uvenv.plugin
from wtb_core import StackConfig, WorkflowProject, WTBTestBench
from wtb_core.cli.app import build_app
from wtb_core.config import EnvironmentConfig, EnvSpec
from wtb_core.registry import PluginRegistry
from wtb_uvenv.build import TMP_PREFIX

from .conftest import TOMLI_NEW, chain, uvenv_nodes


@pytest.fixture
def wtb(tmp_path, monkeypatch):
    """``wtb(*args)``: the command line over this test's data dir and its own env root."""
    monkeypatch.setenv("WTB_UVENV_ENV_ROOT", str(tmp_path / "own-envs"))
    app = build_app(PluginRegistry([wtb_uvenv.plugin], load_entrypoints=False))
    runner = CliRunner()

    def invoke(*args: str) -> object:
        result = runner.invoke(app, ["--data-dir", str(tmp_path / "data"), *args])
        return result

    return invoke


def _as_json(result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_envs_list_and_gc_never_remove_an_environment_in_use(wtb, make_bench, tmp_path):
    bench = make_bench()
    env = EnvironmentConfig(
        granularity="variant",
        default_env=EnvSpec(dependencies=[f"tomli=={TOMLI_NEW}"]),
    )
    project = WorkflowProject("listed", chain(("report", uvenv_nodes.report)), environment=env)
    project.register_variant(node="report", name="again", implementation=uvenv_nodes.report)
    bench.register_project(project)
    assert bench.run("listed", {}).error is None
    assert bench.run("listed", {}, variant_config={"report": "again"}).error is None

    [info] = _as_json(wtb("envs", "list", "--json"))
    assert info["packages"] == [f"tomli=={TOMLI_NEW}"] and info["in_use"] is True
    assert info["spec"]["dependencies"] == [f"tomli=={TOMLI_NEW}"] and info["size_bytes"] > 0
    users = sorted((u["project"], u["node"], u["variant"] or "") for u in info["used_by"])
    assert users == [("listed", "report", ""), ("listed", "report", "again")]
    table = wtb("envs", "list")
    assert info["key"][:12] in table.stdout and "in use" in table.stdout

    (tmp_path / "own-envs" / f"{TMP_PREFIX}{info['key']}-deadbeef").mkdir()  # a crashed build
    report = _as_json(wtb("envs", "gc", "--older-than", "0s", "--json"))
    assert report["kept_in_use"] == [info["key"]] and report["half_built_removed"] == 1

    bench.close()
    assert _as_json(wtb("envs", "gc", "--older-than", "1d", "--json"))["kept_recent"] == [
        info["key"]
    ]
    removed = _as_json(wtb("envs", "gc", "--older-than", "0s", "--json"))
    assert removed["removed"] == [info["key"]] and removed["bytes_freed"] > 0
    assert _as_json(wtb("envs", "list", "--json")) == []
    assert not (tmp_path / "own-envs" / info["key"]).exists()


def test_gc_refuses_a_malformed_duration(wtb):
    result = wtb("envs", "gc", "--older-than", "soon")
    assert result.exit_code != 0
    assert "not a duration" in result.output


def test_it_registers_alongside_wtb_ray_which_keeps_provider_ray():
    wtb_ray = pytest.importorskip("wtb_ray.plugin")
    registry = PluginRegistry([wtb_uvenv.plugin, wtb_ray], load_entrypoints=False)
    assert {"inprocess", "ray", "uv"} <= set(registry.names("environment_provider"))


def test_the_entry_point_registers_provider_uv(monkeypatch, tmp_path):
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "uv")  # this plugin's entry point only
    assert "uv" in PluginRegistry().names("environment_provider")
    monkeypatch.setenv("WTB_ENVIRONMENT_PROVIDER", "uv")
    with WTBTestBench(config=StackConfig(data_dir=tmp_path / "data")) as bench:
        assert type(bench.stack.environment).__name__ == "UvEnvironmentProvider"
