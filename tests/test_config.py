"""StackConfig precedence and the bench's creation modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import ConfigurationError, StackConfig, WTBTestBench
from wtb_core.config import NodeResourceConfig, parse_memory


def test_arguments_beat_wtb_toml_which_beats_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WTB_BATCH_RUNNER", "sequential")
    monkeypatch.setenv("WTB_FILE_TRACKER", "cas")
    assert StackConfig().batch_runner == "sequential"
    (tmp_path / "wtb.toml").write_text('batch_runner = "ray"\ndata_dir = "elsewhere"\n')
    config = StackConfig()
    assert config.batch_runner == "ray"  # wtb.toml beats the environment
    assert config.file_tracker == "cas"  # environment fills what the file leaves out
    assert config.data_dir == Path("elsewhere")
    assert StackConfig(batch_runner="threadpool").batch_runner == "threadpool"


def test_wtb_config_names_another_file(tmp_path, monkeypatch):
    (tmp_path / "prod.toml").write_text('checkpoint_store = "memory"\n')
    monkeypatch.setenv("WTB_CONFIG", str(tmp_path / "prod.toml"))
    assert StackConfig().checkpoint_store == "memory"


def test_an_unknown_setting_is_refused(tmp_path):
    (tmp_path / "wtb.toml").write_text('chekpoint_store = "sqlite"\n')
    with pytest.raises(ValueError, match="chekpoint_store"):
        StackConfig()


def test_defaults_are_the_embedded_stack():
    config = StackConfig()
    assert (config.checkpoint_store, config.batch_runner, config.file_tracker) == (
        "sqlite",
        "threadpool",
        "none",
    )
    assert config.metadata_url().endswith("/.wtb/wtb.sqlite")


def test_testing_mode_keeps_everything_in_memory(tmp_path):
    with WTBTestBench.create(mode="testing", load_entrypoints=False) as bench:
        assert bench.config.checkpoint_store == "memory"
        result = bench.run(register(bench, workflows.linear), {})
        assert len(bench.get_checkpoints(result.execution_id)) == 5
    assert not (tmp_path / ".wtb").exists()


def test_development_mode_is_sqlite_in_the_data_dir(data_dir):
    with WTBTestBench.create(mode="development", data_dir=data_dir, load_entrypoints=False) as b:
        b.run(register(b, workflows.linear), {})
    assert (data_dir / "wtb.sqlite").exists() and (data_dir / "checkpoints.sqlite").exists()


def test_production_mode_reads_the_environment_and_refuses_memory(monkeypatch, data_dir):
    monkeypatch.setenv("WTB_CHECKPOINT_STORE", "memory")
    with pytest.raises(ConfigurationError, match="production mode keeps nothing in memory"):
        WTBTestBench.create(mode="production", load_entrypoints=False)
    monkeypatch.setenv("WTB_CHECKPOINT_STORE", "sqlite")
    monkeypatch.setenv("WTB_DATA_DIR", str(data_dir))
    with WTBTestBench.create(mode="production", load_entrypoints=False) as bench:
        assert bench.config.data_dir == data_dir
    with pytest.raises(ConfigurationError, match="unknown mode 'staging'"):
        WTBTestBench.create(mode="staging")  # type: ignore[arg-type]


def test_memory_sizes_parse():
    assert parse_memory("2GB") == 2_000_000_000
    assert parse_memory("512MiB") == 512 * 2**20
    assert NodeResourceConfig(memory="1.5G").memory_bytes() == 1_500_000_000
    with pytest.raises(ValueError, match="is not a size"):
        NodeResourceConfig(memory="lots")
