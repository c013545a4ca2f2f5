"""Each test gets a PostgreSQL database of its own on the local server, dropped afterwards."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

SERVER = os.environ.get("WTB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)


@pytest.fixture
def pg_url():
    """``postgresql://…/wtb_test_<random>``: created for the test, dropped after it."""
    name = f"wtb_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in [v for v in os.environ if v.startswith("WTB_") and v != "WTB_TEST_POSTGRES"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)
