"""The rate-limit floor of a backfill: the fewest requests the work needs, per rate bucket, over the
bucket's allowed rate; the slowest bucket is the floor (buckets are assumed to run in parallel).

Minimal requests (sizes from the seeded portal and what the pass did):
  HubSpot search (4/s, the client's limit under HubSpot's 5/s): ceil(tickets / 200) ticket pages.
  HubSpot other (9/s client limit): ticket→company associations ceil(tickets / 1000), company batch
    reads ceil(companies / 100), owners ceil(owners / 100), company→deal associations
    ceil(companies / 1000), deal batch reads ceil(deals / 100), ticket write-back ceil(links / 100).
  HubSpot overall (100 per 10 s = 10/s): the two above together.
  Jira (9/s client limit): versions 1, one search for existing markers 1, bulk creates ceil(items / 50).
All rates are multiplied by `scale` (the harness scales emulator and client limits together)."""

from __future__ import annotations

from math import ceil
from typing import Any

from adapters.hubspot.client import RATE_LIMITS as HUB
from adapters.jira.client import RATE_LIMITS as JIRA
from bench.world import World
from syncer.counts import PassCounts

HUB_OVERALL_PER_S = 10.0  # HubSpot: 100 requests per rolling 10 s


def floor_of(w: World, first: PassCounts, scale: float) -> dict[str, Any]:
    seeded = w.hub.counts()
    tickets, companies = seeded["tickets"], seeded["companies"]
    search = ceil(tickets / 200)
    other = (
        ceil(tickets / 1000)
        + ceil(companies / 100)
        + ceil(seeded["owners"] / 100)
        + ceil(companies / 1000)
        + ceil(seeded.get("deals", 0) / 100)
        + ceil(first.links_written / 100)
    )
    jira = 2 + ceil(first.items_created / 50)
    buckets = {
        "hubspot.search": search / (HUB["search"].rate * scale),
        "hubspot.default": other / (HUB["default"].rate * scale),
        "hubspot.overall": (search + other) / (HUB_OVERALL_PER_S * scale),
        "jira.default": jira / (JIRA["default"].rate * scale),
    }
    bucket = max(buckets, key=lambda b: buckets[b])
    return {
        "floor_s": buckets[bucket],
        "bucket": bucket,
        "buckets_s": {b: round(s, 2) for b, s in buckets.items()},
        "minimal": search + other + jira,
    }
