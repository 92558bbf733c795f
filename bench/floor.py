"""The rate-limit floor of a backfill: the fewest requests the work needs, per rate bucket, over the
VENDOR's allowed rate (issue 9: "minimal requests / allowed rate"); the slowest bucket is the floor
(buckets are assumed to run in parallel). Our client-side limits sit a little under these (see
adapters/hubspot/client.py RATE_LIMITS), so the floor is not reachable to the last percent.

Minimal requests (sizes from the seeded portal and what the pass did). A first sync reads the
companies its tickets name ("named") and their deals, nothing else: with no feedback stored there is
no account snapshot to refresh, so the account-change searches have no backlog to walk.
  HubSpot search (5/s per account): ticket pages ceil(tickets / 200).
  HubSpot other: ticket→company associations ceil(tickets / 1000), company batch reads
    ceil(named / 100), owners ceil(owners / 100), company→deal associations ceil(named / 1000), deal
    batch reads ceil(deals of named companies / 100), ticket write-back ceil(links / 100).
  HubSpot overall (100 per rolling 10 s = 10/s): the two above together (searches count too).
  Jira (the emulator's 100/s): versions 1, one search for existing markers 1, bulk creates
    ceil(items / 50).
All rates are multiplied by `scale` (the harness scales emulator and client limits together).

The issue's floor (requests / rate) ignores that HubSpot's limits are windows: the first 100 requests
(5 searches) may go at once. `floor_with_burst_s` counts that, for a stricter reading beside it."""

from __future__ import annotations

from math import ceil
from typing import Any

from bench.world import World
from syncer.counts import PassCounts

HUB_SEARCH_PER_S = 5.0  # HubSpot: 5 search requests per second per account
HUB_OVERALL_PER_S = 10.0  # HubSpot: 100 requests per rolling 10 s (Free/Starter private app)
HUB_SEARCH_BURST, HUB_OVERALL_BURST = 5, 100  # what each window lets through at once
JIRA_PER_S = 100.0  # the Jira emulator's vendor-mode limit (bench/world.py Limits.vendor)


def floor_of(w: World, first: PassCounts, scale: float) -> dict[str, Any]:
    seeded = w.hub.counts()
    tickets = seeded["tickets"]
    named = {c for targets in w.hub.associated("tickets", "companies").values() for c in targets}
    company_deals = w.hub.associated("companies", "deals")
    deals = len({d for c in named for d in company_deals.get(c, ())})
    search = ceil(tickets / 200)
    other = (
        ceil(tickets / 1000)
        + ceil(len(named) / 100)
        + ceil(seeded["owners"] / 100)
        + ceil(len(named) / 1000)
        + ceil(deals / 100)
        + ceil(first.links_written / 100)
    )
    jira = 2 + ceil(first.items_created / 50)
    buckets = {
        "hubspot.search": search / (HUB_SEARCH_PER_S * scale),
        "hubspot.overall": (search + other) / (HUB_OVERALL_PER_S * scale),
        "jira.default": jira / (JIRA_PER_S * scale),
    }
    bucket = max(buckets, key=lambda b: buckets[b])
    with_burst = max(
        max(0, search - HUB_SEARCH_BURST * scale) / (HUB_SEARCH_PER_S * scale),
        max(0, search + other - HUB_OVERALL_BURST * scale) / (HUB_OVERALL_PER_S * scale),
        buckets["jira.default"],
    )
    return {
        "floor_s": buckets[bucket],
        "bucket": bucket,
        "buckets_s": {b: round(s, 2) for b, s in buckets.items()},
        "floor_with_burst_s": round(with_burst, 2),
        "minimal": search + other + jira,
    }
