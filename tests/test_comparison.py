"""Batch statistics, the Comparison object and the reports built from batch rows."""

from __future__ import annotations

import io
import json
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from rich.console import Console
from rich.table import Table

from wtb_core.batch.comparison import Comparison, compare
from wtb_core.batch.models import BatchRow
from wtb_core.batch.reports import junit_xml, write_junit
from wtb_core.batch.stats import (
    bootstrap_mean_ci,
    mcnemar_exact,
    sign_flip_p_value,
    t_interval,
    t_quantile,
    wilson_interval,
)
from wtb_core.domain.models import ExecutionStatus
from wtb_core.errors import ConfigurationError


def row(
    combination: int,
    case: int,
    repetition: int = 0,
    *,
    scores: dict[str, float] | None = None,
    status: ExecutionStatus = ExecutionStatus.COMPLETED,
    duration_ms: float = 100.0,
    **fields,
) -> BatchRow:
    return BatchRow(
        batch_id="b1",
        combination_index=combination,
        combination={"retriever": f"v{combination}"},
        combination_label=f"retriever=v{combination}",
        case_index=case,
        case=f"case{case}",
        repetition=repetition,
        status=status,
        scores=scores or {},
        duration_ms=duration_ms,
        **fields,
    )


def scored(combination: int, values: list[float], metric: str = "acc") -> list[BatchRow]:
    """One row per case with ``metric`` = the case's value."""
    return [row(combination, i, scores={metric: v}) for i, v in enumerate(values)]


def passing(combination: int, outcomes: list[bool]) -> list[BatchRow]:
    return scored(combination, [1.0 if ok else 0.0 for ok in outcomes], "exact_match")


# --- building blocks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (4, 2.7764), (10, 2.2281), (30, 2.0423), (1000, 1.9623)],
)
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-4)


def test_t_quantile_other_levels_and_limits():
    assert t_quantile(0.995, 1) == pytest.approx(63.6567, abs=1e-3)
    assert t_quantile(0.95, 5) == pytest.approx(2.0150, abs=1e-4)
    assert t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-9)
    assert t_quantile(0.975, 1e7) == pytest.approx(1.95996, abs=1e-4)  # the normal limit
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_wilson_interval_known_values():
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(0.7225, abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_t_interval_known_values():
    low, high = t_interval([1, 2, 3, 4, 5])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert (low, high) == pytest.approx((3 - half, 3 + half), abs=1e-5)
    assert t_interval([4.0]) is None
    assert t_interval([0.7, 0.7, 0.7]) == pytest.approx((0.7, 0.7))


def test_t_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(42)
    samples = rng.normal(0.6, 0.15, size=(400, 8))
    covered = sum(low <= 0.6 <= high for low, high in map(t_interval, samples))
    assert 0.91 <= covered / 400 <= 0.99


def test_bootstrap_ci_contains_the_mean_and_is_seeded():
    values = [0.213, 0.442, 0.517, 0.631, 0.905, 0.328, 0.774, 0.409]
    low, high = bootstrap_mean_ci(values, resamples=5000, seed=1)
    assert low < np.mean(values) < high
    assert bootstrap_mean_ci(values, resamples=5000, seed=1) == (low, high)
    assert bootstrap_mean_ci(values, resamples=5000, seed=2) != (low, high)
    assert bootstrap_mean_ci([0.3, 0.3, 0.3]) == pytest.approx((0.3, 0.3))


def test_mcnemar_exact():
    assert mcnemar_exact(8, 1) == 0.0390625
    assert mcnemar_exact(1, 8) == 0.0390625
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)


def test_sign_flip_exact_and_random():
    assert sign_flip_p_value([0.0] * 5) == 1.0
    assert sign_flip_p_value([0.0] * 40) == 1.0
    assert sign_flip_p_value([0.3] * 10) == pytest.approx(2 / 1024)  # exact: only ± all
    assert sign_flip_p_value([1.0, -1.0] * 10) == 1.0
    # 20 cases: random flips with the +1 correction, never 0
    assert sign_flip_p_value([0.3] * 20, resamples=999) == pytest.approx(1 / 1000)
    # on binary differences the exact test is McNemar's
    diffs = [-1.0] * 8 + [1.0] + [0.0] * 5
    assert sign_flip_p_value(diffs) == pytest.approx(mcnemar_exact(8, 1))


