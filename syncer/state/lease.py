"""One run per org at a time, across processes and replicas: a lease row with an expiry.

A holder that dies stops renewing; once its lease expires another holder takes over. Taking a lease is
one conditional UPDATE (or an INSERT that loses the race on the primary key), so two contenders can
never both win, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, update
from sqlalchemy.exc import IntegrityError

from syncer.state.sql import utc_now
from syncer.state.store import StateStore
from syncer.state.tables import LeaseRow


class OrgLease:
    def __init__(
        self, store: StateStore, org: str, holder: str, ttl: timedelta = timedelta(minutes=5)
    ) -> None:
        self._store, self.org, self.holder, self._ttl = store, org, holder, ttl
        self._renewed: float | None = None  # monotonic time of our last successful take or renewal

    def acquire(self) -> bool:
        """Take the lease if it is free, expired, already ours, or held by a process on this host
        that no longer exists (a crashed run restarted on the same machine need not wait for expiry)."""
        now = utc_now()
        with self._store.session() as session, session.begin():
            current = session.get(LeaseRow, self.org)
            dead = current is not None and _holder_is_dead(current.holder, self.holder)
            statement = (
                update(LeaseRow)
                .where(
                    LeaseRow.org == self.org,
                    (LeaseRow.expires_at < now)
                    | (LeaseRow.holder == self.holder)
                    | ((LeaseRow.holder == current.holder) if dead and current else False),
                )
                .values(holder=self.holder, expires_at=now + self._ttl)
            )
            taken = _rowcount(session.execute(statement))
            if taken:
                self._renewed = time.monotonic()
                return True
        try:
            with self._store.session() as session, session.begin():
                session.add(LeaseRow(org=self.org, holder=self.holder, expires_at=now + self._ttl))
        except IntegrityError:  # someone else holds it (or won the race to create it)
            return False
        self._renewed = time.monotonic()
        return True

    def renew(self) -> bool:
        """Extend our lease; False if we lost it (expired and taken over): stop writing then.

        Called at every step of a pass (pages by the hundred): within a quarter of the TTL of our last
        take or renewal the lease cannot have expired, so no write transaction is spent on it."""
        if self._renewed is not None and time.monotonic() - self._renewed < self._ttl.total_seconds() / 4:
            return True
        with self._store.session() as session, session.begin():
            result = session.execute(
                update(LeaseRow)
                .where(LeaseRow.org == self.org, LeaseRow.holder == self.holder)
                .values(expires_at=utc_now() + self._ttl)
            )
            held = bool(_rowcount(result))
        self._renewed = time.monotonic() if held else None
        return held

    def release(self) -> None:
        with self._store.session() as session, session.begin():
            session.execute(delete(LeaseRow).where(LeaseRow.org == self.org, LeaseRow.holder == self.holder))

    def holder_now(self) -> str | None:
        with self._store.session() as session:
            row = session.get(LeaseRow, self.org)
            return row.holder if row is not None and row.expires_at >= utc_now() else None


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _holder_is_dead(holder: str, me: str) -> bool:
    """Holders are `host:pid:run`. On our own host a holder whose pid is gone, or is our own pid under
    another run id (a restarted container reuses pids), has died."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    my_host, _, my_rest = me.partition(":")
    if host != my_host or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return holder != me
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False
