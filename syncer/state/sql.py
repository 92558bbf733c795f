"""Dialect-aware statements shared by the repositories (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

CHUNK = 500  # stay well under SQLite's bound-parameter limit


def utc_now() -> datetime:
    """The time every repository stamps its rows with (aware UTC)."""
    return datetime.now(UTC)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert(
    session: Session,
    table: Any,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    update: Collection[str] | None = None,
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE the `update` columns (default: all non-key columns);
    `update=()` means DO NOTHING."""
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    columns = [c for c in rows[0] if c not in keys] if update is None else list(update)
    stmt = insert(getattr(table, "__table__", table))
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # one statement, executemany: compiled once (and cached), sent in batches by the driver
    # (SQLAlchemy's "insertmanyvalues"); a multi-VALUES literal per call cost more than the write
    session.flush()
    connection = session.connection()
    for chunk in chunks(rows, CHUNK * 4):
        connection.execute(stmt, list(chunk))