# --- per combination --------------------------------------------------------------------------


def test_combination_summary_counts_rates_and_metric_ci():
    failed = row(0, 5, status=ExecutionStatus.FAILED, error="boom")
    rows = [*scored(0, [0.2, 0.4, 0.6, 0.8, 1.0]), failed]
    stats = compare(rows).combinations[0]
    assert (stats.n, stats.n_completed, stats.n_cases) == (6, 5, 6)
    assert stats.success_rate == pytest.approx(5 / 6)
    assert stats.pass_rate == pytest.approx(3 / 6)  # 0.6, 0.8, 1.0 pass; the failed row doesn't
    assert stats.success_ci == pytest.approx(wilson_interval(5, 6))
    acc = stats.metrics["acc"]
    assert acc.n_cases == 5 and acc.mean == pytest.approx(0.6)
    assert acc.ci_method == "logit-t"  # every value lies in [0, 1]
    assert 0.0 < acc.ci[0] < 0.6 < acc.ci[1] < 1.0


def test_latency_percentiles_use_completed_rows_only():
    rows = [row(0, i, duration_ms=10.0 * (i + 1)) for i in range(10)]
    rows.append(row(0, 10, status=ExecutionStatus.FAILED, duration_ms=1e6))
    stats = compare(rows).combinations[0]
    assert stats.latency_p50_ms == pytest.approx(55.0)
    assert stats.latency_p95_ms == pytest.approx(95.5)  # linear: 90 + 0.55 × 10


def test_no_completed_rows_means_no_latency():
    stats = compare([row(0, 0, status=ExecutionStatus.FAILED)]).combinations[0]
    assert stats.latency_p50_ms is None and stats.latency_p95_ms is None
    assert stats.success_rate == 0.0 and stats.metrics == {}


def test_repetitions_give_pass_hat_k_pass_at_k_and_flaky_cases():
    outcomes = {0: [True, True, True], 1: [True, False, False], 2: [False, False, False]}
    rows = [
        row(0, case, rep, scores={"exact_match": float(ok)})
        for case, runs in outcomes.items()
        for rep, ok in enumerate(runs)
    ]
    stats = compare(rows).combinations[0]
    assert stats.repetitions == 3
    assert stats.pass_hat_k == pytest.approx(1 / 3)
    assert stats.pass_at_k == pytest.approx(2 / 3)
    assert stats.pass_rate == pytest.approx(4 / 9)
    [flaky] = stats.flaky_cases
    assert (flaky.case, flaky.passes, flaky.runs) == ("case1", 1, 3)
    # the metric averages repetitions per case first: cases are 1, 1/3, 0
    assert stats.metrics["exact_match"].n_cases == 3
    assert stats.metrics["exact_match"].mean == pytest.approx(4 / 9)


def test_single_repetition_has_no_pass_k():
    stats = compare(passing(0, [True, False])).combinations[0]
    assert stats.repetitions == 1
    assert stats.pass_hat_k is None and stats.pass_at_k is None and stats.flaky_cases == []


def test_non_finite_scores_are_errors_the_comparison_counts():
    rows = [
        *scored(0, [0.5, 0.7]),
        row(0, 2, scores={"acc": math.nan}),
        row(0, 3, scores={"acc": math.inf, "f1": -math.inf}),
        *scored(1, [0.4, 0.6, 0.8]),
        row(1, 3, scores={"f1": math.nan}),
    ]
    assert rows[2].scores == {}
    assert rows[2].score_errors == {"acc": "evaluator returned nan: not a finite number"}
    assert rows[3].score_errors == {
        "acc": "evaluator returned inf: not a finite number",
        "f1": "evaluator returned -inf: not a finite number",
    }
    comparison = compare(rows)
    metrics = comparison.combinations[0].metrics
    assert list(metrics) == ["acc", "f1"]
    acc, f1 = metrics["acc"], metrics["f1"]
    assert (acc.n_cases, acc.n_errors, acc.mean) == (2, 2, pytest.approx(0.6))
    assert (f1.n_cases, f1.n_errors, f1.mean, f1.ci, f1.ci_method) == (0, 1, None, None, None)
    [pair] = comparison.paired
    assert pair.metrics["acc"].n_cases == 2  # cases 0 and 1: the only ones both scored
    assert pair.metrics["f1"].n_cases == 0 and pair.metrics["f1"].delta is None
    text = comparison.to_markdown()
    assert "| combination | metric | cases | errors | mean | CI | method |" in text
    assert "| retriever=v0 (baseline) | acc | 2 | 2 | 0.600 |" in text
    assert "|  | f1 | 0 | 1 | — | — | — |" in text
    assert "f1" in str(comparison)
    data = comparison.to_dict()["combinations"][0]["metrics"]["f1"]
    assert (data["n_cases"], data["n_errors"], data["mean"]) == (0, 1, None)


