"""PostgreSQL for WTB: checkpoints in LangGraph's PostgresSaver, metadata in the same server."""

from wtb_postgres.store import PostgresCheckpointStore

__all__ = ["PostgresCheckpointStore"]
