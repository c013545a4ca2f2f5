"""``wtb demo``: a guided time-travel tour over the demo RAG workflow.

Runs ``wtb_core.demo.rag`` for a question that makes the grader loop once, prints the
checkpoint timeline, rolls back to the first ``retrieve`` and resumes (same answer), then
forks before ``generate`` with different relevant documents and resumes the fork (a
different answer). Finally it registers the BM25 retriever as a variant of ``retrieve`` and
batch-tests both retrievers on a few questions with golden answers. Works on a fresh or a
reused data directory: every run is a new execution (and batch) of the project ``rag_demo``.
"""

from __future__ import annotations

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from wtb_core.batch.comparison import Comparison
from wtb_core.batch.service import BatchTestResult
from wtb_core.cli import render
from wtb_core.demo.rag import (
    bm25_retrieve,
    citation_recall,
    cited,
    compose_answer,
    create_rag_graph,
)
from wtb_core.domain.models import Checkpoint, ExecutionResult, TestCase
from wtb_core.project import WorkflowProject
from wtb_core.sdk.bench import WTBTestBench

PROJECT = "rag_demo"
QUESTION = "How do I undo a run?"
FORK_UPDATES = {"relevant": ["d6"]}
# Batch-test questions and the documents their golden answers cite.
GOLDEN: dict[str, list[str]] = {
    "How do I undo a run?": ["d5", "d4"],
    "What is LangGraph?": ["d1", "d2"],
    "Where does LangGraph save state?": ["d2", "d3"],
    "How does WTB checkpoint workflows?": ["d4", "d6"],
    "How do I pause a node for a human?": ["d8"],
    "What is time travel?": ["d3"],
}
BATCH_MATRIX = [{}, {"retrieve": "bm25"}]


class TourSummary(BaseModel):
    """What the tour did; ``wtb demo --json`` prints it."""

    project: str
    execution_id: str
    fork_execution_id: str
    checkpoints: int
    rollback_checkpoint_id: str
    fork_checkpoint_id: str
    answer: str
    replayed_answer: str
    same_answer: bool
    fork_answer: str
    batch_id: str
    batch_pass_rates: dict[str, float]
    data_dir: str


def _first_written_by(history: list[Checkpoint], node: str) -> Checkpoint:
    return next(c for c in history if c.nodes == (node,))


def _last_before(history: list[Checkpoint], node: str) -> Checkpoint:
    return [c for c in history if c.next == (node,)][-1]


def _answer(result: ExecutionResult) -> str:
    return str(result.state.get("answer", ""))


def _step(console: Console, number: int, markup: str) -> None:
    console.print(f"[bold cyan]{number}.[/] {markup}")


def _indented(text: str) -> Padding:
    return Padding(Text(text), (0, 0, 0, 3))


def _results_table(rows: list[tuple[str, ExecutionResult]], first_answer: str) -> Table:
    table = Table()
    for column in ("execution", "what", "status", "answer cites", "same answer"):
        table.add_column(column, no_wrap=True)
    for what, r in rows:
        table.add_row(
            Text(r.execution_id),
            what,
            render.status_text(r.status.value),
            Text(", ".join(cited(r.state))),
            "yes" if _answer(r) == first_answer else "no",
        )
    return table


def run_tour(bench: WTBTestBench, console: Console) -> TourSummary:
    """Run the tour on ``bench`` (which it registers the ``rag_demo`` project with),
    printing to ``console``; returns what happened."""
    project = bench.register_project(
        WorkflowProject(PROJECT, create_rag_graph, description="WTB demo: a looping RAG flow")
    )
    console.rule("[bold]WTB demo[/]: time travel on a RAG workflow")

    first = bench.run(PROJECT, {"question": QUESTION})
    eid = first.execution_id
    history = bench.get_checkpoints(eid)
    _step(
        console,
        1,
        f"run {escape(repr(QUESTION))}: {first.status.value}, {len(history)} checkpoints",
    )
    console.print(_indented("grade kept too few documents, so the query was broadened once:"))
    console.print(render.checkpoints_table(history, head=first.checkpoint_id))
    console.print(_indented(f"answer: {_answer(first)}"))

    after_retrieve = _first_written_by(history, "retrieve")
    bench.rollback(eid, after_retrieve.checkpoint_id)
    replay = bench.resume(eid)
    same = _answer(replay) == _answer(first)
    _step(
        console,
        2,
        f"rollback to step {after_retrieve.step} (after the first retrieve), resume: "
        + ("[green]same answer[/]" if same else "[red]a different answer[/]"),
    )

    before_generate = _last_before(bench.get_checkpoints(eid), "generate")
    fork = bench.fork(eid, before_generate.checkpoint_id, updates=FORK_UPDATES)
    forked = bench.resume(fork.execution_id)
    _step(
        console,
        3,
        f"fork at step {before_generate.step} (before generate) with "
        f"{escape(render.changes({}, FORK_UPDATES))}, resume:",
    )
    console.print(_indented(f"answer: {_answer(forked)}"))

    console.print(_results_table([("rollback + resume", replay), ("fork", forked)], _answer(first)))
    batch, comparison = _batch_test(bench, project, console)
    _hints(console, bench, eid, batch.batch_id)
    return TourSummary(
        project=PROJECT,
        execution_id=eid,
        fork_execution_id=forked.execution_id,
        checkpoints=len(history),
        rollback_checkpoint_id=after_retrieve.checkpoint_id,
        fork_checkpoint_id=before_generate.checkpoint_id,
        answer=_answer(first),
        replayed_answer=_answer(replay),
        same_answer=same,
        fork_answer=_answer(forked),
        batch_id=batch.batch_id,
        batch_pass_rates={c.combination_label: c.pass_rate for c in comparison.combinations},
        data_dir=str(bench.config.data_dir),
    )


def _golden_cases() -> list[TestCase]:
    return [
        TestCase(
            inputs={"question": question},
            expected={"answer": compose_answer(question, docs)},
            name=f"q{number}",
        )
        for number, (question, docs) in enumerate(GOLDEN.items(), 1)
    ]


def _batch_test(
    bench: WTBTestBench, project: WorkflowProject, console: Console
) -> tuple[BatchTestResult, Comparison]:
    """Register ``bm25`` for ``retrieve``, batch-test both retrievers on ``GOLDEN`` and print
    the comparison."""
    project.register_variant("retrieve", "bm25", bm25_retrieve, description="BM25 ranking")
    cases = _golden_cases()
    batch = bench.run_batch_test(
        PROJECT,
        BATCH_MATRIX,
        cases,
        evaluators=["exact_match", citation_recall],
        runner="threadpool",
        parallelism=2,
    )
    _step(
        console,
        4,
        f"batch test, default vs bm25 retrieval: {len(cases)} golden questions, "
        f"{batch.total_cells} runs:",
    )
    comparison = batch.comparison()
    console.print(comparison)
    return batch, comparison


def _hints(console: Console, bench: WTBTestBench, execution_id: str, batch_id: str) -> None:
    """Commands to explore what the tour left behind."""
    data_dir = bench.config.data_dir
    console.print(f"Data in {data_dir}. Explore it:", style="dim")
    for command in (
        f"checkpoints {execution_id} --all-branches",
        f"audit {execution_id}",
        f"batch show {batch_id}",
    ):
        console.print(Text(f"  {render.wtb_command(data_dir, command)}", style="dim"))
    console.print(
        "Serve it over HTTP (REST, events, the LangGraph API; the dashboard at "
        "http://127.0.0.1:8765/):",
        style="dim",
    )
    console.print(Text(f"  {render.wtb_command(data_dir, 'serve')}", style="dim"))
