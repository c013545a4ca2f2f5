"""``wtb batch`` / ``wtb batches`` and YAML projects on the command line (typer's CliRunner)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import Result

from tests.cli_helpers import Invoke, as_json, assert_error, cli, ok
from wtb_core import WorkflowProject, WTBTestBench
from wtb_core.batch.service import BatchProgress

YAML = str(Path(__file__).parent / "yaml_fixtures" / "bench_project.yaml")
OTHER_YAML = str(Path(__file__).parent / "yaml_fixtures" / "rag_project.yaml")
CASES = [
    {
        "inputs": {"query": "q1"},
        "expected": {"answer": "Answer based on ['doc1', 'doc2']"},
        "name": "docs",
    },
    {"inputs": {"query": "q2"}, "expected": {"documents": ["bm25:q2"]}, "name": "bm25"},
    {"query": "q3"},  # plain inputs
]
MATRIX = "- {}\n- {retriever: bm25_retriever}\n- {_workflow: rag_with_reranker}\n"
COMBINATIONS = [{}, {"retriever": "bm25_retriever"}, {"_workflow": "rag_with_reranker"}]
LABELS = ["default", "retriever=bm25_retriever", "_workflow=rag_with_reranker"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "wtb-data"


@pytest.fixture
def wtb(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """``wtb(*args)``: run the CLI on this test's own data directory."""
    return cli(data_dir, monkeypatch)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """The cases (with a blank line) and matrix files."""
    cases = tmp_path / "cases.jsonl"
    lines = [json.dumps(CASES[0]), "", *map(json.dumps, CASES[1:])]
    cases.write_text("\n".join(lines) + "\n")
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX)
    return {"cases": str(cases), "matrix": str(matrix)}


def batch(wtb: Invoke, files: dict[str, str], *extra: str) -> Result:
    return wtb("batch", YAML, "--cases", files["cases"], "--matrix", files["matrix"], *extra)


def only_batch_id(wtb: Invoke) -> str:
    (listed,) = as_json(wtb, "batches")
    return listed["batch_id"]


# -- wtb batch [run] ---------------------------------------------------------------------------


def test_batch_runs_a_yaml_project_and_prints_the_comparison(
    wtb: Invoke, files: dict[str, str]
) -> None:
    out = ok(batch(wtb, files)).stdout
    batch_id = only_batch_id(wtb)
    assert f"batch {batch_id}" in out and "9/9" in out and "0 failed" in out  # the progress bar
    assert "Batch summary" in out and "default (baseline)" in out
    assert all(label in out for label in LABELS)
    assert "exact_match" in out and "latency" in out  # default evaluators: cases expect values
    assert "method" in out and "wilson" in out
    assert f"batch show {batch_id}" in out


def test_batch_is_short_for_batch_run_whose_help_lists_the_subcommands(
    wtb: Invoke, files: dict[str, str]
) -> None:
    help_text = ok(wtb("batch", "--help")).stdout
    assert all(command in help_text for command in ("run", "show", "resume", "cancel"))
    ok(wtb("batch", "--cases", files["cases"], YAML))  # options first: still `run`
    ok(wtb("batch", "run", YAML, "--cases", files["cases"], "--evaluator", "latency"))
    rows = [b["rows"] for b in as_json(wtb, "batches")]
    assert rows == [3, 3]


def test_batch_json_has_rows_and_the_comparison(wtb: Invoke, files: dict[str, str]) -> None:
    options = ["--repetitions", "2", "--runner", "threadpool", "-j", "4", "--baseline", LABELS[1]]
    out = json.loads(ok(batch(wtb, files, "--json", *options)).stdout)
    assert out["status"] == "completed" and out["project"] == "yaml_rag"
    assert out["rows"] == out["total_cells"] == len(out["results"]) == 3 * 3 * 2
    assert {r["case"] for r in out["results"]} == {"docs", "bm25", "case-2"}
    rows = out["results"]
    assert [r["combination"] for r in rows[::6]] == COMBINATIONS  # the matrix entries as given
    assert [r["combination_label"] for r in rows[::6]] == LABELS
    bm25 = [r for r in rows if r["combination"] == {"retriever": "bm25_retriever"}]
    assert len(bm25) == 6 and {r["combination_index"] for r in bm25} == {1}
    comparison = out["comparison"]
    assert comparison["baseline"] == COMBINATIONS[1]
    assert comparison["baseline_label"] == LABELS[1]
    assert [c["combination"] for c in comparison["combinations"]] == COMBINATIONS
    assert [c["combination_label"] for c in comparison["combinations"]] == LABELS
    assert comparison["combinations"][0]["metrics"]["exact_match"]["ci_method"] == "wilson"
    assert out["fail_under"] == []


