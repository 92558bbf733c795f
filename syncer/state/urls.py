"""Database URL helpers (SQLAlchemy stays inside syncer.state)."""

from __future__ import annotations

from typing import Any

from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from syncer.errors import ConfigError


def libpq_conninfo(database_url: str) -> str:
    """`postgresql+psycopg://user:pw@host:5432/db?options=...` (SQLAlchemy) -> a libpq conninfo string.

    Query parameters (e.g. `options=-csearch_path=<schema>`) are kept, so the queue's tables live in
    the same schema as the state store's.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError("syncer worker needs PostgreSQL: set SYNCER_DATABASE_URL=postgresql+psycopg://...")
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})
