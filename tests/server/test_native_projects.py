"""Projects and plugins over HTTP: listing, detail, the Mermaid graph, and registration,
which imports code and so is off unless the server allows it."""

from __future__ import annotations

import httpx
import pytest

from tests import workflows
from tests.server.test_native_executions import API, error_of
from wtb_core import WorkflowProject
from wtb_core.server.settings import ServeSettings
from wtb_core.server.threaded import serve_in_thread as serve

TOKEN = "p" * 32
PROJECT = WorkflowProject("from_module", workflows.chain3, description="a module's project")


def test_projects_are_listed_with_their_nodes_and_version(http):
    listed = {p["name"]: p for p in http.get(f"{API}/projects").json()}
    assert set(listed) == {"linear", "human", "chain10", "slow", "failing"}
    assert listed["linear"] == {
        "name": "linear",
        "description": "",
        "nodes": ["retrieve", "grade", "generate"],
        "current_version": "1.0",
        "error": None,
    }


def test_a_project_shows_variants_workflow_variants_and_versions(live, http):
    project = live.bench.get_project("linear")
    project.register_variant("generate", "echo", workflows.echo_answer)
    project.register_workflow_variant("ten", workflows.chain10)
    project.update_node("grade", workflows.step("grade"), reason="sharper")
    detail = http.get(f"{API}/projects/linear").json()
    assert detail["nodes"] == project.node_names()
    assert sorted(detail["nodes"]) == ["generate", "grade", "retrieve"]
    assert detail["variants"] == {
        "retrieve": ["default"],
        "grade": ["default"],
        "generate": ["default", "echo"],
    }
    assert detail["workflow_variants"] == ["ten"]
    assert detail["current_version"] == "1.1"
    assert [(v["version"], v["kind"], v["node"], v["reason"]) for v in detail["versions"]] == [
        ("1.0", "initial", None, ""),
        ("1.1", "node_update", "grade", "sharper"),
    ]


def test_the_graph_is_mermaid_text(http):
    graph = http.get(f"{API}/projects/linear/graph").json()
    assert graph["project"] == "linear"
    assert graph["mermaid"].startswith("---") or "graph" in graph["mermaid"]
    for node in ("retrieve", "grade", "generate", "__start__", "__end__"):
        assert node in graph["mermaid"]


def test_unknown_projects_are_typed_404s(http):
    for path in ("/nope", "/nope/graph"):
        assert error_of(http.get(f"{API}/projects{path}"), 404)["type"] == "ProjectNotFoundError"
    unknown = http.get(f"{API}/projects/linear/graph", params={"workflow_variant": "nope"})
    assert error_of(unknown, 422)["type"] == "ProjectError"


def test_registration_is_off_by_default(live, http):
    refused = http.post(f"{API}/projects", json={"ref": "tests.workflows:chain3"})
    error = error_of(refused, 403)
    assert error["type"] == "ProjectRegistrationDisabled"
    assert "--allow-project-registration" in error["message"]
    assert "chain3" not in live.bench.list_projects()


@pytest.fixture
def registering(served_bench):
    settings = ServeSettings(port=0, token=TOKEN, allow_project_registration=True)
    server = serve(served_bench, settings)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield client
    server.stop()


def test_registration_imports_a_project_or_a_graph_factory(served_bench, registering):
    made = registering.post(f"{API}/projects", json={"ref": "tests.workflows:chain3", "name": "c3"})
    assert made.status_code == 201
    assert made.json()["name"] == "c3" and made.json()["nodes"] == ["n0", "n1", "n2"]
    ref = "tests.server.test_native_projects:PROJECT"
    project = registering.post(f"{API}/projects", json={"ref": ref})
    assert project.status_code == 201
    assert project.json()["description"] == "a module's project"
    assert {"c3", "from_module"} <= set(served_bench.list_projects())
    ran = registering.post(
        f"{API}/executions", params={"wait": True}, json={"project": "from_module"}
    )
    assert ran.json()["state"]["n"] == 3

    renamed = registering.post(f"{API}/projects", json={"ref": ref, "name": "other"})
    assert "cannot rename" in error_of(renamed, 422)["message"]
    missing = registering.post(f"{API}/projects", json={"ref": "tests.workflows:nope"})
    assert error_of(missing, 422)["type"] == "ProjectError"
    assert error_of(registering.post(f"{API}/projects", json={"ref": ""}), 422)
    assert error_of(registering.post(f"{API}/projects", json={"module": "x"}), 422)
    unauthenticated = httpx.post(f"{registering.base_url}{API}/projects", json={"ref": ref})
    assert unauthenticated.status_code == 401


def test_plugins_are_described(http):
    assert http.get(f"{API}/plugins").json() == []  # the tests load no entry points
    builtins = http.get(f"{API}/plugins", params={"builtins": True}).json()
    assert builtins and all(p["origin"] == "builtin" for p in builtins)
    registered = {name for p in builtins for names in p["registers"].values() for name in names}
    assert {"exact_match", "threadpool", "sequential"} <= registered
