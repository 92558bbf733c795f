"""The org lease on SQLite and PostgreSQL: one holder at a time, expiry lets another take over."""

from __future__ import annotations

import os
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


def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_at_once(store: StateStore) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    host = socket.gethostname()
    assert OrgLease(store, "acme", f"{host}:{dead_pid}:run1").acquire()
    mine = OrgLease(store, "acme", f"{host}:{os.getpid()}:run2")
    assert mine.acquire()  # the holder's process is gone: no waiting for expiry
    mine.release()
    assert OrgLease(store, "acme", f"{host}:1:run3").acquire()  # pid 1 is alive...
    assert not OrgLease(store, "acme", f"{host}:{os.getpid()}:run4").acquire()  # ...so its lease holds


def test_a_lease_held_by_another_host_waits_for_expiry(store: StateStore) -> None:
    assert OrgLease(store, "acme", "other-host:12345:run1").acquire()
    assert not OrgLease(store, "acme", "this-host:1:run2").acquire()


def test_a_due_renewal_keeps_the_lease_past_its_first_expiry(store: StateStore) -> None:
    holder = OrgLease(store, "acme", "worker-a", ttl=timedelta(milliseconds=400))
    other = OrgLease(store, "acme", "worker-b")
    assert holder.acquire()
    assert holder.renew() is True  # at once: within a quarter of the TTL, nothing to write
    time.sleep(0.15)  # past a quarter of the TTL: this renewal is written
    assert holder.renew() is True
    time.sleep(0.3)  # past the first expiry, not past the renewed one

    assert not other.acquire()
