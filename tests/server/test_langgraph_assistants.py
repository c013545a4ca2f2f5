"""``/info`` and assistants (= projects) through the real ``langgraph_sdk`` client."""

from __future__ import annotations

import uuid

import pytest
from langgraph.pregel.remote import RemoteGraph
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import AuthenticationError, NotFoundError, UnprocessableEntityError

from tests.server.conftest import PROJECTS
from wtb_core.server.settings import ServeSettings
from wtb_core.server.threaded import serve_in_thread as serve


@pytest.fixture
def client(live):
    return get_sync_client(url=live.url, api_key=None)


def test_info_names_the_server(http):
    info = http.get("/info").json()
    assert info["flags"]["assistants"] is True
    assert info["langgraph_py_version"].startswith("1.")
    assert {"version", "host", "metadata"} <= set(info)


def test_every_project_is_an_assistant(client):
    found = client.assistants.search(limit=100)
    assert [a["graph_id"] for a in found] == sorted(PROJECTS)
    human = next(a for a in found if a["graph_id"] == "human")
    namespace = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")  # the Agent Server's
    assert human["assistant_id"] == str(uuid.uuid5(namespace, "human"))
    assert (human["name"], human["version"], human["config"]) == ("human", 1, {})
    assert human["metadata"]["nodes"] == ["draft", "ask", "publish"]
    assert client.assistants.get("human") == human
    assert client.assistants.get(human["assistant_id"]) == human

    assert [a["graph_id"] for a in client.assistants.search(graph_id="linear")] == ["linear"]
    assert [a["graph_id"] for a in client.assistants.search(name="fail")] == ["failing"]
    assert len(client.assistants.search(limit=2, offset=1)) == 2
    by_nodes = client.assistants.search(metadata={"nodes": ["draft", "ask", "publish"]})
    assert [a["graph_id"] for a in by_nodes] == ["human"]
    desc = client.assistants.search(sort_by="name", sort_order="desc", limit=100)
    assert [a["name"] for a in desc] == sorted(PROJECTS, reverse=True)


def test_the_graph_and_its_schemas(client, live):
    drawing = client.assistants.get_graph("human")
    assert [n["id"] for n in drawing["nodes"]] == [
        "__start__",
        "draft",
        "ask",
        "publish",
        "__end__",
    ]
    assert {"source": "draft", "target": "ask"} in [
        {k: e[k] for k in ("source", "target")} for e in drawing["edges"]
    ]
    remote = RemoteGraph("human", url=live.url).get_graph()
    assert set(remote.nodes) == {"__start__", "draft", "ask", "publish", "__end__"}
    assert client.assistants.get_graph("human", xray=1)["nodes"] == drawing["nodes"]

    schemas = client.assistants.get_schemas("human")
    assert schemas["graph_id"] == "human"
    assert {"query", "n", "log", "answer"} <= set(schemas["input_schema"]["properties"])
    assert {"query", "log"} <= set(schemas["state_schema"]["properties"])
    assert set(schemas["config_schema"]["properties"]) == {"wtb_variants", "wtb_workflow_variant"}


def test_an_unknown_assistant_is_not_found(client, http):
    with pytest.raises(NotFoundError, match="assistant 'nope' not found"):
        client.assistants.get("nope")
    with pytest.raises(NotFoundError):
        client.assistants.get_graph("nope")
    with pytest.raises(NotFoundError):
        client.assistants.get_schemas("nope")
    response = http.get("/assistants/nope")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "ProjectNotFoundError"
    with pytest.raises(UnprocessableEntityError, match="xray='maybe'"):
        client.http.get("/assistants/human/graph", params={"xray": "maybe"})


def test_with_a_token_the_clients_send_it_as_a_bearer_header(served_bench):
    token = "k" * 32
    server = serve(served_bench, ServeSettings(port=0, token=token))
    try:
        refused = get_sync_client(url=server.url, api_key=None)
        with pytest.raises(AuthenticationError, match="needs a token"):
            refused.assistants.search()
        headers = {"Authorization": f"Bearer {token}"}
        client = get_sync_client(url=server.url, api_key=None, headers=headers)
        assert len(client.assistants.search(limit=100)) == len(PROJECTS)
        graph = RemoteGraph("linear", url=server.url, headers=headers)
        assert graph.invoke({"query": "q"})["log"] == ["retrieve", "grade", "generate"]
    finally:
        server.stop()
