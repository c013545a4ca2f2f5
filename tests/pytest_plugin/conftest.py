"""WTB's pytest plugin, run by pytester: a small project module in the pytester directory
(``pluginflow``) and a helper that runs pytest there with wide, plain terminal output."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

PLUGINFLOW = """
import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from wtb_core import TestCase, WorkflowProject


class State(TypedDict, total=False):
    query: str
    answer: str


CALLS = {"check": 0}


def answer(state):
    return {"answer": f"about {state['query']} [d1]"}


def terse(state):  # the variant "terse": no citation
    return {"answer": state["query"]}


def check(state):
    CALLS["check"] += 1
    flaky = state["query"] == "flaky" and CALLS["check"] % 2 == 0  # every second run
    if state["query"] == "boom" or flaky:
        raise ValueError(f"cannot answer {state['query']!r}")
    return {}


def make_graph():
    g = StateGraph(State)
    g.add_node("answer", answer)
    g.add_node("check", check)
    g.add_edge(START, "answer")
    g.add_edge("answer", "check")
    g.add_edge("check", END)
    return g


project = WorkflowProject("qa", make_graph)
project.register_variant(node="answer", name="terse", implementation=terse)

# quality(case) = SCORES[$PLUGIN_SCORES][i] for the case "q<i>": deterministic scores
SCORES = {
    "base": [0.6, 0.7, 0.8, 0.5, 0.9, 0.6, 0.7, 0.8],
    "noise": [0.7, 0.6, 0.8, 0.6, 0.8, 0.6, 0.8, 0.7],  # +-0.1 around base: no change
    "worse": [0.3, 0.4, 0.5, 0.2, 0.6, 0.3, 0.4, 0.5],  # 0.3 below base in every case
}


def quality(case, outcome):
    return SCORES[os.environ.get("PLUGIN_SCORES", "base")][int(case.inputs["query"][1:])]


CASES = [
    TestCase(inputs={"query": f"q{i}"}, expected={"answer": f"about q{i} [d1]"})
    for i in range(8)
]
"""


@pytest.fixture
def wtb_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester directory holding ``pluginflow.py``; terminal output 200 columns wide."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("PLUGIN_SCORES", raising=False)
    pytester.makepyfile(pluginflow=PLUGINFLOW)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in the pytester directory, in this process, as the project's suite runs."""
    return pytester.runpytest("-p", "no:langsmith_plugin", "-p", "no:cacheprovider", *args)


def junit_properties(path) -> dict[str, dict[str, str]]:
    """``{test name: {property: value}}`` of a JUnit XML file."""
    found = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        found[case.get("name")] = {p.get("name"): p.get("value") for p in case.iter("property")}
    return found
