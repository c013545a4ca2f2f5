"""Permanent updates: update_node, update_workflow, the version history and restore."""

from __future__ import annotations

import threading
from datetime import UTC
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from wtb_core import ProjectError, WorkflowProject, WTBTestBench
from wtb_core.engine.graphs import build_graph


class State(TypedDict, total=False):
    query: str
    documents: list[str]
    answer: str


class OtherState(TypedDict, total=False):
    query: str
    answer: str


def retriever(state: State) -> dict[str, Any]:
    return {"documents": ["doc1"]}


def better_retriever(state: State) -> dict[str, Any]:
    return {"documents": ["better"]}


def best_retriever(state: State) -> dict[str, Any]:
    return {"documents": ["best"]}


def bm25(state: State) -> dict[str, Any]:
    return {"documents": ["bm25"]}


def generator(state: State) -> dict[str, Any]:
    return {"answer": "+".join(state["documents"])}


def shouting_generator(state: State) -> dict[str, Any]:
    return {"answer": "+".join(state["documents"]).upper()}


def reranker(state: State) -> dict[str, Any]:
    return {"documents": [*state["documents"], "reranked"]}


def rag() -> Any:
    """retriever -> generator (compiled, as users hand it over)."""
    graph = StateGraph(State)
    graph.add_node("retriever", retriever)
    graph.add_node("generator", generator)
    graph.add_edge(START, "retriever")
    graph.add_edge("retriever", "generator")
    graph.add_edge("generator", END)
    return graph.compile()


def rag_with_reranker() -> StateGraph:
    """retriever -> reranker -> generator."""
    graph = StateGraph(State)
    for name, func in (("retriever", retriever), ("reranker", reranker), ("generator", generator)):
        graph.add_node(name, func)
    graph.add_edge(START, "retriever")
    graph.add_edge("retriever", "reranker")
    graph.add_edge("reranker", "generator")
    graph.add_edge("generator", END)
    return graph


def answer_only() -> StateGraph:
    """A single generator node over another state schema."""
    graph = StateGraph(OtherState)
    graph.add_node("generator", lambda state: {"answer": "direct"})
    graph.add_edge(START, "generator")
    graph.add_edge("generator", END)
    return graph


def broken() -> Any:
    raise RuntimeError("cannot build")


def answer(project: WorkflowProject, variant_config: dict[str, str] | None = None) -> str:
    """Compile the project's graph in force (with ``variant_config``) and run it."""
    replacements = project.resolve_variants(variant_config, None)
    graph = build_graph(project.template(), replacements, InMemorySaver())
    return graph.invoke({"query": "q"}, {"configurable": {"thread_id": "t"}})["answer"]


def labels(project: WorkflowProject) -> list[str]:
    return [entry.version for entry in project.versions()]


@pytest.fixture
def project() -> WorkflowProject:
    return WorkflowProject("rag", rag)


def test_the_original_graph_is_version_one(project):
    (initial,) = project.versions()
    assert (initial.version, initial.number, initial.kind) == ("1.0", 1, "initial")
    assert initial.created_at.tzinfo is UTC
    assert project.current_version == "1.0"
    assert WorkflowProject("rag", rag, initial_version="0.3").current_version == "0.3"


def test_invalid_version_labels_are_refused(project):
    with pytest.raises(ProjectError, match="version name 'not valid'"):
        WorkflowProject("rag", rag, initial_version="not valid")
    with pytest.raises(ProjectError, match="version name ''"):
        project.update_node("retriever", better_retriever, version="")
    with pytest.raises(ProjectError, match="at most 50"):
        project.update_workflow(rag_with_reranker, version="2." + "0" * 60)
    assert labels(project) == ["1.0"]


