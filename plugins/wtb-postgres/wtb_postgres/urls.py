"""Connection strings: what psycopg wants, and how to name a server in an error."""

from __future__ import annotations

from urllib.parse import urlsplit

from wtb_core import ConfigurationError


def libpq_url(url: str | None) -> str:
    """A ``postgresql://`` URL psycopg accepts (SQLAlchemy's ``+psycopg`` suffix removed)."""
    if not url:
        raise ConfigurationError(
            "checkpoint store 'postgres' needs a server: set WTB_DATABASE_URL (or database_url "
            "in wtb.toml / StackConfig) to postgresql://user@host:5432/dbname"
        )
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ConfigurationError(
            f"database_url {describe(url)!r} is not a PostgreSQL URL; use "
            "postgresql://user@host:5432/dbname"
        )
    return f"postgresql://{rest}"


def describe(url: str) -> str:
    """``host:port/database`` (no credentials) for messages."""
    parts = urlsplit(url.replace("+psycopg", ""))
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port or 5432}/{parts.path.lstrip('/') or '(default)'}"
