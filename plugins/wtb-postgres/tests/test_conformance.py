"""LangGraph's checkpointer conformance suite against the postgres store, through AsyncSaver.

The same run as the kernel stores' (tests/test_checkpoint_conformance.py), on a database of
the test's own: each capability gets a fresh store, and the tables are emptied after it.
"""

from __future__ import annotations

import pytest

from tests.test_checkpoint_conformance import (
    check_astream,
    check_expected_skip,
    check_large_list,
    run_conformance,
)
from wtb_core.config import StackConfig
from wtb_postgres import PostgresCheckpointStore
from wtb_postgres.saver import PooledPostgresSaver

# What LangGraph's PostgresSaver lacks (it has prune: the suite runs that).
MISSING_IN_LANGGRAPH = {"delete_for_runs": "LangGraph's PostgresSaver has no delete_for_runs"}


class _EmptiedOnClose(PostgresCheckpointStore):
    def close(self) -> None:
        with self.pool.connection() as conn:
            conn.execute("TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes")
        super().close()


@pytest.fixture
def config(pg_url, tmp_path):
    return StackConfig(data_dir=tmp_path, database_url=pg_url, pool_size=4)


@pytest.fixture
def store(config):
    store = PostgresCheckpointStore(config)
    yield store
    store.close()


def test_conformance(config):
    run_conformance(lambda: _EmptiedOnClose(config), MISSING_IN_LANGGRAPH)


def test_the_suite_checks_the_pooled_saver(store):
    assert type(store.saver) is PooledPostgresSaver


@pytest.mark.parametrize("capability", sorted(MISSING_IN_LANGGRAPH))
def test_expected_skip(capability):
    check_expected_skip(PooledPostgresSaver, capability, MISSING_IN_LANGGRAPH[capability])


def test_a_graph_runs_under_astream_with_async_saver(store):
    check_astream(store)


def test_alist_returns_a_large_thread_and_lets_the_caller_write_meanwhile(store):
    check_large_list(store)
