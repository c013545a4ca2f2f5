"""The plugin system: in-process plugins, entry points, name clashes, misspelt hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import PluginError, PluginNotFoundError, StackConfig, WTBTestBench, hookimpl
from wtb_core.builtins.checkpoint_stores import MemoryCheckpointStore
from wtb_core.registry import PluginRegistry

WTB = Path(sys.executable).parent / "wtb"


class CountingStore(MemoryCheckpointStore):
    name = "counting"
    created = 0

    def __init__(self, config):
        super().__init__(config)
        CountingStore.created += 1


class StorePlugin:
    def __init__(self):
        self.heard = []

    @hookimpl
    def wtb_register_checkpoint_stores(self, register):
        register("counting", CountingStore)

    @hookimpl
    def wtb_on_event(self, event):
        self.heard.append(event.type.value)


def test_an_in_process_plugin_registers_a_store_and_hears_events(data_dir):
    plugin = StorePlugin()
    config = StackConfig(data_dir=data_dir, checkpoint_store="counting")
    with WTBTestBench(config=config, plugins=[plugin], load_entrypoints=False) as bench:
        assert isinstance(bench.stack.checkpoints, CountingStore)
        result = bench.run(register(bench, workflows.linear), {})
    assert result.status == "completed"
    assert CountingStore.created >= 1
    assert "node_completed" in plugin.heard and "checkpoint_created" in plugin.heard


def test_a_name_registered_twice_names_both_plugins():
    class Again:
        @hookimpl
        def wtb_register_checkpoint_stores(self, register):
            register("sqlite", MemoryCheckpointStore)

    with pytest.raises(
        PluginError, match=r"'sqlite' is registered twice: by .*checkpoint_stores.* and by"
    ):
        PluginRegistry([Again()], load_entrypoints=False)


def test_an_unknown_name_lists_the_available_ones_and_the_package(data_dir):
    config = StackConfig(data_dir=data_dir, checkpoint_store="postgres")
    with pytest.raises(
        PluginNotFoundError,
        match=r"checkpoint store 'postgres' is not installed: pip install wtb-postgres "
        r"\(available: memory, sqlite\)",
    ):
        WTBTestBench(config=config, load_entrypoints=False)
    with pytest.raises(PluginNotFoundError, match="unknown file tracker 'git'"):
        WTBTestBench(
            config=StackConfig(data_dir=data_dir, file_tracker="git"), load_entrypoints=False
        )
    assert not (data_dir / "wtb.sqlite").exists()  # nothing was created


def test_a_misspelt_hook_fails_loudly():
    class Typo:
        @hookimpl
        def wtb_register_checkpoint_store(self, register):  # missing the final "s"
            pass

    with pytest.raises(PluginError, match="does not define"):
        PluginRegistry([Typo()], load_entrypoints=False)


def test_builtins_use_the_same_registration_path():
    registry = PluginRegistry(load_entrypoints=False)
    assert registry.names("checkpoint_store") == ["memory", "sqlite"]
    assert registry.names("environment_provider") == ["inprocess"]
    assert registry.names("file_tracker") == ["none"]
    described = {p.name: p for p in registry.describe(include_builtins=True)}
    assert described["wtb_core.builtins.checkpoint_stores"].registers == {
        "checkpoint_store": ["memory", "sqlite"]
    }
    assert registry.describe() == []


def test_the_sample_plugin_is_not_installed():
    """It exists for the tests below; a user's ``wtb --help`` must not list its command."""
    assert "sample" not in entry_points(group="wtb").names, (
        "wtb-sample-plugin is installed in this environment, but it is for the tests only: "
        "uv pip uninstall wtb-sample-plugin"
    )


def test_the_sample_plugin_is_discovered_through_its_entry_point(monkeypatch, sample_plugin):
    monkeypatch.delenv("WTB_LOAD_PLUGINS")
    registry = PluginRegistry()
    assert "sample_answer_length" in registry.names("evaluator")
    [sample] = [p for p in registry.describe() if p.name == "sample"]
    assert sample.origin == "entry point" and sample.version == "0.0.1"

    monkeypatch.setenv("WTB_DISABLE_PLUGINS", "sample")
    assert "sample_answer_length" not in PluginRegistry().names("evaluator")
    monkeypatch.delenv("WTB_DISABLE_PLUGINS")
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    assert "sample_answer_length" not in PluginRegistry().names("evaluator")


def _wtb(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WTB_")}
    return subprocess.run(
        [str(WTB), *args], capture_output=True, text=True, env={**environment, **env}, timeout=60
    )


def test_wtb_plugins_shows_the_entry_point_plugin(sample_plugin):
    listed = _wtb("plugins", "--json", **sample_plugin)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins["sample"]["version"] == "0.0.1"
    assert plugins["sample"]["registers"] == {"evaluator": ["sample_answer_length"]}
    assert "wtb_register_commands" in plugins["sample"]["hooks"]
    assert not any(name.startswith("wtb_core.builtins") for name in plugins)
    everything = json.loads(_wtb("plugins", "--all", "--json", **sample_plugin).stdout)
    assert any(p["name"] == "wtb_core.builtins.checkpoint_stores" for p in everything)


def test_a_plugin_adds_a_cli_command(sample_plugin):
    said = _wtb("sample-hello", **sample_plugin)
    assert said.returncode == 0, said.stderr
    assert said.stdout.strip() == "hello from wtb-sample-plugin"
    assert "sample-hello" in _wtb("--help", WTB_LOAD_PLUGINS="sample", **sample_plugin).stdout
    refused = _wtb("sample-hello", WTB_DISABLE_PLUGINS="sample", **sample_plugin)
    assert (refused.returncode, refused.stderr) == (
        1,
        "error: no such command 'sample-hello'; see 'wtb --help'\n",
    )
    assert "sample-hello" not in _wtb("--help", WTB_LOAD_PLUGINS="sample").stdout  # no fixture