def test_evaluators_by_name_and_by_reference(wtb: Invoke, files: dict[str, str]) -> None:
    reference = "wtb_core.builtins.evaluators:exact_match"
    options = ["--evaluator", "contains", "--evaluator", reference]
    out = as_json(wtb, "batch", YAML, "--cases", files["cases"], *options)
    metrics = out["comparison"]["combinations"][0]["metrics"]
    assert set(metrics) == {"contains", "exact_match"}


def test_junit_and_markdown_reports(wtb: Invoke, files: dict[str, str], tmp_path: Path) -> None:
    junit, markdown = tmp_path / "out" / "junit.xml", tmp_path / "out" / "comparison.md"
    ok(batch(wtb, files, "--junit", str(junit), "--markdown", str(markdown)))
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "9"
    assert [s.get("name") for s in root.iter("testsuite")] == LABELS
    assert len(list(root.iter("testcase"))) == 9
    assert markdown.read_text().startswith("### Batch summary")


def test_fail_under_passes_or_names_what_fell_short(wtb: Invoke, files: dict[str, str]) -> None:
    ok(batch(wtb, files, "--fail-under", "success_rate=1", "--fail-under", "exact_match=0"))
    failing = batch(wtb, files, "--fail-under", "exact_match=0.4")
    assert failing.exit_code == 1
    assert failing.stderr == "fail-under: _workflow=rag_with_reranker: exact_match 0.000 < 0.4\n"
    assert "Batch summary" in failing.stdout
    unknown = batch(wtb, files, "--json", "--fail-under", "bleu=0.5")
    assert unknown.exit_code == 1 and "bleu: not a metric" in unknown.stderr
    assert json.loads(unknown.stdout)["fail_under"][0].startswith("bleu: not a metric")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"query": "a"}', '{"query": '], "line 2: not valid JSON"),
        (['{"query": "a"}', "", "[1, 2]"], "line 3: a test case must be a JSON object"),
        (['{"inputs": {"query": "a"}, "expect": {}}'], "line 1: unknown key(s) expect"),
        (['{"inputs": "a"}'], "line 1: inputs: Input should be a valid dictionary"),
        (["", "  "], "has no test cases"),
    ],
)
def test_a_bad_cases_file_names_the_line(
    wtb: Invoke, tmp_path: Path, lines: list[str], message: str
) -> None:
    cases = tmp_path / "bad.jsonl"
    cases.write_text("\n".join(lines))
    assert_error(wtb("batch", YAML, "--cases", str(cases)), message)
    assert as_json(wtb, "batches") == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--matrix", "missing.yaml"], "--matrix missing.yaml: No such file"),
        (["--fail-under", "pass_rate"], "--fail-under 'pass_rate' is not METRIC=NUMBER"),
        (["--baseline", "retriever=x"], "--baseline 'retriever=x' is not a combination"),
        (["--baseline", "{retriever: x}"], "--baseline '{retriever: x}' is not a combination"),
        (["--baseline", "{retriever: [x]}"], "--baseline '{retriever: [x]}' must be a label"),
        (["--name", "x"], "--name cannot rename the YAML project"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    wtb: Invoke, files: dict[str, str], extra: list[str], message: str
) -> None:
    assert_error(wtb("batch", YAML, "--cases", files["cases"], *extra), message)
    assert as_json(wtb, "batches") == []


def test_a_matrix_must_be_a_list_of_mappings(
    wtb: Invoke, files: dict[str, str], tmp_path: Path
) -> None:
    matrix = tmp_path / "matrix.json"
    matrix.write_text('[{"retriever": "bm25_retriever"}, ["x"]]')
    assert_error(
        wtb("batch", YAML, "--cases", files["cases"], "--matrix", str(matrix)),
        "entry 2: must map node names to variant names",
    )


# -- show, batches, cancel, resume -------------------------------------------------------------


