"""`python -m bench.rss_probe N [COMPANIES]`: one zero-latency first sync of N tickets in this process,
then print a JSON line with the peak RSS (ru_maxrss) and the RSS before the sync.

The emulators are served by a child process (bench/emulator_process.py), so `peak_rss_mb` is syncer's
alone (interpreter, imports, engine, state store); `engine_rss_mb` is the part the sync itself added."""

from __future__ import annotations

import json
import sys
import time

from bench.world import remote_world
from syncer.logging import configure_logging
from syncer.runtime import tune_gc


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rss_now_mb() -> float:
    return _status_mb("VmRSS")


def main(argv: list[str]) -> int:
    tickets = int(argv[0])
    companies = int(argv[1]) if len(argv) > 1 else max(1, tickets // 10)
    configure_logging("WARNING", fmt="console")
    tune_gc()  # as the `syncer` CLI does
    start = time.perf_counter()
    with remote_world(tickets, companies) as w:
        seeded = _rss_now_mb()
        seed_s = time.perf_counter() - start
        counts, wall, cpu = w.run("rss probe")
    # VmHWM: the high-water mark of this process image. Not ru_maxrss: Linux carries that over from
    # the parent across fork and exec, so a probe started by a big benchmark process reported the
    # parent's size instead of its own.
    peak = _status_mb("VmHWM")
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
