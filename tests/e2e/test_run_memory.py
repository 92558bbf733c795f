"""What a run leaves in memory once it returns: nothing of its engine, adapters or caches, even when
the garbage collector would not have run on its own (a scheduler carries on to the next org)."""

from __future__ import annotations

import gc

from mappings.models import Account
from syncer.engine import Engine
from syncer.service import run_org
from syncer.state import StateStore
from tests.e2e.conftest import Stack


def _alive(kind: type) -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


def test_a_finished_run_leaves_no_engine_or_cached_account_alive(stack: Stack, store: StateStore) -> None:
    config = stack.config()
    gc.collect()
    accounts_before = _alive(Account)
    gc.disable()  # nothing collects behind the run's back: only what run_org itself frees is freed
    try:
        counts = run_org(config, store, "first")
        assert counts.feedback_changed > 0
        assert _alive(Engine) == 0
        assert _alive(Account) <= accounts_before  # the run cached every account of the org
    finally:
        gc.enable()
