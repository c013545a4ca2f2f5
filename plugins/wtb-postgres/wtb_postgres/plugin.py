"""Registers the ``postgres`` checkpoint store (entry point ``wtb``: ``postgres``)."""

from wtb_core.plugin import CheckpointStoreRegister, hookimpl
from wtb_postgres.store import PostgresCheckpointStore


@hookimpl
def wtb_register_checkpoint_stores(register: CheckpointStoreRegister) -> None:
    register(PostgresCheckpointStore.name, PostgresCheckpointStore)