# --- paired comparison ------------------------------------------------------------------------


def test_clear_improvement_is_significant():
    base = [0.40, 0.50, 0.45, 0.60, 0.55, 0.35, 0.50, 0.65, 0.40, 0.52]
    better = [v + 0.3 + 0.01 * (i % 3) for i, v in enumerate(base)]
    comparison = compare(scored(0, base) + scored(1, better))
    assert comparison.baseline == {"retriever": "v0"}
    assert comparison.baseline_label == "retriever=v0"
    [pair] = comparison.paired
    acc = pair.metrics["acc"]
    assert acc.n_cases == 10
    assert acc.delta == pytest.approx(np.mean(better) - np.mean(base))
    assert acc.ci[0] <= acc.delta <= acc.ci[1] and acc.ci[0] > 0.25
    assert acc.p_value == pytest.approx(2 / 1024)


def test_identical_combinations_have_p_one_and_zero_delta():
    values = [0.1, 0.5, 0.9, 0.3]
    [pair] = compare(scored(0, values) + scored(1, values)).paired
    acc = pair.metrics["acc"]
    assert acc.delta == 0.0 and acc.ci == (0.0, 0.0) and acc.p_value == 1.0
    assert pair.pass_rate.p_value == 1.0 and pair.mcnemar_p == 1.0


def test_many_cases_use_random_flips_deterministically():
    rng = np.random.default_rng(7)
    base = rng.uniform(0.3, 0.7, size=30).tolist()
    other = [v + 0.05 + rng.normal(0, 0.05) for v in base]
    rows = scored(0, base) + scored(1, other)
    first = compare(rows, resamples=2000, seed=3)
    acc = first.paired[0].metrics["acc"]
    assert acc.p_value < 0.01
    assert compare(rows, resamples=2000, seed=3).to_dict() == first.to_dict()
    assert compare(rows, resamples=2000, seed=4).paired[0].metrics["acc"].ci != acc.ci


def test_mcnemar_on_paired_pass_fail():
    base = [True] * 9 + [False] + [True] * 5
    other = [False] * 8 + [True, True] + [True] * 5  # b=8 (base only), c=1 (other only)
    [pair] = compare(passing(0, base) + passing(1, other)).paired
    assert (pair.mcnemar_b, pair.mcnemar_c) == (8, 1)
    assert pair.mcnemar_p == 0.0390625
    assert pair.pass_rate.delta == pytest.approx((7 - 14) / 15)
    assert pair.pass_rate.p_value == pytest.approx(0.0390625)  # same test on binary data


def test_repetitions_are_averaged_per_case_before_pairing():
    base = [row(0, case, rep, scores={"acc": float(rep)}) for case in range(3) for rep in range(2)]
    other = [row(1, case, rep, scores={"acc": 1.0}) for case in range(3) for rep in range(2)]
    [pair] = compare(base + other).paired
    assert pair.n_cases == 3
    assert pair.metrics["acc"].n_cases == 3
    assert pair.metrics["acc"].delta == pytest.approx(0.5)
    assert pair.metrics["acc"].ci == pytest.approx((0.5, 0.5))
    # a case passes McNemar's test only when it passed every repetition
    assert (pair.mcnemar_b, pair.mcnemar_c) == (0, 3)


def test_only_shared_cases_and_metrics_are_paired():
    base = scored(0, [0.1, 0.2, 0.3, 0.4])
    other = [row(1, i, scores={"acc": 0.9, "f1": 0.5}) for i in (2, 3, 7)]
    [pair] = compare(base + other).paired
    assert pair.n_cases == 2 and list(pair.metrics) == ["acc"]
    assert pair.metrics["acc"].baseline_mean == pytest.approx(0.35)
    assert pair.metrics["acc"].delta == pytest.approx(0.55)


