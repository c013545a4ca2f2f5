"""The registry's facade over pluggy: typed accessors, pluggy's call order, wrappers refused
where they cannot work, hook-call tracing, and a plugin's runner chosen by a project."""

from __future__ import annotations

import logging

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import (
    PluginError,
    PluginNotFoundError,
    StackConfig,
    WorkflowProject,
    WTBTestBench,
)
from wtb_core.builtins.batch_runners import SequentialRunner
from wtb_core.builtins.evaluators import exact_match
from wtb_core.config import ExecutionConfig
from wtb_core.plugin import (
    BatchRunnerRegister,
    CheckpointStore,
    EnvironmentProvider,
    EvaluatorRegister,
    FileTracker,
    hookimpl,
)
from wtb_core.registry import PluginRegistry


def test_each_kind_has_a_typed_accessor(data_dir):
    registry = PluginRegistry(load_entrypoints=False)
    config = StackConfig(data_dir=data_dir)
    store = registry.checkpoint_store("memory", config)
    assert isinstance(store, CheckpointStore) and store.name == "memory"
    assert isinstance(registry.environment_provider("inprocess", config), EnvironmentProvider)
    assert isinstance(registry.file_tracker("none", config, None), FileTracker)
    assert isinstance(registry.batch_runner("sequential", config), SequentialRunner)
    assert registry.evaluator("exact_match") is exact_match
    with pytest.raises(PluginNotFoundError, match="checkpoint store 'postgres' is not installed"):
        registry.checkpoint_store("postgres", config)
    assert not hasattr(registry, "create")


