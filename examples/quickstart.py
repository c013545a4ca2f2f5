"""WTB quick start: run a workflow, look at its checkpoints, roll back, fork and resume.

Run it from the repository root:  .venv/bin/python examples/quickstart.py

The workflow is ``wtb_core.demo.rag``: a deterministic, offline RAG-like graph
(rewrite_query -> retrieve -> grade -> [rewrite_query again | generate]).
"""

from __future__ import annotations

import tempfile

from wtb_core import WorkflowProject, WTBTestBench
from wtb_core.demo.rag import bm25_retrieve, create_rag_graph


def main() -> None:
    # A bench on the embedded default: SQLite files under a data directory. A temporary
    # one here; WTBTestBench() alone uses ./.wtb, and everything survives a restart.
    with WTBTestBench(data_dir=tempfile.mkdtemp(prefix="wtb-quickstart-")) as bench:
        # 1. A project wraps a graph factory (a StateGraph or a compiled graph both work).
        #    A node variant is an alternative implementation of one node.
        project = WorkflowProject("rag", create_rag_graph, description="demo RAG")
        project.register_variant(node="retrieve", name="bm25", implementation=bm25_retrieve)
        bench.register_project(project)

        # 2. Run it. Every node boundary is a durable checkpoint.
        result = bench.run("rag", {"question": "How do I undo a run?"})
        print(f"run {result.execution_id}: {result.status.value}")
        print("  answer:", result.state["answer"])

        # 3. The checkpoints, oldest first: which nodes wrote each, which run next.
        history = bench.get_checkpoints(result.execution_id)
        for cp in history:
            print(f"  step {cp.step:>2}  nodes={list(cp.nodes)}  next={list(cp.next)}")

        # 4. Roll back to just after the first retrieve, then resume: deterministic nodes
        #    reach the same answer again.
        after_retrieve = next(cp for cp in history if cp.nodes == ("retrieve",))
        paused = bench.rollback(result.execution_id, after_retrieve.checkpoint_id)
        print(f"rolled back: {paused.status.value}, next={list(paused.next)}")
        replay = bench.resume(result.execution_id)
        print("  same answer after resume:", replay.state["answer"] == result.state["answer"])

        # 5. Fork from the checkpoint before generate with edited state: a new execution;
        #    the source execution is never changed.
        lineage = bench.get_checkpoints(result.execution_id)
        before_generate = [cp for cp in lineage if cp.next == ("generate",)][-1]
        fork = bench.fork(
            result.execution_id, before_generate.checkpoint_id, updates={"relevant": ["d6"]}
        )
        forked = bench.resume(fork.execution_id)
        print(f"fork {forked.execution_id} (of {forked.parent_execution_id}):")
        print("  answer:", forked.state["answer"])

        # 6. The same workflow with the bm25 variant of the retrieve node.
        bm25 = bench.run(
            "rag", {"question": "What is LangGraph?"}, variant_config={"retrieve": "bm25"}
        )
        print("bm25 variant cites:", bm25.state["relevant"])


if __name__ == "__main__":
    main()