def test_one_shared_case_gives_a_delta_without_inference():
    [pair] = compare([*scored(0, [0.2, 0.4]), row(1, 1, scores={"acc": 0.9})]).paired
    acc = pair.metrics["acc"]
    assert acc.delta == pytest.approx(0.5)
    assert acc.ci is None and acc.p_value is None and acc.note
    assert pair.mcnemar_p is None and "one case" in pair.note


def test_no_shared_case_gives_no_delta():
    [pair] = compare([*scored(0, [0.2]), row(1, 5, scores={"acc": 0.9})]).paired
    assert pair.n_cases == 0
    assert pair.metrics["acc"].delta is None and pair.pass_rate.delta is None
    assert pair.mcnemar_p is None and "no case" in pair.note
    assert "no case" in str(compare([*scored(0, [0.2]), row(1, 5, scores={"acc": 0.9})]))


def test_baseline_can_be_named():
    rows = scored(0, [0.2, 0.4]) + scored(1, [0.5, 0.6]) + scored(2, [0.9, 0.8])
    comparison = compare(rows, baseline="retriever=v1")
    assert comparison.baseline == {"retriever": "v1"}
    assert comparison.baseline_label == "retriever=v1"
    assert [p.combination_label for p in comparison.paired] == ["retriever=v0", "retriever=v2"]
    assert [p.combination for p in comparison.paired] == [{"retriever": "v0"}, {"retriever": "v2"}]
    assert all(p.baseline == {"retriever": "v1"} for p in comparison.paired)
    assert comparison.paired[0].metrics["acc"].delta == pytest.approx(-0.25)
    assert compare(rows, baseline={"retriever": "v1"}) == comparison  # the matrix entry works too
    with pytest.raises(ConfigurationError, match="not a combination"):
        compare(rows, baseline="retriever=nope")
    with pytest.raises(ConfigurationError, match="not a combination"):
        compare(rows, baseline={"retriever": "nope"})


def test_combinations_are_ordered_by_index():
    comparison = compare(scored(2, [0.1, 0.2]) + scored(0, [0.3, 0.4]))
    assert [c.combination_index for c in comparison.combinations] == [0, 2]
    assert comparison.baseline_label == "retriever=v0"


def test_no_rows_and_bad_options():
    empty = compare([])
    assert (
        empty.baseline is None
        and empty.baseline_label is None
        and empty.combinations == []
        and empty.paired == []
    )
    assert str(empty) == "no rows\n"
    with pytest.raises(ConfigurationError, match=re.escape("confidence must be in (0, 1)")):
        compare([], confidence=1.0)
    with pytest.raises(ConfigurationError, match="resamples must be at least 1"):
        compare([], resamples=0)


# --- the Comparison object ----------------------------------------------------------------


@pytest.fixture
def comparison() -> Comparison:
    rows = (
        scored(0, [0.4, 0.5, 0.6, 0.5])
        + scored(1, [0.9, 0.8, 0.95, 0.85])
        + [row(1, 4, status=ExecutionStatus.FAILED, error="boom")]
    )
    return compare(rows)


def test_to_dict_is_json_and_round_trips(comparison):
    data = json.loads(json.dumps(comparison.to_dict()))
    assert data["baseline"] == {"retriever": "v0"} and data["baseline_label"] == "retriever=v0"
    assert data["combinations"][0]["combination"] == {"retriever": "v0"}
    assert data["combinations"][0]["combination_label"] == "retriever=v0"
    assert data["combinations"][1]["metrics"]["acc"]["ci"][0] < 0.875
    assert Comparison.model_validate(data) == comparison
    assert Comparison.model_validate_json(comparison.to_json()) == comparison


def test_markdown_names_combinations_and_the_baseline(comparison):
    text = comparison.to_markdown()
    assert '| retriever=v0 (baseline) | `{"retriever": "v0"}` | 4 |' in text
    assert "retriever=v1" in text
    assert "retriever=v1 vs baseline retriever=v0" in text
    assert "| acc | 4 | 0.500 | 0.875 | +0.375 |" in text
    assert "McNemar b=0 c=1" in text


def test_markdown_lists_flaky_cases():
    rows = [row(0, 0, rep, scores={"ok": float(rep == 0)}) for rep in range(3)]
    text = compare(rows).to_markdown()
    assert "pass^k" in text and "flaky in retriever=v0: case0 (1/3)" in text


