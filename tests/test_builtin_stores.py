"""The builtin checkpoint stores pass the contract plugin stores also subclass."""

import pytest

from wtb_core.builtins.checkpoint_stores import MemoryCheckpointStore, SqliteCheckpointStore
from wtb_core.config import StackConfig
from wtb_core.testing import CheckpointStoreContract


class TestMemoryStore(CheckpointStoreContract):
    @pytest.fixture
    def store(self):
        store = MemoryCheckpointStore()
        yield store
        store.close()


class TestSqliteStore(CheckpointStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = SqliteCheckpointStore(StackConfig(data_dir=tmp_path))
        yield store
        store.close()

    def test_checkpoints_live_in_the_data_dir(self, store, tmp_path):
        assert store.path == tmp_path / "checkpoints.sqlite"
        assert store.path.exists()
