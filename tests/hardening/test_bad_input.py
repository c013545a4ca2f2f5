"""Bad input to the SDK: a typed error before anything is stored."""

from __future__ import annotations

import pytest

from tests import workflows
from tests.conftest import register
from wtb_core import InvalidStateError


def test_run_refuses_input_keys_the_state_does_not_have(bench):
    project = register(bench, workflows.linear)
    with pytest.raises(InvalidStateError, match=r"initial state has no key 'qurey'.*query"):
        bench.run(project, {"qurey": "typo"})
    assert bench.list_executions() == []


def test_a_batch_case_with_an_unknown_key_fails_its_row_with_that_message(bench):
    project = register(bench, workflows.linear)
    batch = bench.run_batch_test(project, [{}], [{"query": "ok"}, {"qurey": "typo"}])
    ok, typo = batch.results
    assert ok.status.value == "completed"
    assert typo.status.value == "failed" and "no key 'qurey'" in typo.error