class Recorder:
    """Records which plugin a hook reached, in order."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.__name__ = name
        self.calls = calls

    @hookimpl
    def wtb_register_evaluators(self, register: EvaluatorRegister) -> None:
        self.calls.append(self.__name__)

    @hookimpl
    def wtb_on_event(self, event) -> None:
        self.calls.append(self.__name__)


class First(Recorder):
    @hookimpl(tryfirst=True)
    def wtb_register_evaluators(self, register: EvaluatorRegister) -> None:
        self.calls.append(self.__name__)

    @hookimpl(tryfirst=True)
    def wtb_on_event(self, event) -> None:
        self.calls.append(self.__name__)


class Last(Recorder):
    @hookimpl(trylast=True)
    def wtb_register_evaluators(self, register: EvaluatorRegister) -> None:
        self.calls.append(self.__name__)

    @hookimpl(trylast=True)
    def wtb_on_event(self, event) -> None:
        self.calls.append(self.__name__)


def test_implementations_run_in_pluggys_order(data_dir):
    """tryfirst first, trylast last, otherwise the plugin registered last first."""
    calls: list[str] = []
    plugins = [First("first", calls), Last("last", calls), Recorder("a", calls)]
    plugins.append(Recorder("b", calls))
    registry = PluginRegistry(plugins, load_entrypoints=False)
    assert calls == ["first", "b", "a", "last"]
    calls.clear()
    with WTBTestBench(data_dir=data_dir, plugins=plugins, load_entrypoints=False) as bench:
        bench.run(register(bench, workflows.linear), {})
    assert calls[:4] == ["first", "b", "a", "last"]
    assert len(calls) % 4 == 0
    assert registry.names("evaluator")  # the builtins still registered


@pytest.mark.parametrize("option", ["wrapper", "hookwrapper"])
def test_a_wrapper_on_a_registration_hook_is_refused_naming_its_plugin(option):
    class Wrapping:
        @hookimpl(**{option: True})
        def wtb_register_batch_runners(self, register: BatchRunnerRegister):
            yield

    with pytest.raises(
        PluginError,
        match=rf"plugin .*Wrapping implements wtb_register_batch_runners with "
        rf"@hookimpl\({option}=True\); a registration hook must be a plain @hookimpl",
    ):
        PluginRegistry([Wrapping()], load_entrypoints=False)


def test_a_wrapper_on_wtb_on_event_wraps_every_listener(data_dir):
    calls: list[str] = []

    class Around:
        @hookimpl(wrapper=True)
        def wtb_on_event(self, event):
            calls.append("before")
            yield
            calls.append("after")

    class Broken:
        @hookimpl
        def wtb_on_event(self, event):
            raise RuntimeError("listener bug")

    class Listener:
        @hookimpl
        def wtb_on_event(self, event):
            calls.append("listener")

    plugins = [Listener(), Broken(), Around()]
    with WTBTestBench(data_dir=data_dir, plugins=plugins, load_entrypoints=False) as bench:
        bench.run(register(bench, workflows.linear), {})
    # per event: Broken (registered last) inside the wrapper, which its error ends, then the
    # listener inside the wrapper: the error was logged and the listener still heard it
    assert calls[:4] == ["before", "before", "listener", "after"]
    # per event the wrapper wraps three listeners: Broken, Listener and the builtin
    # telemetry plugin (wtb_core.telemetry.plugin)
    assert calls.count("listener") * 6 == len(calls)


def test_wtb_trace_plugins_logs_every_hook_call(monkeypatch, caplog):
    monkeypatch.setenv("WTB_TRACE_PLUGINS", "1")
    caplog.set_level(logging.DEBUG, logger="wtb_core.registry")
    PluginRegistry([Recorder("traced", [])], load_entrypoints=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "wtb_core.registry"]
    assert any(
        line.startswith("wtb_register_checkpoint_stores(register=")
        and line.endswith("-> wtb_core.builtins.checkpoint_stores")
        for line in lines
    ), lines
    assert any(line.startswith("wtb_register_evaluators(") and "traced" in line for line in lines)
    assert "wtb_register_evaluators returned []" in lines

    caplog.clear()
    monkeypatch.delenv("WTB_TRACE_PLUGINS")
    PluginRegistry(load_entrypoints=False)
    assert not [r for r in caplog.records if r.name == "wtb_core.registry"]


class CountingRunner(SequentialRunner):
    name = "counting"
    jobs = 0

    def run(self, job):
        CountingRunner.jobs += 1
        yield from super().run(job)


class RunnerPlugin:
    @hookimpl
    def wtb_register_batch_runners(self, register: BatchRunnerRegister) -> None:
        register(CountingRunner.name, CountingRunner)


def _project(runner: str) -> WorkflowProject:
    return WorkflowProject(
        f"on_{runner}", workflows.linear, execution=ExecutionConfig(batch_executor=runner)
    )


def test_a_projects_batch_executor_chooses_a_plugins_runner(data_dir):
    with WTBTestBench(data_dir=data_dir, plugins=[RunnerPlugin()], load_entrypoints=False) as b:
        before = CountingRunner.jobs
        project = b.register_project(_project("counting"))
        batch = b.run_batch_test(project.name, [{}], [{"query": "x"}])
        assert CountingRunner.jobs == before + 1 and len(batch.results) == 1
        assert b.stack.metadata.get_batch(batch.batch_id).runner == "counting"

        unknown = b.register_project(_project("dask"))
        with pytest.raises(PluginNotFoundError, match=r"unknown batch runner 'dask' \(available"):
            b.run_batch_test(unknown.name, [{}], [{"query": "x"}])
        ray = b.register_project(_project("ray"))
        with pytest.raises(
            PluginNotFoundError, match="'ray' is not installed: pip install wtb-ray"
        ):
            b.run_batch_test(ray.name, [{}], [{"query": "x"}])


def test_a_listener_may_take_fewer_arguments_than_the_hook(data_dir):
    heard: list[str] = []

    class Counting:
        @hookimpl
        def wtb_on_event(self):  # pluggy lets an implementation take fewer arguments
            heard.append("event")

    with WTBTestBench(data_dir=data_dir, plugins=[Counting()], load_entrypoints=False) as bench:
        result = bench.run(register(bench, workflows.linear), {})
    assert len(heard) == len(bench.audit(result.execution_id)) > 0