def test_rich_tables_and_plain_text(comparison):
    tables = comparison.rich_table()
    assert len(tables) == 3 and all(isinstance(t, Table) for t in tables)
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(comparison)
    assert "retriever=v1" in console.export_text()
    text = str(comparison)
    assert "retriever=v0 (baseline)" in text and "sign-flip" in text
    assert max(len(line) for line in text.splitlines()) <= 120


def test_labels_with_brackets_are_not_rich_markup():
    rows = [row(0, 0).model_copy(update={"combination_label": "[bold]x[/bold]"})]
    assert "[bold]x[/bold]" in str(compare(rows))


def test_fails_under(comparison):
    messages = comparison.fails_under(
        {"acc": 0.6, "success_rate": 0.9, "pass_rate": 0.5, "bleu": 0.1}
    )
    assert "retriever=v0: acc 0.500 < 0.6" in messages
    assert "retriever=v1: success_rate 0.800 < 0.9" in messages
    assert not any(m.startswith("retriever=v1: acc") for m in messages)
    assert any(m.startswith("bleu: not a metric of this batch") for m in messages)
    assert len(messages) == 3  # v0 acc, v1 success_rate, bleu
    assert comparison.fails_under({"acc": 0.5, "success_rate": 0.8}) == []
    assert compare([]).fails_under({"acc": 0.5}) == ["the batch has no rows to check"]


def test_fails_under_flags_a_combination_without_the_metric():
    rows = [*scored(0, [0.9, 0.8]), row(1, 0, scores={"f1": 0.9})]
    [message] = compare(rows).fails_under({"acc": 0.5})
    assert message.startswith("retriever=v1: no acc score")


# --- JUnit XML ------------------------------------------------------------------------------


def test_junit_xml_counts_and_contents(tmp_path):
    rows = [
        row(0, 0, scores={"exact_match": 1.0, "latency_ms": 900.0}, duration_ms=250.0),
        row(0, 1, scores={"exact_match": 0.0}, execution_id="ex-1"),
        row(0, 2, score_errors={"judge": "timeout"}),
        row(
            1,
            0,
            repetition=1,
            status=ExecutionStatus.FAILED,
            error="\x1b[31mKeyError\x1b[0m: 'q'\n  tb",
        ),
        row(1, 1, status=ExecutionStatus.CANCELLED),
    ]
    xml = junit_xml("batch-7", rows)
    root = ET.fromstring(xml.encode())
    assert root.tag == "testsuites" and root.get("name") == "batch-7"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "2")
    first, second = root.findall("testsuite")
    assert first.get("name") == "retriever=v0"
    [prop] = first.find("properties").findall("property")
    assert (prop.get("name"), json.loads(prop.get("value"))) == ("combination", {"retriever": "v0"})
    assert (first.get("tests"), first.get("failures"), first.get("errors")) == ("3", "2", "0")
    assert (second.get("tests"), second.get("failures"), second.get("errors")) == ("2", "0", "2")
    cases = first.findall("testcase")
    assert [c.get("name") for c in cases] == ["case0[rep 0]", "case1[rep 0]", "case2[rep 0]"]
    assert cases[0].get("classname") == "retriever=v0" and cases[0].get("time") == "0.250"
    assert cases[0].find("failure") is None  # latency_ms is a measurement, not a judgement
    failure = cases[1].find("failure")
    assert failure.get("message") == "below 0.5: exact_match=0.000"
    assert "exact_match = 0" in failure.text
    assert cases[1].find("system-out").text == "execution_id: ex-1"
    assert "judge error: timeout" in cases[2].find("failure").text
    error = second.find("testcase").find("error")
    assert second.find("testcase").get("name") == "case0[rep 1]"
    assert error.get("message") == "[31mKeyError[0m: 'q'" and error.get("type") == "failed"
    assert second.findall("testcase")[1].find("error").get("message") == "execution cancelled"

    path = write_junit(tmp_path / "reports" / "junit.xml", "batch-7", rows)
    assert ET.parse(path).getroot().get("tests") == "5"


def test_junit_xml_of_no_rows():
    root = ET.fromstring(junit_xml("empty", []).encode())
    assert root.get("tests") == "0" and root.findall("testsuite") == []


