"""The org lease on SQLite and PostgreSQL: one holder at a time, expiry lets another take over."""

from __future__ import annotations

import time
from datetime import timedelta

from syncer.state import StateStore
from syncer.state.lease import OrgLease


def test_lease_admits_one_holder_until_released(store: StateStore) -> None:
    a, b = OrgLease(store, "acme", "worker-a"), OrgLease(store, "acme", "worker-b")
    assert a.acquire()
    assert a.acquire()  # re-entrant for its holder
    assert not b.acquire()
    assert b.holder_now() == "worker-a"
    assert OrgLease(store, "other-org", "worker-b").acquire()  # leases are per org
    a.release()
    assert b.acquire()


def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it(store: StateStore) -> None:
    dead = OrgLease(store, "acme", "dead-worker", ttl=timedelta(milliseconds=200))
    assert dead.acquire()
    time.sleep(0.3)
    heir = OrgLease(store, "acme", "heir")
    assert heir.acquire()
    assert dead.renew() is False  # must stop writing
    assert heir.renew() is True
