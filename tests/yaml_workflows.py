"""The workflow the YAML fixtures (``tests/yaml_fixtures``) reference by module path."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph


class RAGState(TypedDict, total=False):
    query: str
    documents: list[str]
    answer: str


NOT_CALLABLE = "a module attribute that is not a function"


def retriever(state: RAGState) -> dict[str, Any]:
    return {"documents": ["doc1", "doc2"]}


def bm25_retriever(state: RAGState) -> dict[str, Any]:
    return {"documents": [f"bm25:{state['query']}"]}


def generator(state: RAGState) -> dict[str, Any]:
    return {"answer": f"Answer based on {state['documents']}"}


def reranker(state: RAGState) -> dict[str, Any]:
    return {"documents": sorted(state["documents"], reverse=True)}


def create_rag_graph() -> Any:
    """retriever -> generator, compiled."""
    graph = StateGraph(RAGState)
    graph.add_node("retriever", retriever)
    graph.add_node("generator", generator)
    graph.add_edge(START, "retriever")
    graph.add_edge("retriever", "generator")
    graph.add_edge("generator", END)
    return graph.compile()


def create_rag_with_reranker() -> StateGraph:
    """retriever -> reranker -> generator, as a builder."""
    graph = StateGraph(RAGState)
    graph.add_node("retriever", retriever)
    graph.add_node("reranker", reranker)
    graph.add_node("generator", generator)
    graph.add_edge(START, "retriever")
    graph.add_edge("retriever", "reranker")
    graph.add_edge("reranker", "generator")
    graph.add_edge("generator", END)
    return graph


def broken_factory() -> Any:
    raise RuntimeError("the graph cannot be built")
