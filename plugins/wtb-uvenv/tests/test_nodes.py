"""Which callables run in a worker and how, what is refused when the graph is built, and
how a node's failure comes back."""

from __future__ import annotations

import functools
import os
import socket
import sys

import pytest
from langgraph.types import interrupt

from wtb_core import ConfigurationError, ExecutionStatus, WorkflowProject
from wtb_core.config import EnvironmentConfig, EnvSpec
from wtb_uvenv.errors import NodeTransferError, UnsupportedNodeError
from wtb_uvenv.interpreters import probe
from wtb_uvenv.wire import encode_state

from .conftest import chain, uvenv_nodes

IN_ENV = EnvironmentConfig(default_env=EnvSpec())  # an environment with nothing installed


def _run(bench, name, *nodes, state=None, env=IN_ENV):
    bench.register_project(WorkflowProject(name, chain(*nodes), environment=env))
    return bench.run(name, state or {})


def _closure(label):
    def node(state):
        return {"pid": os.getpid(), "steps": [*state.get("steps", []), label]}

    return node


def test_lambdas_closures_partials_and_async_nodes_run_in_the_worker(bench):
    result = _run(
        bench,
        "kinds",
        ("lam", lambda state: {"steps": [*state.get("steps", []), f"lambda in {os.getpid()}"]}),
        ("clo", _closure("closure")),
        ("par", functools.partial(uvenv_nodes.tagged, "partial")),
        ("asy", uvenv_nodes.async_plain),
        ("ref", uvenv_nodes.plain),
    )
    assert result.status is ExecutionStatus.COMPLETED, result.error
    steps = result.state["steps"]
    assert steps[1:] == ["closure", "partial", "async", "plain"]
    assert steps[0] == f"lambda in {result.state['pid']}"  # one worker ran every node
    assert result.state["pid"] != os.getpid()


def _takes_config(state, config):
    return {}


def _asks(state):
    return {"query": interrupt("which query?")}


@pytest.mark.parametrize(
    ("func", "says"),
    [
        (_takes_config, "takes 'config'"),
        (_asks, "calls interrupt()"),
        (str.upper, "plain functions"),
    ],
)
def test_what_cannot_run_in_another_process_is_refused_when_the_graph_is_built(bench, func, says):
    with pytest.raises(UnsupportedNodeError, match="node 'n'") as raised:
        _run(bench, "refused", ("n", func))
    assert says in str(raised.value)
    assert bench.list_executions(project="refused") == []


def _other_minor_python() -> str | None:
    """An interpreter of another minor version than this one, if the machine has one."""
    candidates = [os.path.expanduser(f"~/.pyenv/versions/{v}") for v in ("3.12.1", "3.13.0")]
    for root in candidates:
        for path in sorted(__import__("glob").glob(f"{root}/bin/python3.1?")):
            if probe(path).version[:2] != sys.version_info[:2]:
                return path
    return None


def test_a_lambda_in_an_environment_of_another_python_is_refused_by_name(bench):
    other = _other_minor_python()
    if other is None:
        pytest.skip("no interpreter of another minor version on this machine")
    env = EnvironmentConfig(default_env=EnvSpec(python_version=other))
    with pytest.raises(UnsupportedNodeError, match=r"node 'lam'.*same Python"):
        _run(bench, "other", ("lam", lambda state: {}), env=env)
    result = _run(bench, "other-ref", ("ref", uvenv_nodes.plain), env=env)  # by reference: fine
    assert result.status is ExecutionStatus.COMPLETED, result.error


def test_a_missing_python_version_is_a_configuration_error_naming_what_exists(bench):
    env = EnvironmentConfig(default_env=EnvSpec(python_version="3.1"))
    with pytest.raises(ConfigurationError) as raised:
        _run(bench, "nopython", ("n", uvenv_nodes.plain), env=env)
    message = str(raised.value)
    assert "python_version='3.1'" in message
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in message  # what was found


