"""Which file tracker a stack uses when the configuration names none: the only one
installed; none when none is; an error listing them when several are."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests import workflows
from tests.conftest import register
from tests.test_ports import RecordingTracker
from wtb_core import ConfigurationError, StackConfig, WTBTestBench, hookimpl
from wtb_core.cli.app import build_app
from wtb_core.config import FileTrackingConfig
from wtb_core.registry import PluginRegistry

TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out/"])


class Tracker(RecordingTracker):
    """``tests.test_ports``'s recording tracker, named by whatever registers it."""

    name = None


class TrackerPlugin:
    """Registers one file tracker named ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def wtb_register_file_trackers(self, register):
        register(self.name, Tracker)


def bench_with(data_dir, *trackers: str, **config) -> WTBTestBench:
    return WTBTestBench(
        config=StackConfig(data_dir=data_dir, **config),
        plugins=[TrackerPlugin(name) for name in trackers],
        load_entrypoints=False,
    )


def test_the_only_installed_tracker_is_used_when_none_is_named(data_dir):
    with bench_with(data_dir, "recording") as bench:
        assert bench.stack.file_tracker.name == "recording"
        assert bench.stack.file_tracker_choice.describe() == (
            "file tracker: recording (the only one installed)"
        )
        result = bench.run(register(bench, workflows.linear, file_tracking=TRACKING), {})
        assert result.status == "completed"
        snapshots = [c for c in bench.stack.file_tracker.calls if c[0] == "snapshot"]
        assert len(snapshots) == len(bench.get_checkpoints(result.execution_id))


def test_an_explicit_none_keeps_meaning_none(data_dir, monkeypatch):
    with bench_with(data_dir, "recording", file_tracker="none") as bench:
        assert bench.stack.file_tracker.name == "none"
        with pytest.raises(ConfigurationError, match=r"'none'.*recording"):
            register(bench, workflows.linear, file_tracking=TRACKING)
    monkeypatch.setenv("WTB_FILE_TRACKER", "none")
    with bench_with(data_dir, "recording") as bench:
        assert bench.stack.file_tracker.name == "none"
        assert "WTB_FILE_TRACKER" in bench.stack.file_tracker_choice.describe()


def test_without_a_tracker_installed_tracking_says_what_to_install(data_dir):
    with bench_with(data_dir) as bench:
        assert bench.stack.file_tracker.name == "none"
        with pytest.raises(ConfigurationError, match="pip install wtb-filetrack"):
            register(bench, workflows.linear, file_tracking=TRACKING)
        register(bench, workflows.linear)  # not tracking files: fine


def test_several_installed_and_none_named_is_an_error_listing_them(data_dir):
    with bench_with(data_dir, "recording", "other") as bench:
        register(bench, workflows.linear)  # a bench that tracks no files still works
        with pytest.raises(
            ConfigurationError, match=r"several file trackers are installed \(other, recording\)"
        ) as refused:
            register(bench, workflows.linear, "tracked", file_tracking=TRACKING)
        assert "WTB_FILE_TRACKER" in str(refused.value)
    with bench_with(data_dir, "recording", "other", file_tracker="other") as bench:
        assert bench.stack.file_tracker.name == "other"


def _plugins_output(*trackers: str) -> str:
    app = build_app(PluginRegistry([TrackerPlugin(n) for n in trackers], load_entrypoints=False))
    shown = CliRunner().invoke(app, ["plugins"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    return shown.stdout


def test_wtb_plugins_says_which_tracker_is_chosen_and_why(monkeypatch):
    assert "file tracker: recording (the only one installed)" in _plugins_output("recording")
    assert "file tracker: none (no file tracker is installed" in _plugins_output()
    several = _plugins_output("recording", "other")
    assert "file tracker: none (several are installed: other, recording" in several
    monkeypatch.setenv("WTB_FILE_TRACKER", "other")
    assert "file tracker: other (set in the configuration" in _plugins_output("recording", "other")
