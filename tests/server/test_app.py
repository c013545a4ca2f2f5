"""The application's frame: health, errors, security — over a real uvicorn server."""

from __future__ import annotations

import httpx
import pytest

from wtb_core.errors import ConfigurationError
from wtb_core.server.settings import ServeSettings
from wtb_core.server.threaded import serve_in_thread as serve

TOKEN = "t" * 32


def test_health_and_readiness(http):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"metadata": "ok", "checkpoints": "ok"}


def test_an_unknown_route_is_a_json_404(http):
    response = http.get("/no/such/route")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NotFound"


def test_a_foreign_host_header_is_refused(http):
    response = http.get("/healthz", headers={"Host": "evil.example:8765"})
    assert response.status_code == 421
    assert "evil.example" in response.json()["error"]["message"]


def test_a_foreign_origin_is_refused_and_the_same_origin_passes(live, http):
    assert http.get("/healthz", headers={"Origin": "https://evil.example"}).status_code == 403
    host = live.url.removeprefix("http://")
    assert http.get("/healthz", headers={"Origin": live.url, "Host": host}).status_code == 200


def test_off_loopback_needs_a_token():
    with pytest.raises(ConfigurationError, match="give a token"):
        ServeSettings(host="0.0.0.0")
    with pytest.raises(ConfigurationError, match="needs a token"):
        ServeSettings(allow_project_registration=True)


def test_with_a_token_every_request_but_the_liveness_probe_needs_it(served_bench):
    server = serve(served_bench, ServeSettings(port=0, token=TOKEN))
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/healthz").status_code == 200
            refused = client.get("/readyz")
            assert refused.status_code == 401
            assert refused.json()["error"]["type"] == "AuthenticationError"
            wrong = client.get("/readyz", headers={"Authorization": "Bearer " + "x" * 32})
            assert wrong.status_code == 401
            ok = client.get("/readyz", headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200
    finally:
        server.stop()


def test_the_langgraph_sdk_api_key_is_the_token(served_bench):
    from langgraph_sdk import get_sync_client
    from langgraph_sdk.errors import AuthenticationError

    server = serve(served_bench, ServeSettings(port=0, token=TOKEN))
    try:
        assert get_sync_client(url=server.url, api_key=TOKEN).assistants.search()
        with pytest.raises(AuthenticationError):
            get_sync_client(url=server.url, api_key="y" * 32).assistants.search()
    finally:
        server.stop()