def test_pass_fail_metrics_get_a_wilson_interval_inside_0_1():
    rows = [row(0, case, scores={"exact": float(case < 5)}) for case in range(6)]
    stats = compare(rows).combinations[0].metrics["exact"]
    assert stats.mean == pytest.approx(5 / 6)
    assert stats.ci == pytest.approx(wilson_interval(5, 6))
    assert stats.ci[0] >= 0.0 and stats.ci[1] <= 1.0


def test_metrics_within_0_1_get_a_logit_t_interval_inside_the_range():
    """The demo's citation_recall: five cases at 1.0 and one at 0.5, whose Student t interval
    was [0.702, 1.131]. Bounded metrics get ``logit-t``; unbounded ones (latency) keep ``t``;
    pass/fail ones ``wilson``. Each interval names its method in every output."""
    recall = [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]
    assert t_interval(recall) == pytest.approx((0.702, 1.131), abs=1e-3)  # what it used to be
    latency = [120.0, 95.5, 180.25, 60.0, 140.0, 99.75]
    fast = [0.25, 0.5, 0.125, 0.75, 0.25, 0.5]  # a measurement inside [0, 1] is not bounded
    rows = [
        row(0, i, scores={"citation_recall": r, "latency": ms, "latency_s": s, "exact": e})
        for i, (r, ms, s, e) in enumerate(
            zip(recall, latency, fast, [1, 1, 1, 1, 1, 0], strict=True)
        )
    ]
    comparison = compare(rows)
    metrics = comparison.combinations[0].metrics
    cited = metrics["citation_recall"]
    assert 0.0 <= cited.ci[0] < cited.mean < cited.ci[1] <= 1.0
    assert cited.ci_method == "logit-t"
    assert cited.ci == pytest.approx((0.3998, 0.9945), abs=1e-4)
    assert (metrics["latency"].ci_method, metrics["latency"].ci) == ("t", t_interval(latency))
    assert (metrics["latency_s"].ci_method, metrics["latency_s"].ci) == ("t", t_interval(fast))
    assert metrics["exact"].ci_method == "wilson"
    # the JSON, the Markdown report and the rich table say which method each interval uses
    data = comparison.to_dict()["combinations"][0]["metrics"]
    assert {name: m["ci_method"] for name, m in data.items()} == {
        "citation_recall": "logit-t",
        "exact": "wilson",
        "latency": "t",
        "latency_s": "t",
    }
    text = comparison.to_markdown()
    assert "| retriever=v0 | citation_recall | 6 | 0.917 | [0.400, 0.995] | logit-t |" in text
    assert "|  | latency | 6 | 116 | [73, 159] | t |" in text
    assert "- logit-t: Student t interval on the logit scale" in text
    assert "- wilson: Wilson score interval" in text
    plain = str(comparison)
    assert "logit-t" in plain and "method" in plain and "[0.400, 0.995]" in plain
    assert "errors" not in plain  # the errors column shows only when some metric has errors


def test_declared_bounds_give_a_logit_t_interval_inside_them():
    ratings = [5.0, 5.0, 5.0, 4.0, 5.0, 3.0]
    rows = [row(0, i, scores={"rating": v}) for i, v in enumerate(ratings)]
    unbounded = compare(rows).combinations[0].metrics["rating"]
    assert unbounded.ci_method == "t" and unbounded.ci[1] > 5.0
    rating = compare(rows, bounds={"rating": (1, 5)}).combinations[0].metrics["rating"]
    assert rating.ci_method == "logit-t" and 1.0 <= rating.ci[0] < rating.mean < rating.ci[1] <= 5.0
    # values outside the declared bounds: the bounds do not hold, so the t interval
    outside = compare(rows, bounds={"rating": (0, 4.5)}).combinations[0].metrics["rating"]
    assert outside.ci_method == "t"
    with pytest.raises(ValueError, match="bounds for 'rating' must be"):
        compare(rows, bounds={"rating": (5, 1)})


def test_a_constant_bounded_metric_has_a_zero_width_interval():
    stats = compare(scored(0, [0.7, 0.7, 0.7])).combinations[0].metrics["acc"]
    assert stats.ci_method == "logit-t" and stats.ci == pytest.approx((0.7, 0.7))
    single = compare(scored(0, [0.7])).combinations[0].metrics["acc"]
    assert single.ci is None and single.ci_method is None
