"""WorkflowProject.from_yaml: the seeds' wtb_project.yaml, end to end and its error paths."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from langgraph.checkpoint.memory import InMemorySaver

from tests import yaml_workflows
from wtb_core import ProjectError, WorkflowProject, WTBTestBench
from wtb_core.engine.graphs import build_graph

FIXTURES = Path(__file__).parent / "yaml_fixtures"
DELETE = object()


def invoke(project: WorkflowProject, variant_config: dict[str, str] | None = None) -> str:
    replacements = project.resolve_variants(variant_config, None)
    graph = build_graph(project.template(), replacements, InMemorySaver())
    return graph.invoke({"query": "q"}, {"configurable": {"thread_id": "t"}})["answer"]


def test_the_seeds_yaml_loads_every_block():
    project = WorkflowProject.from_yaml(FIXTURES / "rag_project.yaml")
    assert (project.name, project.description) == ("rag_pipeline", "RAG Pipeline for Q&A")
    assert project.graph_factory is yaml_workflows.create_rag_graph
    assert project.state_schema is yaml_workflows.RAGState
    assert project.current_version == "1.0"
    assert project.list_variants() == {
        "retriever": ["default", "bm25_retriever"],
        "generator": ["default"],
    }
    variant = project.node_variant("retriever", "bm25_retriever")
    assert variant.implementation is yaml_workflows.bm25_retriever
    assert variant.description == "keyword search"
    assert variant.environment.python_version == "3.12"
    assert variant.environment.dependencies == ["rank-bm25>=0.2"]
    assert variant.resources.num_cpus == 2
    assert project.list_workflow_variants() == ["rag_with_reranker"]
    assert project.workflow_template("rag_with_reranker").node_names == [
        "retriever",
        "reranker",
        "generator",
    ]
    assert project.file_tracking.enabled
    assert project.file_tracking.tracked_paths == ["./data/", "./outputs/"]
    env = project.environment
    assert (env.granularity, env.default_env.python_version) == ("node", "3.12")
    assert env.node_environments["retriever"].dependencies == ["faiss-cpu>=1.7"]
    assert env.variant_environments["retriever:bm25_retriever"].dependencies == ["rank-bm25>=0.2"]
    execution = project.execution
    assert (execution.batch_executor, execution.ray_config.address) == ("ray", "auto")
    assert execution.node_resources["generator"].num_gpus == 1
    assert invoke(project) == "Answer based on ['doc1', 'doc2']"
    assert invoke(project, {"retriever": "bm25_retriever"}) == "Answer based on ['bm25:q']"


def test_the_config_models_own_field_names_are_accepted():
    project = WorkflowProject.from_yaml(str(FIXTURES / "bench_project.yaml"))
    assert project.current_version == "0.9"
    assert project.state_schema is yaml_workflows.RAGState  # taken from the graph
    assert project.file_tracking.tracked_paths == ["./data/"]
    assert project.environment.default_env.python_version == "3.11"
    assert project.execution.ray_config.address == "ray://head:10001"
    assert project.execution.recursion_limit == 10


def test_the_bench_registers_and_runs_a_yaml_project(tmp_path, monkeypatch):
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    project = WorkflowProject.from_yaml(FIXTURES / "bench_project.yaml")
    with WTBTestBench(data_dir=tmp_path, load_entrypoints=False) as bench:
        bench.register_project(project)
        assert "yaml_rag" in bench.list_projects()
        default = bench.run("yaml_rag", {"query": "q"})
        assert default.state["answer"] == "Answer based on ['doc1', 'doc2']"
        bm25 = bench.run("yaml_rag", {"query": "q"}, variant_config={"retriever": "bm25_retriever"})
        assert bm25.state["answer"] == "Answer based on ['bm25:q']"
        reranked = bench.run("yaml_rag", {"query": "q"}, workflow_variant="rag_with_reranker")
        assert reranked.state["answer"] == "Answer based on ['doc2', 'doc1']"


def test_modules_next_to_the_yaml_file_are_importable(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    module = "wtb_yaml_neighbour"
    monkeypatch.delitem(sys.modules, module, raising=False)
    (tmp_path / f"{module}.py").write_text(
        "from tests.yaml_workflows import create_rag_graph as factory\n"
        "def keyword(state):\n    return {'documents': ['next-door']}\n"
    )
    path = tmp_path / "wtb_project.yaml"
    path.write_text(
        f"name: neighbour\nworkflow: {{module: {module}, factory: factory}}\n"
        f"variants:\n  nodes:\n    retriever:\n"
        f"      - {{name: keyword, module: {module}, function: keyword}}\n"
    )
    try:
        project = WorkflowProject.from_yaml(path)
        assert invoke(project, {"retriever": "keyword"}) == "Answer based on ['next-door']"
    finally:
        sys.modules.pop(module, None)


def write(tmp_path: Path, edits: list[tuple[tuple[Any, ...], Any]]) -> Path:
    """bench_project.yaml with each ``(key path, value)`` set (or deleted with DELETE)."""
    data = yaml.safe_load((FIXTURES / "bench_project.yaml").read_text())
    for keys, value in edits:
        parent = data
        for key in keys[:-1]:
            parent = parent.setdefault(key, {}) if isinstance(parent, dict) else parent[key]
        if value is DELETE:
            del parent[keys[-1]]
        else:
            parent[keys[-1]] = value
    path = tmp_path / "wtb_project.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


RETRIEVER_0 = ("variants", "nodes", "retriever", 0)


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param([(("workflow",), DELETE)], "workflow: missing", id="missing-workflow"),
        pytest.param([(("name",), DELETE)], "name: missing", id="missing-name"),
        pytest.param([(("name",), "two words")], "name: project name 'two words'", id="bad-name"),
        pytest.param([(("version",), 2.0)], "version: must be a string", id="unquoted-version"),
        pytest.param(
            [(("varaints",), {})], "varaints: unknown key; expected one of: name,", id="typo"
        ),
        pytest.param(
            [(("workflow", "module"), "tests.no_such_module")],
            "workflow.module: cannot import module 'tests.no_such_module'",
            id="unimportable-module",
        ),
        pytest.param(
            [(("workflow", "factory"), "broken_factory")],
            "workflow.factory: graph_factory (version '0.9') of project 'yaml_rag' raised "
            "RuntimeError: the graph cannot be built",
            id="factory-raises",
        ),
        pytest.param(
            [(("workflow", "state_schema"), "tests.yaml_workflows.NOT_CALLABLE")],
            "workflow.state_schema: tests.yaml_workflows.NOT_CALLABLE is a str, not a class",
            id="schema-not-a-class",
        ),
        pytest.param(
            [((*RETRIEVER_0, "function"), "nope")],
            "variants.nodes.retriever[0].function: module 'tests.yaml_workflows' has no "
            "attribute 'nope'",
            id="missing-function",
        ),
        pytest.param(
            [((*RETRIEVER_0, "function"), "NOT_CALLABLE")],
            "variants.nodes.retriever[0].function: tests.yaml_workflows:NOT_CALLABLE is not "
            "a function or a Runnable",
            id="not-callable",
        ),
        pytest.param(
            [((*RETRIEVER_0, "module"), DELETE)],
            "variants.nodes.retriever[0].module: missing",
            id="variant-without-module",
        ),
        pytest.param(
            [(("variants", "nodes", "ghost"), [{"name": "x", "module": "m", "function": "f"}])],
            "variants.nodes.ghost: the workflow has no node 'ghost' to vary; its nodes are: "
            "retriever, generator",
            id="variant-of-unknown-node",
        ),
        pytest.param(
            [(("variants", "nodes", "retriever", 0, "name"), "default")],
            "variants.nodes.retriever[0]: variant name 'default' is reserved",
            id="reserved-variant-name",
        ),
        pytest.param(
            [(("variants", "workflows", 0, "factory"), "broken_factory")],
            "variants.workflows[0]: workflow variant 'rag_with_reranker' of project 'yaml_rag' "
            "raised RuntimeError: the graph cannot be built",
            id="broken-workflow-variant",
        ),
        pytest.param(
            [(("execution", "batch_executor"), 5)],
            "execution.batch_executor: Input should be a valid string",
            id="bad-config-value",
        ),
        pytest.param(
            [(("execution", "ray"), {"max_retries": -1}), (("execution", "ray_config"), DELETE)],
            "execution.ray.max_retries: Input should be greater than or equal to 0",
            id="bad-config-short-key",
        ),
        pytest.param(
            [(("execution", "node_resources"), {"retriever": {"memory": "lots"}})],
            "execution.node_resources.retriever.memory: Value error, memory 'lots'",
            id="bad-nested-config",
        ),
        pytest.param(
            [
                (("environment", "default"), {"python": 3.1}),
                (("environment", "default_env"), DELETE),
            ],
            "environment.default.python: Input should be a valid string (quote it",
            id="unquoted-python-version",
        ),
        pytest.param(
            [(("file_tracking", "pathz"), ["./data"])],
            "file_tracking.pathz: Extra inputs are not permitted",
            id="unknown-config-key",
        ),
        pytest.param(
            [(("file_tracking", "paths"), ["./x"])],
            "file_tracking: give 'paths' or 'tracked_paths', not both",
            id="short-and-long-key",
        ),
        pytest.param(
            [(("execution",), ["sequential"])],
            "execution: must be a mapping, not a list",
            id="block-not-a-mapping",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, edits, expected):
    path = write(tmp_path, edits)
    with pytest.raises(ProjectError) as caught:
        WorkflowProject.from_yaml(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "cannot read the project file"),
        ("name: [unclosed\n", "not valid YAML"),
        ("- name: rag\n", "must hold a mapping with 'name' and 'workflow' keys, not a list"),
    ],
)
def test_unreadable_files_are_reported(tmp_path, text, expected):
    path = tmp_path / "wtb_project.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ProjectError, match=f"^{path}: {expected}"):
        WorkflowProject.from_yaml(path)
