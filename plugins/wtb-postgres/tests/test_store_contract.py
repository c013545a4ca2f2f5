"""The kernel's checkpoint-store contract, against a real PostgreSQL server."""

import pytest

from wtb_core.config import StackConfig
from wtb_core.testing import CheckpointStoreContract
from wtb_postgres import PostgresCheckpointStore


class TestPostgresStore(CheckpointStoreContract):
    @pytest.fixture
    def store(self, pg_url, tmp_path):
        store = PostgresCheckpointStore(StackConfig(data_dir=tmp_path, database_url=pg_url))
        yield store
        store.close()
