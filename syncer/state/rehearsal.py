"""A state store for dry runs: the pass sees the real state and its own changes, and none of them last.

Every unit of work (and every lease session) runs in a SAVEPOINT inside ONE outer transaction on ONE
connection; `close()` rolls the outer transaction back. The engine runs unchanged — it commits as
usual, but each commit only releases a savepoint — so a dry run plans exactly what a real pass would,
and the database is left as it was. While it lasts, the dry run holds that transaction open: on SQLite
a concurrent writer waits for it (busy timeout); on PostgreSQL rows it touched (the org lease) stay
locked until it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from syncer.state.store import StateStore, Unit


class RehearsalStore(StateStore):
    """Same repository API as `StateStore`; everything written through it is undone by `close()`."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        if self.dialect == "sqlite":
            # pysqlite starts transactions lazily and ignores SAVEPOINT semantics unless we issue
            # BEGIN ourselves (SQLAlchemy docs, "Serializable isolation / Savepoints" for pysqlite)
            event.listen(self._engine, "connect", _sqlite_manual_transactions)
            event.listen(self._engine, "begin", _sqlite_begin)
        self._connection = self._engine.connect()
        # the engine's read-ahead thread opens units too: on the one connection their savepoints
        # would interleave (PostgreSQL: "savepoint ... does not exist"), so units take turns
        self._one_unit_at_a_time = threading.RLock()
        self._outer = self._connection.begin()
        self._sessions = sessionmaker(
            bind=self._connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )

    def migrate(self) -> None:
        raise RuntimeError("migrate the real store before rehearsing on it")

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        with self._one_unit_at_a_time, self._sessions() as session, session.begin():
            yield Unit(session, self.dialect)

    def close(self) -> None:
        """Undo everything the rehearsal wrote and release the connection."""
        if self._outer.is_active:
            self._outer.rollback()
        self._connection.close()
        self.dispose()


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")
