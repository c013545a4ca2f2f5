"""The committed OpenAPI document is the one the server serves."""

from __future__ import annotations

import json
from pathlib import Path

from wtb_core.server.openapi import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_openapi_document_matches_the_server():
    assert json.loads(COMMITTED.read_text()) == openapi_document(), (
        "the API changed: regenerate the document with "
        "`.venv/bin/python -m wtb_core.server.openapi > docs/openapi.json` and review the diff"
    )


def test_the_live_server_serves_the_same_document(http):
    assert http.get("/openapi.json").json() == openapi_document()
