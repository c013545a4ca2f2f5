"""A bench per checkpoint store: memory, sqlite, and PostgreSQL through wtb-postgres."""

from __future__ import annotations

import os
import uuid

import pytest

from wtb_core import WTBTestBench
from wtb_core.config import StackConfig

SERVER = os.environ.get("WTB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(scope="module")
def pg_database():
    """One PostgreSQL database for the module's tests (threads never collide), dropped after."""
    psycopg = pytest.importorskip("psycopg")
    name = f"wtb_diff_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{SERVER}/{name}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_bench(request, tmp_path):
    store = request.param
    if store == "postgres":
        import wtb_postgres.plugin

        url = request.getfixturevalue("pg_database")
        config = StackConfig(checkpoint_store="postgres", database_url=url, data_dir=tmp_path)
        bench = WTBTestBench(config=config, plugins=[wtb_postgres.plugin], load_entrypoints=False)
    else:
        bench = WTBTestBench(
            config=StackConfig(checkpoint_store=store, data_dir=tmp_path), load_entrypoints=False
        )
    with bench:
        yield bench
