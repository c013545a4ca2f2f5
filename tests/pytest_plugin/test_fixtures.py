"""The fixtures and the marker: what a marked test runs, how its failures read, its bench."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tests.pytest_plugin.conftest import junit_properties, run
from wtb_core import WTBTestBench
from wtb_core.cli.app import build_app


def test_a_marked_test_runs_its_repetitions_and_reports_their_metrics(wtb_pytester):
    wtb_pytester.makepyfile(
        test_marked="""
        import pytest
        from wtb_core.testing import Outcomes, expect

        @pytest.mark.wtb(project="pluginflow:project", repetitions=3)
        @pytest.mark.parametrize("query", ["What is LangGraph?", "How does RAG work?"])
        def test_answers_cite_sources(wtb_run, query):
            outcome = wtb_run({"query": query})
            assert isinstance(outcome, Outcomes) and len(outcome) == 3
            assert len({run.execution_id for run in outcome}) == 3
            expect(outcome).completed().state("answer").contains("[d").state("query").equals(query)
        """
    )
    result = run(wtb_pytester, "--junitxml=out.xml")
    result.assert_outcomes(passed=2)
    properties = junit_properties(wtb_pytester.path / "out.xml")
    for name in ("test_answers_cite_sources[What is LangGraph?]",
                 "test_answers_cite_sources[How does RAG work?]"):  # fmt: skip
        found = properties[name]
        assert found["wtb.runs"] == "3"
        assert found["wtb.pass_rate"] == "1"
        assert found["wtb.success_rate"] == "1"
        assert float(found["wtb.latency_p95_ms"]) >= float(found["wtb.latency_p50_ms"]) > 0


def test_the_marker_scores_each_run_with_its_evaluators(wtb_pytester):
    wtb_pytester.makepyfile(
        test_scored="""
        import pytest

        @pytest.mark.wtb(project="pluginflow:project", repetitions=2, evaluators=["exact_match"])
        def test_right(wtb_run):
            wtb_run({"query": "q1"}, expected={"answer": "about q1 [d1]"})

        @pytest.mark.wtb(project="pluginflow:project", evaluators=["exact_match"])
        def test_wrong(wtb_run):
            wtb_run({"query": "q1"}, {"answer": "terse"}, expected={"answer": "about q1 [d1]"})
        """
    )
    result = run(wtb_pytester, "--junitxml=out.xml")
    result.assert_outcomes(passed=2)  # a low score is for gates to judge, not a failure
    properties = junit_properties(wtb_pytester.path / "out.xml")
    assert properties["test_right"]["wtb.exact_match"] == "1"
    assert properties["test_right"]["wtb.runs"] == "2"
    assert properties["test_wrong"]["wtb.exact_match"] == "0"
    assert properties["test_wrong"]["wtb.pass_rate"] == "0"


def test_a_failing_repetition_fails_the_test_naming_the_execution_and_how_to_inspect_it(
    wtb_pytester, monkeypatch
):
    wtb_pytester.makepyfile(
        test_flaky="""
        import pytest

        @pytest.mark.wtb(project="pluginflow:project", repetitions=3)
        def test_flaky(wtb_run):
            wtb_run({"query": "flaky"})
        """
    )
    result = run(wtb_pytester)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "wtb_run: 1 of 3 runs of project 'qa' failed" in output
    match = re.search(
        r"run 2 of 3: execution (\w+) failed: ValueError: cannot answer 'flaky'", output
    )
    assert match, output
    execution = match.group(1)
    audit = re.search(
        r"inspect its audit trail: WTB_CHECKPOINT_STORE=memory wtb --data-dir (\S+) audit "
        + execution,
        output,
    )
    assert audit, output
    data_dir = audit.group(1)
    assert "its checkpoints were kept in memory: to list them, run the test again with " in output
    then = f"then wtb --data-dir {data_dir} checkpoints {execution}"
    assert f"WTB_CHECKPOINT_STORE=sqlite, {then}" in output
    monkeypatch.setenv("WTB_CHECKPOINT_STORE", "memory")  # the command the hint gives works
    trail = CliRunner().invoke(build_app(), ["--data-dir", data_dir, "audit", execution])
    assert trail.exit_code == 0, trail.output
    assert "node_failed" in trail.output and "cannot answer 'flaky'" in trail.output


def test_with_sqlite_checkpoints_the_hint_lists_the_failed_runs_checkpoints(
    wtb_pytester, monkeypatch
):
    monkeypatch.setenv("WTB_CHECKPOINT_STORE", "sqlite")
    wtb_pytester.makepyfile(
        test_boom="""
        import pytest

        @pytest.mark.wtb(project="pluginflow:project")
        def test_boom(wtb_run):
            wtb_run({"query": "boom"})
        """
    )
    result = run(wtb_pytester)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    hint = re.search(r"inspect it: wtb --data-dir (\S+) checkpoints (\w+)\n", output)
    assert hint, output
    assert "kept in memory" not in output
    listed = CliRunner().invoke(
        build_app(), ["--data-dir", hint.group(1), "checkpoints", hint.group(2)]
    )
    assert listed.exit_code == 0, listed.output
    assert "answer" in listed.output  # the checkpoint after the node that ran before "check"


def test_expect_failures_show_the_key_the_state_and_the_execution(wtb_pytester):
    wtb_pytester.makepyfile(
        test_expect="""
        import pytest
        from wtb_core.testing import expect

        @pytest.mark.wtb(project="pluginflow:project", repetitions=2)
        def test_wrong_value(wtb_run):
            expect(wtb_run({"query": "hi"})).completed().state("answer").contains("zzz")

        @pytest.mark.wtb(project="pluginflow:project")
        def test_missing_key(wtb_run):
            expect(wtb_run({"query": "hi"})).state("sources").equals([])
        """
    )
    result = run(wtb_pytester)
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert "expected state['answer'] contains 'zzz'; 2 of 2 runs do not" in output
    for n in (1, 2):
        assert re.search(rf"run {n} of 2, execution \w+ \(project 'qa'\): state\['answer'\] "
                         "does not contain it", output), output  # fmt: skip
    assert "state['answer'] = 'about hi [d1]'" in output
    assert "state: {'query': 'hi', 'answer': 'about hi [d1]'}" in output
    assert re.search(
        r"inspect its audit trail: WTB_CHECKPOINT_STORE=memory wtb --data-dir \S+ audit \w+", output
    )
    assert "expected state['sources'] == []" in output
    assert "the state has no key 'sources' (its keys: query, answer)" in output


def test_projects_are_named_by_reference_or_by_a_name_wtb_projects_registered(wtb_pytester):
    wtb_pytester.makeconftest(
        """
        import pytest
        import pluginflow

        @pytest.fixture
        def wtb_projects():
            return [pluginflow.project]
        """
    )
    wtb_pytester.makepyfile(
        test_named="""
        import pytest
        from wtb_core.testing import expect

        pytestmark = pytest.mark.wtb(project="qa")

        def test_by_name(wtb_run):
            expect(wtb_run({"query": "x"})).completed()

        @pytest.mark.wtb("pluginflow:make_graph")
        def test_a_graph_factory(wtb_run, wtb_bench):
            expect(wtb_run({"query": "x"})).completed()
            assert "make_graph" in wtb_bench.list_projects()

        def test_a_batch_on_the_bench(wtb_bench):
            from pluginflow import CASES
            batch = wtb_bench.run_batch_test("qa", variant_matrix=[{}], test_cases=CASES[:2])
            assert len(batch.results) == 2
        """
    )
    run(wtb_pytester).assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('@pytest.mark.wtb(project="nope")',
         "@pytest.mark.wtb(project=...): no project 'nope' is registered (registered: none); "
         "name it by a 'module:attribute' reference"),
        ('@pytest.mark.wtb(project="pluginflow:missing")',
         "module 'pluginflow' has no attribute 'missing'"),
        ('@pytest.mark.wtb(project="pluginflow:project", repetitions=0)',
         "@pytest.mark.wtb: repetitions must be"),
        ('@pytest.mark.wtb(projects="pluginflow:project")',
         "@pytest.mark.wtb: unknown argument(s) projects; it takes project, repetitions and "
         "evaluators"),
        ("", "uses wtb_run without a wtb marker: add @pytest.mark.wtb(project="),
    ],
)  # fmt: skip
def test_a_bad_marker_errors_the_test_saying_what_to_write(wtb_pytester, marker, message):
    wtb_pytester.makepyfile(
        test_bad=f"""
        import pytest

        {marker}
        def test_it(wtb_run):
            pass
        """
    )
    result = run(wtb_pytester)
    result.assert_outcomes(errors=1)
    assert message in result.stdout.str()


def test_wtb_bench_is_a_fresh_bench_per_test_with_memory_checkpoints_closed_after_it(
    wtb_pytester, monkeypatch
):
    closed: list[str] = []
    close = WTBTestBench.close

    def recording_close(self: WTBTestBench) -> None:
        closed.append(str(self.config.data_dir))
        close(self)

    monkeypatch.setattr(WTBTestBench, "close", recording_close)
    wtb_pytester.makepyfile(
        test_bench="""
        def test_one(wtb_bench, tmp_path):
            assert wtb_bench.config.data_dir == tmp_path / "wtb"
            assert wtb_bench.config.checkpoint_store == "memory"
            assert wtb_bench.list_projects() == []

        def test_two(wtb_bench, tmp_path):
            assert wtb_bench.config.data_dir == tmp_path / "wtb"
        """
    )
    run(wtb_pytester).assert_outcomes(passed=2)
    assert [path.rsplit("/", 2)[-2:] for path in closed] == [
        ["test_one0", "wtb"],
        ["test_two0", "wtb"],
    ]


def test_a_configured_checkpoint_store_is_used(wtb_pytester, monkeypatch):
    monkeypatch.setenv("WTB_CHECKPOINT_STORE", "sqlite")
    wtb_pytester.makepyfile(
        test_store="""
        def test_store(wtb_bench):
            assert wtb_bench.config.checkpoint_store == "sqlite"
        """
    )
    run(wtb_pytester).assert_outcomes(passed=1)