def test_batches_lists_and_show_shows_a_batch(wtb: Invoke, files: dict[str, str]) -> None:
    ok(batch(wtb, files))
    batch_id = only_batch_id(wtb)
    listing = ok(wtb("batches")).stdout
    assert batch_id in listing and "yaml_rag" in listing and "9/9" in listing
    assert as_json(wtb, "batches", "--project", "other") == []
    shown = ok(wtb("batch", "show", batch_id, "--baseline", LABELS[2])).stdout
    assert "completed" in shown and "9/9" in shown
    assert "_workflow=rag_with_reranker (baseline)" in shown
    data = as_json(wtb, "batch", "show", batch_id)
    assert data["status"] == "completed" and len(data["results"]) == 9
    assert (
        data["comparison"]["baseline"] == {} and data["comparison"]["baseline_label"] == "default"
    )
    assert [r["combination"] for r in data["results"][::3]] == COMBINATIONS
    by_entry = as_json(
        wtb, "batch", "show", batch_id, "--baseline", "{_workflow: rag_with_reranker}"
    )
    assert by_entry["comparison"]["baseline"] == COMBINATIONS[2]
    assert by_entry["comparison"]["baseline_label"] == LABELS[2]
    assert_error(
        wtb("batch", "show", batch_id, "--baseline", "{retriever: nope}"),
        "--baseline '{retriever: nope}' is not a combination of this batch",
    )
    assert_error(wtb("batch", "show", "nope"), "batch 'nope' does not exist")


def test_cancel_of_a_completed_batch_is_an_error(wtb: Invoke, files: dict[str, str]) -> None:
    ok(batch(wtb, files))
    assert_error(wtb("batch", "cancel", only_batch_id(wtb)), "is already completed")


def test_resume_of_a_complete_batch_has_nothing_to_run(wtb: Invoke, files: dict[str, str]) -> None:
    ok(batch(wtb, files))
    batch_id = only_batch_id(wtb)
    out = ok(wtb("batch", "resume", batch_id)).stdout
    assert "no cell is missing (9 rows); nothing to run" in out
    assert as_json(wtb, "batch", "resume", batch_id, "--retry-failed")["rows"] == 9


def _cancelled_batch(data_dir: Path) -> str:
    """A batch of ``bench_project.yaml`` cancelled after its first row."""
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(WorkflowProject.from_yaml(YAML))

        def cancel_after_first(progress: BatchProgress) -> None:
            if progress.done == 1:
                bench.cancel_batch(progress.batch_id)

        result = bench.run_batch_test(
            "yaml_rag",
            [{}, {"retriever": "bm25_retriever"}],
            [{"query": "a"}, {"query": "b"}],
            ["latency"],
            runner="sequential",
            on_progress=cancel_after_first,
        )
    assert result.status.value == "cancelled" and result.missing_cells == 3
    return result.batch_id


def test_resume_runs_the_missing_cells_of_a_cancelled_batch(wtb: Invoke, data_dir: Path) -> None:
    batch_id = _cancelled_batch(data_dir)
    shown = ok(wtb("batch", "show", batch_id)).stdout
    assert "cancelled" in shown and "1/4" in shown
    assert_error(
        wtb("batch", "resume", batch_id, "--project", OTHER_YAML),
        "is project 'rag_pipeline', not 'yaml_rag'",
    )
    out = ok(wtb("batch", "resume", batch_id, "-j", "2", "--project", YAML)).stdout
    assert f"batch {batch_id}" in out and "3/3" in out  # the progress bar: 3 missing cells
    assert f"batch show {batch_id}" in out
    data = as_json(wtb, "batch", "show", batch_id)
    assert data["status"] == "completed" and data["rows"] == 4 and data["failed_rows"] == 0


# -- YAML projects, the demo -------------------------------------------------------------------


def test_run_takes_a_yaml_project_with_variants(wtb: Invoke) -> None:
    hi = '{"query": "hi"}'
    out = ok(wtb("run", YAML, "--input", hi, "--variant", "retriever=bm25_retriever")).stdout
    assert "yaml_rag" in out and "bm25:hi" in out and "retriever=bm25_retriever" in out
    reranked = as_json(wtb, "run", YAML, "-i", hi, "--workflow-variant", "rag_with_reranker")
    assert reranked["workflow_variant"] == "rag_with_reranker"
    assert reranked["state"]["documents"] == ["doc2", "doc1"]
    assert_error(wtb("run", YAML, "--name", "other"), "--name cannot rename the YAML project")
    assert_error(wtb("run", "missing.yaml"), "missing.yaml")


def test_the_demo_ends_with_a_batch_test(wtb: Invoke, tmp_path: Path) -> None:
    out = ok(wtb("demo", "--data-dir", str(tmp_path / "demo"))).stdout
    assert "batch test" in out and "retrieve=bm25" in out and "citation_recall" in out
    assert "batch show" in out
    summary = as_json(wtb, "demo", "--data-dir", str(tmp_path / "demo"))
    assert summary["batch_pass_rates"] == {"default": 5 / 6, "retrieve=bm25": 4 / 6}
    batches = as_json(wtb, "--data-dir", str(tmp_path / "demo"), "batches")
    assert len(batches) == 2 and batches[0]["batch_id"] == summary["batch_id"]  # newest first
