"""The kernel's seams for plugins: environment providers and file trackers."""

from __future__ import annotations

from tests import workflows
from tests.conftest import register
from wtb_core import StackConfig, WTBTestBench, hookimpl
from wtb_core.config import EnvironmentConfig, EnvSpec, FileTrackingConfig
from wtb_core.engine.environments import resolve_env


class TaggingProvider:
    """Wraps every node so its output says which environment it ran in."""

    name = "tagging"

    def __init__(self, config):
        self.seen = {}

    def wrap_node(self, project, node, variant, env, func):
        self.seen[node] = env

        def wrapped(state):
            update = func(state)
            tag = (env.env_vars.get("STAGE") if env else None) or "bare"
            return {**update, "log": [*update.get("log", []), f"{node}@{tag}"]}

        return wrapped

    def close(self):
        pass


class EnvPlugin:
    provider: TaggingProvider | None = None

    @hookimpl
    def wtb_register_environment_providers(self, register):
        def factory(config):
            EnvPlugin.provider = TaggingProvider(config)
            return EnvPlugin.provider

        register("tagging", factory)


def test_an_environment_provider_wraps_every_node_with_its_resolved_env(data_dir):
    environment = EnvironmentConfig(
        granularity="node",
        default_env=EnvSpec(dependencies=["requests>=2"], env_vars={"STAGE": "base"}),
        node_environments={"grade": EnvSpec(env_vars={"STAGE": "grading"})},
    )
    config = StackConfig(data_dir=data_dir, environment_provider="tagging")
    with WTBTestBench(config=config, plugins=[EnvPlugin()], load_entrypoints=False) as bench:
        result = bench.run(register(bench, workflows.linear, environment=environment), {})
    assert result.state["log"] == [
        "retrieve",
        "retrieve@base",
        "grade",
        "grade@grading",
        "generate",
        "generate@base",
    ]
    assert EnvPlugin.provider.seen["grade"].dependencies == ["requests>=2"]


def test_environments_merge_base_workflow_node_variant():
    config = EnvironmentConfig(
        granularity="variant",
        default_env=EnvSpec(dependencies=["numpy>=1", "pandas"], env_vars={"A": "1"}),
        node_environments={"retriever": EnvSpec(dependencies=["faiss-cpu"], env_vars={"B": "2"})},
        variant_environments={
            "retriever:bm25": EnvSpec(dependencies=["numpy==2.0"], env_vars={"A": "3"}),
            "_workflow:fast": EnvSpec(python_version="3.12"),
        },
    )
    env = resolve_env(config, "retriever", "bm25", "fast")
    assert env.dependencies == ["numpy==2.0", "pandas", "faiss-cpu"]
    assert env.env_vars == {"A": "3", "B": "2"}
    assert env.python_version == "3.12"
    assert resolve_env(config, "generator").dependencies == ["numpy>=1", "pandas"]
    node_only = config.model_copy(update={"granularity": "workflow"})
    assert resolve_env(node_only, "retriever", "bm25").env_vars == {"A": "1"}
    assert resolve_env(config.model_copy(update={"use_current_env": True}), "retriever") is None


class RecordingTracker:
    name = "recording"

    def __init__(self, config, metadata):
        self.calls = []

    def snapshot(self, execution, checkpoint_id):
        self.calls.append(("snapshot", execution.execution_id, checkpoint_id))

    def restore(self, execution, checkpoint_id):
        self.calls.append(("restore", execution.execution_id, checkpoint_id))

    def link_fork(self, source, target, checkpoint_ids):
        self.calls.append(("link_fork", source.execution_id, target.execution_id, checkpoint_ids))

    def snapshots(self, execution_id):
        return []

    def prepare_workspace(self, base, config, key):
        return base

    def discard_workspace(self, workspace):
        pass

    def close(self):
        pass


class TrackerPlugin:
    tracker: RecordingTracker | None = None

    @hookimpl
    def wtb_register_file_trackers(self, register):
        def factory(config, metadata):
            TrackerPlugin.tracker = RecordingTracker(config, metadata)
            return TrackerPlugin.tracker

        register("recording", factory)


def test_a_file_tracker_snapshots_each_checkpoint_and_restores_on_rollback(data_dir):
    config = StackConfig(data_dir=data_dir, file_tracker="recording")
    tracking = FileTrackingConfig(enabled=True, tracked_paths=["out/"])
    with WTBTestBench(config=config, plugins=[TrackerPlugin()], load_entrypoints=False) as bench:
        project = register(bench, workflows.linear, file_tracking=tracking)
        result = bench.run(project, {})
        checkpoints = bench.get_checkpoints(result.execution_id)
        bench.rollback(result.execution_id, checkpoints[2].checkpoint_id)
        fork = bench.fork(result.execution_id, checkpoints[3].checkpoint_id)
    calls = TrackerPlugin.tracker.calls
    snapshots = [c[2] for c in calls if c[0] == "snapshot"]
    assert snapshots == [c.checkpoint_id for c in checkpoints]
    assert ("restore", result.execution_id, checkpoints[2].checkpoint_id) in calls
    [link] = [c for c in calls if c[0] == "link_fork"]
    assert link[1:] == (
        result.execution_id,
        fork.execution_id,
        [c.checkpoint_id for c in checkpoints[:4]],
    )


def test_file_tracking_without_a_tracker_says_what_to_install(bench):
    import pytest

    from wtb_core import ConfigurationError

    with pytest.raises(ConfigurationError, match="pip install wtb-filetrack"):
        register(bench, workflows.linear, file_tracking=FileTrackingConfig(enabled=True))


def test_auto_commit_off_takes_no_snapshot_until_asked(data_dir):
    config = StackConfig(data_dir=data_dir, file_tracker="recording")
    tracking = FileTrackingConfig(enabled=True, tracked_paths=["out/"], auto_commit=False)
    with WTBTestBench(config=config, plugins=[TrackerPlugin()], load_entrypoints=False) as bench:
        result = bench.run(register(bench, workflows.linear, file_tracking=tracking), {})
        assert [c for c in TrackerPlugin.tracker.calls if c[0] == "snapshot"] == []
        bench.commit_files(result.execution_id)
    assert TrackerPlugin.tracker.calls == [("snapshot", result.execution_id, result.checkpoint_id)]
