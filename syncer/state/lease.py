"""One run per org at a time, across processes and replicas: a lease row with an expiry.

A holder that dies stops renewing; once its lease expires another holder takes over. Taking a lease is
one conditional UPDATE (or an INSERT that loses the race on the primary key), so two contenders can
never both win, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, update
from sqlalchemy.exc import IntegrityError

from syncer.state.store import StateStore
from syncer.state.tables import LeaseRow


def _now() -> datetime:
    return datetime.now(UTC)


class OrgLease:
    def __init__(
        self, store: StateStore, org: str, holder: str, ttl: timedelta = timedelta(minutes=5)
    ) -> None:
        self._store, self.org, self.holder, self._ttl = store, org, holder, ttl

    def acquire(self) -> bool:
        """Take the lease if it is free, expired, or already ours."""
        now = _now()
        with self._store.session() as session, session.begin():
            statement = (
                update(LeaseRow)
                .where(
                    LeaseRow.org == self.org, (LeaseRow.expires_at < now) | (LeaseRow.holder == self.holder)
                )
                .values(holder=self.holder, expires_at=now + self._ttl)
            )
            taken = _rowcount(session.execute(statement))
            if taken:
                return True
        try:
            with self._store.session() as session, session.begin():
                session.add(LeaseRow(org=self.org, holder=self.holder, expires_at=now + self._ttl))
        except IntegrityError:  # someone else holds it (or won the race to create it)
            return False
        return True

    def renew(self) -> bool:
        """Extend our lease; False if we lost it (expired and taken over): stop writing then."""
        with self._store.session() as session, session.begin():
            result = session.execute(
                update(LeaseRow)
                .where(LeaseRow.org == self.org, LeaseRow.holder == self.holder)
                .values(expires_at=_now() + self._ttl)
            )
            return bool(_rowcount(result))

    def release(self) -> None:
        with self._store.session() as session, session.begin():
            session.execute(delete(LeaseRow).where(LeaseRow.org == self.org, LeaseRow.holder == self.holder))

    def holder_now(self) -> str | None:
        with self._store.session() as session:
            row = session.get(LeaseRow, self.org)
            return row.holder if row is not None and row.expires_at >= _now() else None


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
