"""A first sync makes no more requests than the benchmark's floor counts as the minimum (bench/floor.py):
no account backlog is walked, and the companies of pages read together are read together."""

from __future__ import annotations

from bench.floor import floor_of
from bench.world import Limits, world

DEAL_ASSOCIATIONS = "/crm/v4/associations/companies/deals/batch/read"


def test_first_sync_uses_the_minimal_requests() -> None:
    with world(1_000, 200, Limits.zero_latency()) as w:
        first, _, _ = w.run("first")
        floor = floor_of(w, first, 1.0)
        deal_associations = w.hub.log.count("POST", DEAL_ASSOCIATIONS)
        searches = {e.path for e in w.hub.log.entries() if e.path.endswith("/search")}

    assert first.feedback_pulled == 1_000
    assert searches == {"/crm/v3/objects/tickets/search"}, "the account backlog was walked"
    # five search pages: the first is stored alone, the other four are read (and their companies) together
    assert deal_associations == 2
    assert first.requests <= floor["minimal"] + 4, (first.requests, floor["minimal"])
