"""Shared fixtures: state stores on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from syncer.state import StateStore

POSTGRES_URL = os.environ.get("SYNCER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    try:
        with create_engine(POSTGRES_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    ok = _postgres_reachable()
    if not ok and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_URL}")
    return ok


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    """A fresh schema on the local PostgreSQL, dropped afterwards."""
    if not postgres_available:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[StateStore]:
    state = StateStore(database_url)
    state.migrate()
    yield state
    state.dispose()
