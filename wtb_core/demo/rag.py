"""A deterministic, offline RAG-like workflow used by ``wtb demo``, the examples and tests.

``rewrite_query -> retrieve -> grade``, then back to ``rewrite_query`` (with a broadened
query) while fewer than ``MIN_RELEVANT`` documents are relevant and fewer than
``MAX_ATTEMPTS`` queries were tried, else ``generate -> END``. Everything is pure Python
over the in-module ``CORPUS``: same input, same checkpoints, same answer.

``bm25_retrieve`` is a drop-in alternative for the ``retrieve`` node (a node variant);
``citation_recall`` scores an answer's citations in batch tests.
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

if TYPE_CHECKING:
    from wtb_core.domain.models import ExecutionResult, TestCase

CORPUS: dict[str, str] = {
    "d1": "LangGraph builds stateful agent workflows as graphs of nodes and edges.",
    "d2": "A LangGraph checkpointer saves the graph state after every super-step.",
    "d3": "Time travel in LangGraph replays a thread from any earlier checkpoint.",
    "d4": "WTB runs LangGraph workflows with a durable checkpoint at every node boundary.",
    "d5": "WTB rollback moves an execution back to an earlier checkpoint, state and files.",
    "d6": "WTB fork copies an execution up to a checkpoint into a new execution to explore.",
    "d7": "Node variants swap one node implementation so batch tests compare retrievers.",
    "d8": "An interrupt pauses a LangGraph node until a human answers it on resume.",
}

# Terms a broadened query adds for a term of the question.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "undo": ("rollback", "checkpoint", "earlier"),
    "run": ("execution", "workflow"),
    "branch": ("fork", "execution"),
    "copy": ("fork",),
    "pause": ("interrupt", "resume"),
    "compare": ("variant", "batch"),
    "save": ("checkpoint", "checkpointer"),
}

STOPWORDS = frozenset({
    "a", "an", "and", "any", "as", "at", "do", "does", "every", "for", "from", "how", "i",
    "in", "into", "is", "it", "of", "on", "one", "so", "the", "to", "until", "up", "what",
    "when", "with",
})  # fmt: skip

TOP_K = 3
MIN_RELEVANT = 2
MAX_ATTEMPTS = 2
BM25_K1, BM25_B = 1.5, 0.75


class RAGState(TypedDict, total=False):
    """State of the demo workflow. ``queries`` accumulates every query tried."""

    question: str
    query: str
    attempts: int
    queries: Annotated[list[str], operator.add]
    documents: list[str]
    relevant: list[str]
    answer: str


def tokenize(text: str) -> list[str]:
    """Lower-case words without stop words, with a plural ``s`` stripped."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [_stem(w) for w in words if w not in STOPWORDS]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _top(scores: dict[str, float]) -> list[str]:
    """Ids of the ``TOP_K`` best positive scores, best first (ties by id)."""
    ranked = sorted((doc for doc, s in scores.items() if s > 0), key=lambda d: (-scores[d], d))
    return ranked[:TOP_K]


def rewrite_query(state: RAGState) -> dict[str, Any]:
    """First attempt: the question's key terms. Later attempts add synonyms (broadening)."""
    attempts = state.get("attempts", 0) + 1
    terms = tokenize(state["question"])
    if attempts > 1:
        terms += [syn for term in terms for syn in SYNONYMS.get(term, ())]
    query = " ".join(dict.fromkeys(terms))
    return {"query": query, "attempts": attempts, "queries": [query]}


def retrieve(state: RAGState) -> dict[str, Any]:
    """Keyword retrieval: score = occurrences of query terms in a document."""
    terms = set(tokenize(state["query"]))
    scores = {doc: float(sum(t in terms for t in tokenize(text))) for doc, text in CORPUS.items()}
    return {"documents": _top(scores)}


def bm25_retrieve(state: RAGState) -> dict[str, Any]:
    """BM25 retrieval (``BM25_K1``, ``BM25_B``) over the same corpus; a drop-in variant of
    ``retrieve``."""
    k1, b = BM25_K1, BM25_B
    docs = {doc: tokenize(text) for doc, text in CORPUS.items()}
    avg_len = sum(map(len, docs.values())) / len(docs)
    terms = set(tokenize(state["query"]))
    df = Counter(t for words in docs.values() for t in set(words) if t in terms)
    scores: dict[str, float] = {}
    for doc, words in docs.items():
        tf = Counter(words)
        norm = k1 * (1 - b + b * len(words) / avg_len)
        scores[doc] = sum(
            math.log(1 + (len(docs) - df[t] + 0.5) / (df[t] + 0.5))
            * tf[t]
            * (k1 + 1)
            / (tf[t] + norm)
            for t in terms
            if tf[t]
        )
    return {"documents": _top(scores)}


def grade(state: RAGState) -> dict[str, Any]:
    """Keep documents sharing at least two query terms (one for a one-term query)."""
    terms = set(tokenize(state["query"]))
    needed = min(2, len(terms))
    relevant = [
        doc
        for doc in state.get("documents", [])
        if len(terms & set(tokenize(CORPUS[doc]))) >= needed
    ]
    return {"relevant": relevant}


def route_after_grade(state: RAGState) -> str:
    """``rewrite_query`` while too few documents are relevant and attempts remain."""
    enough = len(state.get("relevant", [])) >= MIN_RELEVANT
    if not enough and state.get("attempts", 0) < MAX_ATTEMPTS:
        return "rewrite_query"
    return "generate"


def cited(state: RAGState | dict[str, Any]) -> list[str]:
    """The documents ``generate`` answers from: the two best relevant ones."""
    return state.get("relevant", [])[:2]


def compose_answer(question: str, doc_ids: Sequence[str]) -> str:
    """The template answer from ``doc_ids``, citing them at its end: ``... [d1, d2]``."""
    if not doc_ids:
        return f"No document answers {question!r}."
    body = " ".join(CORPUS[doc] for doc in doc_ids)
    return f"{body} [{', '.join(doc_ids)}]"


def generate(state: RAGState) -> dict[str, Any]:
    """A template answer from the ``cited`` documents, citing their ids."""
    return {"answer": compose_answer(state["question"], cited(state))}


def citations(answer: str) -> list[str]:
    """The document ids an answer cites (its trailing ``[d1, d2]``)."""
    match = re.search(r"\[([^\]]*)\]$", answer)
    return match.group(1).split(", ") if match else []


def citation_recall(case: TestCase, outcome: ExecutionResult) -> float:
    """Batch-test evaluator: the share of the documents the expected answer cites that the
    answer cites too (1.0 when neither cites any)."""
    expected = citations((case.expected or {})["answer"])
    got = set(citations(str(outcome.state.get("answer", ""))))
    return sum(doc in got for doc in expected) / len(expected) if expected else float(not got)


def create_rag_graph() -> StateGraph[RAGState]:
    """The demo workflow as an (uncompiled) ``StateGraph``; WTB compiles it."""
    graph = StateGraph(RAGState)
    graph.add_node("rewrite_query", rewrite_query)
    graph.add_node("retrieve", retrieve)
    graph.add_node("grade", grade)
    graph.add_node("generate", generate)
    graph.add_edge(START, "rewrite_query")
    graph.add_edge("rewrite_query", "retrieve")
    graph.add_edge("retrieve", "grade")
    graph.add_conditional_edges("grade", route_after_grade, ["rewrite_query", "generate"])
    graph.add_edge("generate", END)
    return graph
