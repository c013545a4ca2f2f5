"""``Comparison.assert_no_regression``: the paired test's verdict, as an assertion."""

from __future__ import annotations

import pytest

from wtb_core.batch.comparison import compare
from wtb_core.batch.models import BatchRow
from wtb_core.domain.models import ExecutionStatus
from wtb_core.errors import ConfigurationError

MATRIX = [{}, {"retriever": "bm25"}, {"retriever": "dense"}]
LABELS = ["default", "retriever=bm25", "retriever=dense"]


def rows(combination: int, values: list[float], metric: str = "exact_match") -> list[BatchRow]:
    """One completed row per case of ``combination`` (of ``MATRIX``), scored ``values``."""
    return [
        BatchRow(
            batch_id="b",
            combination_index=combination,
            combination=MATRIX[combination],
            combination_label=LABELS[combination],
            case_index=i,
            case=f"case-{i}",
            repetition=0,
            status=ExecutionStatus.COMPLETED,
            scores={metric: value},
            duration_ms=10.0,
        )
        for i, value in enumerate(values)
    ]


BASE = [0.6, 0.7, 0.8, 0.5, 0.9, 0.6, 0.7, 0.8]
NOISE = [0.7, 0.6, 0.8, 0.6, 0.8, 0.6, 0.8, 0.7]  # ±0.1 per case, the same mean
WORSE = [v - 0.3 for v in BASE]


def test_a_significantly_worse_candidate_fails_with_its_delta_ci_and_p():
    comparison = compare([*rows(0, BASE), *rows(1, WORSE), *rows(2, NOISE)])
    with pytest.raises(AssertionError) as failure:
        comparison.assert_no_regression(metric="exact_match", baseline="default", alpha=0.05)
    message = str(failure.value)
    assert message == (
        "exact_match regressed in 'retriever=bm25' against baseline 'default': delta -0.3 "
        "(95% CI -0.3 to -0.3), p = 0.007812 < alpha 0.05; mean 0.4 vs 0.7 over 8 cases"
    )  # the noisy candidate is not named


def test_noise_is_no_regression():
    comparison = compare([*rows(0, BASE), *rows(2, NOISE)])
    comparison.assert_no_regression("exact_match", "default")
    comparison.assert_no_regression("exact_match")  # None: the comparison's baseline


def test_a_better_candidate_is_no_regression():
    comparison = compare([*rows(0, WORSE), *rows(1, BASE)])
    comparison.assert_no_regression("exact_match", "default")


def test_a_significant_drop_smaller_than_min_effect_passes():
    comparison = compare([*rows(0, BASE), *rows(1, WORSE)])
    comparison.assert_no_regression("exact_match", "default", min_effect=0.3001)
    with pytest.raises(AssertionError, match=r"beyond min_effect 0\.2"):
        comparison.assert_no_regression("exact_match", "default", min_effect=0.2)


def test_alpha_decides_how_small_p_must_be():
    comparison = compare([*rows(0, BASE), *rows(1, WORSE)])  # p = 2 / 2**8
    comparison.assert_no_regression("exact_match", "default", alpha=0.005)
    with pytest.raises(AssertionError):
        comparison.assert_no_regression("exact_match", "default", alpha=0.01)


def test_for_a_measurement_higher_is_worse():
    fast = [100.0 + i for i in range(8)]
    slow = [v + 50 for v in fast]
    comparison = compare([*rows(0, fast, "latency"), *rows(1, slow, "latency")])
    with pytest.raises(AssertionError, match=r"latency regressed in 'retriever=bm25'.*delta \+50"):
        comparison.assert_no_regression("latency", "default")
    compare([*rows(0, slow, "latency"), *rows(1, fast, "latency")]).assert_no_regression(
        "latency", "default"
    )


def test_pass_rate_is_tested_too():
    comparison = compare([*rows(0, [1.0] * 8), *rows(1, [0.0] * 8)])
    with pytest.raises(AssertionError, match="pass_rate regressed in 'retriever=bm25'"):
        comparison.assert_no_regression("pass_rate", "default")


def test_the_baseline_may_be_given_as_its_matrix_entry():
    comparison = compare([*rows(0, BASE), *rows(1, WORSE)], baseline={"retriever": "bm25"})
    comparison.assert_no_regression("exact_match", {"retriever": "bm25"})  # default is better
    with pytest.raises(AssertionError):
        compare([*rows(0, BASE), *rows(1, WORSE)]).assert_no_regression("exact_match", {})


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.assert_no_regression("exact_match", "retriever=bm25"),
         "this comparison's baseline is 'default', not 'retriever=bm25': compare against it "
         "with batch.comparison(baseline='retriever=bm25')"),
        (lambda c: c.assert_no_regression("exact_match", "retriever=nope"),
         "baseline 'retriever=nope' is not a combination of this batch; choose one of: "
         "default, retriever=bm25"),
        (lambda c: c.assert_no_regression("exactmatch", "default"),
         "'exactmatch' is not a metric both 'retriever=bm25' and 'default' have; choose one "
         "of: pass_rate, exact_match"),
        (lambda c: c.assert_no_regression("exact_match", alpha=1.5),
         "alpha must be a number in (0, 1), got 1.5"),
        (lambda c: c.assert_no_regression("exact_match", min_effect=-1),
         "min_effect must be a number of at least 0, got -1"),
    ],
)  # fmt: skip
def test_a_question_it_cannot_answer_is_a_configuration_error(call, message):
    comparison = compare([*rows(0, BASE), *rows(1, WORSE)])
    with pytest.raises(ConfigurationError) as error:
        call(comparison)
    assert str(error.value).startswith(message)


def test_too_few_cases_or_combinations_cannot_be_tested():
    with pytest.raises(ConfigurationError, match="the paired test needs at least two cases"):
        compare([*rows(0, BASE[:1]), *rows(1, WORSE[:1])]).assert_no_regression("exact_match")
    with pytest.raises(ConfigurationError, match="the batch has one combination"):
        compare(rows(0, BASE)).assert_no_regression("exact_match")
    with pytest.raises(ConfigurationError, match="the batch has no rows"):
        compare([]).assert_no_regression("exact_match")