def test_update_node_changes_what_runs_and_bumps_the_revision(project):
    assert answer(project) == "doc1"
    revision = project.revision
    entry = project.update_node("retriever", better_retriever, reason="better recall")
    assert (entry.version, entry.number, entry.kind) == ("1.1", 2, "node_update")
    assert (entry.node, entry.reason) == ("retriever", "better recall")
    assert project.revision > revision
    assert project.current_version == "1.1"
    assert answer(project) == "better"
    assert project.graph_factory is rag  # the base graph did not change


def test_node_updates_accumulate_and_the_user_graph_is_untouched():
    user_graph = rag()
    project = WorkflowProject("rag", lambda: user_graph)
    project.update_node("retriever", better_retriever)
    project.update_node("generator", shouting_generator)
    assert answer(project) == "BETTER"
    assert user_graph.builder.nodes["retriever"].runnable.func is retriever
    assert user_graph.invoke({"query": "q"})["answer"] == "doc1"


def test_default_means_the_updated_node_and_variants_survive_an_update(project):
    project.register_variant("retriever", "bm25", bm25)
    project.update_node("generator", shouting_generator)
    assert project.list_variants("retriever") == {"retriever": ["default", "bm25"]}
    assert answer(project, {"retriever": "bm25"}) == "BM25"
    project.update_node("retriever", better_retriever)
    assert answer(project, {"retriever": "default"}) == "BETTER"


def test_node_update_labels_bump_the_minor_unless_given(project):
    project.update_node("retriever", better_retriever)
    project.update_node("retriever", best_retriever)
    project.update_node("generator", shouting_generator, version="1.5-hotfix")
    project.update_node("generator", generator)
    assert labels(project) == ["1.0", "1.1", "1.2", "1.5-hotfix", "1.5-hotfix.1"]
    assert [entry.number for entry in project.versions()] == [1, 2, 3, 4, 5]


def test_a_duplicate_version_label_is_refused(project):
    project.update_node("retriever", better_retriever)
    with pytest.raises(ProjectError, match=r"already has a version '1\.1'.*history: 1\.0, 1\.1"):
        project.update_node("retriever", best_retriever, version="1.1")
    with pytest.raises(ProjectError, match=r"already has a version '1\.0'"):
        project.update_workflow(rag_with_reranker, version="1.0")
    assert labels(project) == ["1.0", "1.1"]


@pytest.mark.parametrize(
    ("node", "implementation", "message"),
    [
        ("ranker", better_retriever, "has no node 'ranker' to update.*retriever, generator"),
        ("retriever", "not a function", "must be a function or a Runnable .* not str"),
    ],
)
def test_update_node_refuses_unknown_nodes_and_non_callables(
    project, node, implementation, message
):
    revision = project.revision
    with pytest.raises(ProjectError, match=message):
        project.update_node(node, implementation)
    assert (labels(project), project.revision) == (["1.0"], revision)
    assert answer(project) == "doc1"


def test_restore_brings_back_an_earlier_version_and_appends_history(project):
    project.update_node("retriever", better_retriever)
    project.update_node("generator", shouting_generator)
    revision = project.revision
    entry = project.restore_version("1.0", reason="regression")
    assert (entry.version, entry.number, entry.kind) == ("1.0", 4, "restore")
    assert (entry.restored_from, entry.reason) == (1, "regression")
    assert project.revision > revision
    assert project.current_version == "1.0"
    assert answer(project) == "doc1"
    assert [e.kind for e in project.versions()] == [
        "initial",
        "node_update",
        "node_update",
        "restore",
    ]
    project.restore_version(2)  # by number
    assert (project.current_version, answer(project)) == ("1.1", "better")
    assert project.update_node("generator", generator).version == "1.3"  # 1.2 is taken


def test_restoring_an_unknown_version_is_refused(project):
    with pytest.raises(ProjectError, match=r"has no version '9\.9'; its history is: #1 1\.0"):
        project.restore_version("9.9")
    with pytest.raises(ProjectError, match="has no version 7"):
        project.restore_version(7)


