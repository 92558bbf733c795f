"""`python -m bench.rss_probe N [COMPANIES]`: one zero-latency first sync of N tickets in this process,
then print a JSON line with the peak RSS (ru_maxrss) and the RSS after seeding (emulators included).

The emulators live in this process too (threads), so `peak_rss_mb` counts their in-memory portal;
`engine_rss_mb` (peak minus the RSS once seeded and served) is the part the sync itself added."""

from __future__ import annotations

import json
import resource
import sys
import time

from bench.world import Limits, world
from syncer.logging import configure_logging


def _rss_now_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str]) -> int:
    tickets = int(argv[0])
    companies = int(argv[1]) if len(argv) > 1 else max(1, tickets // 10)
    configure_logging("WARNING", fmt="console")
    start = time.perf_counter()
    with world(tickets, companies, Limits.zero_latency()) as w:
        seeded = _rss_now_mb()
        seed_s = time.perf_counter() - start
        counts, wall, cpu = w.run("rss probe")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(
        json.dumps(
            {
                "tickets": tickets,
                "companies": companies,
                "peak_rss_mb": round(peak, 1),
                "seeded_rss_mb": round(seeded, 1),
                "engine_rss_mb": round(peak - seeded, 1),
                "seed_s": round(seed_s, 2),
                "sync_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "pulled": counts.feedback_pulled,
                "requests": counts.requests,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
