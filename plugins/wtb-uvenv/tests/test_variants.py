"""Nodes run in the environment resolved for them: two versions of one package in one
batch, each granularity, values crossing the process boundary."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from wtb_core import ExecutionStatus, WorkflowProject
from wtb_core.config import EnvironmentConfig, EnvSpec

from .conftest import TOMLI_NEW, TOMLI_OLD, chain, provider_of, uvenv_nodes


def test_two_variants_pin_two_versions_of_one_package_in_one_batch(bench):
    assert importlib.util.find_spec("tomli") is None  # the test process has neither version
    project = WorkflowProject(
        "rag",
        chain(("report", uvenv_nodes.report)),
        environment=EnvironmentConfig(
            granularity="variant",
            default_env=EnvSpec(dependencies=[f"tomli=={TOMLI_NEW}"]),
            variant_environments={"report:old": EnvSpec(dependencies=[f"tomli=={TOMLI_OLD}"])},
        ),
    )
    project.register_variant(node="report", name="old", implementation=uvenv_nodes.report)
    bench.register_project(project)

    batch = bench.run_batch_test(
        project="rag",
        variant_matrix=[{"report": "default"}, {"report": "old"}],
        test_cases=[{"query": "a"}, {"query": "b"}],
    )

    seen = sorted((row.combination["report"], row.state["seen"]["report"]) for row in batch.results)
    assert [row.status for row in batch.results] == [ExecutionStatus.COMPLETED] * 4
    assert seen == [("default", TOMLI_NEW)] * 2 + [("old", TOMLI_OLD)] * 2
    envs = {row.state["executable"] for row in batch.results}
    assert len(envs) == 2 and all(sys.executable not in e for e in envs)
    assert "tomli" not in sys.modules


def _project(granularity: str) -> WorkflowProject:
    """Two nodes; the workflow pins tomli, node ``second`` adds termcolor, variant
    ``second:tab`` adds tabulate."""
    project = WorkflowProject(
        f"gran-{granularity}",
        chain(("first", uvenv_nodes.versions), ("second", uvenv_nodes.versions)),
        environment=EnvironmentConfig(
            granularity=granularity,
            default_env=EnvSpec(dependencies=[f"tomli=={TOMLI_NEW}"]),
            node_environments={
                "first": EnvSpec(env_vars={"WTB_TEST_NODE": "first"}),
                "second": EnvSpec(
                    dependencies=["termcolor==2.4.0"], env_vars={"WTB_TEST_NODE": "second"}
                ),
            },
            variant_environments={"second:tab": EnvSpec(dependencies=["tabulate==0.9.0"])},
        ),
    )
    project.register_variant(node="second", name="tab", implementation=uvenv_nodes.versions)
    return project


@pytest.mark.parametrize(
    ("granularity", "first", "second"),
    [
        ("workflow", (TOMLI_NEW, None, None), (TOMLI_NEW, None, None)),
        ("node", (TOMLI_NEW, None, None), (TOMLI_NEW, "2.4.0", None)),
        ("variant", (TOMLI_NEW, None, None), (TOMLI_NEW, "2.4.0", "0.9.0")),
    ],
)
def test_each_granularity_merges_base_workflow_node_variant(bench, granularity, first, second):
    bench.register_project(_project(granularity))
    result = bench.run(f"gran-{granularity}", {}, variant_config={"second": "tab"})

    assert result.status is ExecutionStatus.COMPLETED, result.error
    seen = result.state["seen"]
    if granularity == "workflow":  # node variables are not applied either: one key "?"
        [only] = seen.values()
        assert (only["tomli"], only["termcolor"], only["tabulate"]) == first
        return
    versions = {node: (v["tomli"], v["termcolor"], v["tabulate"]) for node, v in seen.items()}
    assert versions == {"first": first, "second": second}
    assert seen["first"]["pid"] != seen["second"]["pid"]  # two environments, two workers


def test_env_vars_and_the_workspace_reach_the_worker(bench, workspace):
    project = WorkflowProject(
        "where",
        chain(("report", uvenv_nodes.report)),
        environment=EnvironmentConfig(
            default_env=EnvSpec(
                dependencies=[f"tomli=={TOMLI_NEW}"], env_vars={"WTB_TEST_FLAG": "on"}
            )
        ),
    )
    bench.register_project(project)
    result = bench.run("where", {})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert Path(result.state["cwd"]) == workspace.resolve()
    assert result.state["flag"] == "on"
    assert result.state["executable"].startswith(str(provider_of(bench).settings.root))


def test_file_tracking_sees_what_a_node_writes_in_its_environment(make_bench, workspace):
    wtb_filetrack = pytest.importorskip("wtb_filetrack.plugin")
    from wtb_core.config import FileTrackingConfig

    bench = make_bench(plugins=(wtb_filetrack,), file_tracker="cas")
    bench.register_project(
        WorkflowProject(
            "files",
            chain(("write", uvenv_nodes.write_file)),
            environment=EnvironmentConfig(default_env=EnvSpec()),
            file_tracking=FileTrackingConfig(enabled=True, tracked_paths=["out/"]),
        )
    )
    result = bench.run("files", {})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert (workspace / "out" / "note.txt").read_text().startswith("written by ")
    snapshots = bench.get_file_snapshots(result.execution_id)
    assert snapshots and list(snapshots[-1].files) == ["out/note.txt"]


def test_langchain_messages_round_trip_when_the_environment_has_langchain_core(bench):
    from importlib.metadata import version

    from langchain_core.messages import AIMessage, HumanMessage

    bench.register_project(
        WorkflowProject(
            "chat",
            chain(("echo", uvenv_nodes.echo_messages)),
            environment=EnvironmentConfig(
                default_env=EnvSpec(dependencies=[f"langchain-core=={version('langchain-core')}"])
            ),
        )
    )
    result = bench.run("chat", {"messages": [HumanMessage(content="hi")]})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.state["kind"] == "HumanMessage"
    reply = result.state["messages"][-1]
    assert isinstance(reply, AIMessage) and reply.content == "echo: hi"