def test_update_workflow_swaps_the_graph_and_drops_variants_of_vanished_nodes(project):
    project.register_variant("retriever", "bm25", bm25)
    project.register_variant("generator", "shout", shouting_generator)
    project.update_node("retriever", better_retriever)
    entry = project.update_workflow(answer_only, changelog="no retrieval")
    assert (entry.version, entry.kind, entry.changelog) == (
        "2.0",
        "workflow_update",
        "no retrieval",
    )
    assert entry.dropped_variants == ("retriever:bm25",)
    assert project.node_names() == ["generator"]
    assert project.list_variants() == {"generator": ["default", "shout"]}
    assert project.graph_factory is answer_only
    assert project.state_schema is OtherState
    assert answer(project) == "direct"


def test_update_workflow_does_not_carry_node_updates_over(project):
    project.update_node("retriever", better_retriever)
    project.update_workflow(rag_with_reranker, version="2.0")
    assert answer(project) == "doc1+reranked"
    assert project.update_node("reranker", retriever).version == "2.1"
    assert answer(project) == "doc1"


def test_a_broken_new_workflow_changes_nothing(project):
    project.register_variant("retriever", "bm25", bm25)
    revision = project.revision
    with pytest.raises(ProjectError, match=r"version '2\.0'.*RuntimeError: cannot build"):
        project.update_workflow(broken)
    with pytest.raises(ProjectError, match="must be a function"):
        project.update_workflow("create_graph")
    assert (labels(project), project.revision) == (["1.0"], revision)
    assert project.list_variants("retriever") == {"retriever": ["default", "bm25"]}


def test_restore_across_a_workflow_update(project):
    project.update_node("retriever", better_retriever)
    project.update_workflow(rag_with_reranker, version="2.0")
    project.register_variant("reranker", "noop", retriever)
    assert answer(project) == "doc1+reranked"
    entry = project.restore_version("1.1")
    assert entry.dropped_variants == ("reranker:noop",)
    assert (project.current_version, project.graph_factory) == ("1.1", rag)
    assert answer(project) == "better"
    project.restore_version("2.0")
    assert answer(project) == "doc1+reranked"
    assert labels(project) == ["1.0", "1.1", "2.0", "1.1", "2.0"]


def test_concurrent_updates_get_distinct_labels(project):
    barrier = threading.Barrier(8)

    def update() -> None:
        barrier.wait()
        project.update_node("retriever", better_retriever)

    threads = [threading.Thread(target=update) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(labels(project)) == sorted(["1.0", *(f"1.{n}" for n in range(1, 9))])
    assert [entry.number for entry in project.versions()] == list(range(1, 10))


def test_the_bench_runs_the_version_in_force(tmp_path):
    with WTBTestBench(data_dir=tmp_path / "data", load_entrypoints=False) as bench:
        bench.register_project(WorkflowProject("rag", rag))
        assert bench.run("rag", {"query": "q"}).state["answer"] == "doc1"
        bench.get_project("rag").update_node("retriever", better_retriever)
        assert bench.run("rag", {"query": "q"}).state["answer"] == "better"
        bench.get_project("rag").restore_version("1.0")
        assert bench.run("rag", {"query": "q"}).state["answer"] == "doc1"


def test_an_execution_keeps_the_version_it_started_on(tmp_path, monkeypatch):
    """Runs record their project version; resuming an old one uses that version's code."""
    from tests import workflows
    from wtb_core import WorkflowProject, WTBTestBench

    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    with WTBTestBench(data_dir=tmp_path / "data", load_entrypoints=False) as bench:
        project = bench.register_project(WorkflowProject("versioned", workflows.linear))
        old = bench.run("versioned", {}, breakpoints=["generate"])
        assert old.project_version == "1.0"
        project.update_node("generate", workflows.echo_answer, reason="echo answers")
        new = bench.run("versioned", {"query": "q"})
        assert new.project_version == "1.1" and new.state["answer"] == "echo: q"
        resumed = bench.resume(old.execution_id)
        assert resumed.project_version == "1.0"
        assert "answer" not in resumed.state and resumed.state["log"][-1] == "generate"
