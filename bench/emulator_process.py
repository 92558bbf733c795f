"""`python -m bench.emulator_process TICKETS COMPANIES`: seed and serve the HubSpot and Jira emulators
in their own process (zero latency, no vendor limits), print one JSON line with their URLs, and serve
until stdin closes.

The throughput and RSS figures run the engine against these, so that the CPU seconds and the peak RSS
they report are syncer's alone, not the emulators' (which would otherwise share the process and GIL).
"""

from __future__ import annotations

import gc
import json
import sys
import time

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from bench.world import SEARCH_LAG_S, UNLIMITED, seed_milestones
from syncer.demo_systems import TOKEN


def main(argv: list[str]) -> int:
    tickets, companies = int(argv[0]), int(argv[1])
    hub = HubSpotEmulator(
        token=TOKEN, search_lag_s=SEARCH_LAG_S, search_per_second=UNLIMITED, burst_per_10s=UNLIMITED
    )
    hub.seed_demo(7, companies=companies, tickets=tickets)
    jira = JiraEmulator(token=TOKEN, search_lag_s=SEARCH_LAG_S, burst_per_second=UNLIMITED)
    jira.seed_demo(7)
    seed_milestones(jira)
    time.sleep(SEARCH_LAG_S)  # the portal existed before the sync: let the search indexes catch up
    gc.freeze()  # the seeded portal lives as long as the process: no full collection walks it again
    with ServedApp(hub.app) as hub_app, ServedApp(jira.app) as jira_app:
        print(json.dumps({"hub": hub_app.url, "jira": jira_app.url, **hub.counts()}), flush=True)
        sys.stdin.read()  # the parent closes our stdin when it is done
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