def test_an_unknown_package_or_a_conflict_fails_only_its_cells_quoting_uv(bench):
    project = WorkflowProject(
        "deps",
        chain(("n", uvenv_nodes.plain)),
        environment=EnvironmentConfig(
            granularity="variant",
            default_env=EnvSpec(),
            variant_environments={
                "n:missing": EnvSpec(dependencies=["wtb-uvenv-no-such-package-zz==1.0"]),
                "n:conflict": EnvSpec(dependencies=["tomli>2,<2"]),  # no version fits
            },
        ),
    )
    for name in ("missing", "conflict"):
        project.register_variant(node="n", name=name, implementation=uvenv_nodes.plain)
    bench.register_project(project)
    batch = bench.run_batch_test(
        project="deps",
        variant_matrix=[{"n": "default"}, {"n": "missing"}, {"n": "conflict"}],
        test_cases=[{}, {"query": "again"}],
    )
    rows = {(r.combination["n"], r.case_index): r for r in batch.results}
    assert {k: r.status for k, r in rows.items() if k[0] == "default"} == {
        ("default", 0): ExecutionStatus.COMPLETED,
        ("default", 1): ExecutionStatus.COMPLETED,
    }
    for case in (0, 1):
        missing, conflict = rows["missing", case], rows["conflict", case]
        assert missing.status is conflict.status is ExecutionStatus.FAILED
        assert "EnvironmentBuildError" in missing.error
        assert "wtb-uvenv-no-such-package-zz" in missing.error and "uv could not" in missing.error
        assert "variant 'missing'" in missing.error
        assert "No solution found" in conflict.error and "tomli" in conflict.error


def test_a_node_whose_module_needs_what_the_environment_lacks_says_so(bench):
    import uvenv_graph

    result = _run(bench, "graphmod", ("n", uvenv_graph.node_beside_the_graph))
    assert result.status is ExecutionStatus.FAILED
    assert "uvenv_graph:node_beside_the_graph" in result.error
    assert "No module named 'langgraph'" in result.error
    assert "move the node into such a module" in result.error


def test_a_node_exception_comes_back_with_the_remote_traceback(bench):
    result = _run(bench, "boom", ("n", uvenv_nodes.fails), state={"query": "q"})
    assert result.status is ExecutionStatus.FAILED
    assert "RemoteNodeError" in result.error
    assert "ValueError: no answer for 'q'" in result.error
    assert "Traceback (most recent call last)" in result.error
    assert "uvenv_nodes.py" in result.error and ", in fails" in result.error


def test_values_that_cannot_cross_name_the_node_and_the_key(bench):
    with socket.socket() as sock, pytest.raises(NodeTransferError, match=r"key 'conn'.*node 'n'"):
        encode_state("n", {"query": "fine", "conn": sock})

    handle = _run(bench, "file", ("n", uvenv_nodes.returns_file))
    assert handle.status is ExecutionStatus.FAILED
    assert "NodeTransferError" in handle.error and "node 'n'" in handle.error
    assert "key 'handle'" in handle.error and "TextIOWrapper" in handle.error

    env = EnvironmentConfig(default_env=EnvSpec(dependencies=["tabulate==0.9.0"]))
    foreign = _run(bench, "foreign", ("n", uvenv_nodes.returns_foreign), env=env)
    assert foreign.status is ExecutionStatus.FAILED
    assert "key 'result'" in foreign.error and "tabulate.Line" in foreign.error
    assert "tabulate" not in sys.modules  # the main process never imported it


def test_a_langchain_message_needs_langchain_core_in_the_environment(bench):
    from langchain_core.messages import HumanMessage

    result = _run(bench, "nolc", ("n", uvenv_nodes.count_messages),
                  state={"messages": [HumanMessage(content="hi")]})  # fmt: skip
    assert result.status is ExecutionStatus.FAILED
    assert "key 'messages'" in result.error and "langchain-core" in result.error
