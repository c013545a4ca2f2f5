"""``--wtb-record`` / ``--wtb-replay`` / ``--wtb-record-missing``: the nodes a project marks
as external are recorded per test into a directory, then served from it (CI offline)."""

from __future__ import annotations

import json
import re

import pytest

from tests.pytest_plugin.conftest import run

EXTERNAL = """
import uuid
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from wtb_core import WorkflowProject


class State(TypedDict, total=False):
    query: str
    answer: str


def llm_call(state):  # an external call: counted in a file, a new answer each time
    with open(Path(__file__).parent / "calls.txt", "a") as calls:
        calls.write(state["query"] + "\\n")
    return {"answer": f"{state['query']} {uuid.uuid4().hex}"}


def make_graph():
    g = StateGraph(State)
    g.add_node("llm_call", llm_call)
    g.add_edge(START, "llm_call")
    g.add_edge("llm_call", END)
    return g


project = WorkflowProject("ext", make_graph, recorded_nodes=["llm_call"])
"""

TESTS = """
import os

import pytest


@pytest.mark.wtb(project="externalflow:project")
def test_answers(wtb_run):
    outcome = wtb_run({"query": os.environ.get("EXT_QUERY", "hello")})
    print("ANSWER", outcome[0].state["answer"])
"""


@pytest.fixture
def external(wtb_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("EXT_QUERY", raising=False)
    wtb_pytester.makepyfile(externalflow=EXTERNAL, test_external=TESTS)
    return wtb_pytester


def calls(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / "calls.txt"
    return path.read_text().split() if path.exists() else []


def answer(result: pytest.RunResult) -> str:
    [found] = re.findall(r"ANSWER (.+? [0-9a-f]{32})", result.stdout.str())
    return found


def test_a_recorded_session_replays_without_calling_the_external_node(external):
    recorded = run(external, "--wtb-record", "recs", "-s")
    recorded.assert_outcomes(passed=1)
    [path] = (external.path / "recs").iterdir()
    assert path.name == "test_external.py_test_answers.json"
    assert json.loads(path.read_text())["entries"][0]["node"] == "llm_call"
    assert calls(external) == ["hello"]

    replayed = run(external, "--wtb-replay", "recs", "-s")
    replayed.assert_outcomes(passed=1)
    assert calls(external) == ["hello"]  # served from the file
    assert answer(replayed) == answer(recorded)


def test_an_input_without_a_recording_fails_naming_the_node_unless_recording_missing(
    external, monkeypatch
):
    run(external, "--wtb-record", "recs").assert_outcomes(passed=1)
    monkeypatch.setenv("EXT_QUERY", "new question")
    missing = run(external, "--wtb-replay", "recs")
    missing.assert_outcomes(failed=1)
    output = missing.stdout.str()
    assert "RecordingMissingError" in output and "node 'llm_call'" in output
    assert calls(external) == ["hello"]

    added = run(external, "--wtb-replay", "recs", "--wtb-record-missing", "-s")
    added.assert_outcomes(passed=1)
    assert calls(external) == ["hello", "new", "question"]
    again = run(external, "--wtb-replay", "recs", "-s")  # the file gained the output
    again.assert_outcomes(passed=1)
    assert answer(again) == answer(added)
    assert len(calls(external)) == 3


def test_record_and_replay_together_are_a_usage_error(external):
    result = run(external, "--wtb-record", "a", "--wtb-replay", "b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "exclude each other" in result.stderr.str()
    result = run(external, "--wtb-record-missing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "needs --wtb-replay" in result.stderr.str()
