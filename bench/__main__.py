"""`python -m bench [--quick] [--json] [--no-write] [--compare]`: syncer's figures against issue 9's targets.

Quick (< 1 min): 1k tickets over 200 companies; peak RSS at 10k only (100k is reported as null).
Full: 10k tickets over 10k companies, RSS at 10k and 100k. bench/RESULTS.md is written by every
non-JSON run (not by --json, whose stdout is exactly one JSON object)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.calibrate import reference_seconds
from bench.floor import floor_of
from bench.report import write_results
from bench.world import SEARCH_LAG_S, Limits, World, remote_world, world
from syncer.logging import configure_logging
from syncer.runtime import tune_gc

QUICK = {"tickets": 1_000, "companies": 200, "rss": (10_000,)}
FULL = {"tickets": 10_000, "companies": 10_000, "rss": (10_000, 100_000)}
THROUGHPUT_RUNS = 3


def _log(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def measure_throughput(tickets: int, companies: int, runs: int = THROUGHPUT_RUNS) -> dict[str, Any]:
    """Zero-latency emulators in a child process, client limits lifted: how fast the engine itself
    moves records; CPU seconds are this process's, i.e. syncer's alone. `runs` first syncs, each on a
    fresh world: the figure is their median (one run on a shared machine is off by a third either way),
    with every run, and the machine's reference time (bench/calibrate.py) taken just before each."""
    passes = []
    for _ in range(runs):
        reference = reference_seconds()
        with remote_world(tickets, companies) as w:
            counts, wall, cpu = w.run("throughput")
        passes.append(
            {
                "records_per_s": round(counts.feedback_pulled / wall, 1),
                "cpu_s_per_1k": round(cpu / max(1, counts.feedback_pulled) * 1000, 3),
                "wall_s": round(wall, 2),
                "pulled": counts.feedback_pulled,
                "requests": counts.requests,
                "dead_letters": counts.dead_letters,
                "machine_ref_s": reference,
            }
        )
    return summarize_runs(passes)


def summarize_runs(passes: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run's figures (by records/s, its own machine reference included), the best rate, and
    every run's rate and reference."""
    ordered = sorted(passes, key=lambda p: p["records_per_s"])
    median = ordered[(len(ordered) - 1) // 2]
    return median | {
        "best_records_per_s": ordered[-1]["records_per_s"],
        "runs_records_per_s": [p["records_per_s"] for p in passes],
        "runs_machine_ref_s": [p.get("machine_ref_s") for p in passes],
    }


def _write_requests(w: World) -> int:
    hub = len(w.hub.log.entries("POST", "/crm/v3/objects/tickets/batch/update"))
    hub += sum(1 for e in w.hub.log.entries("POST") if e.path.endswith("/batch/create"))
    hub += len(w.hub.log.entries("PATCH"))
    jira = len(w.jira.log.entries("PUT")) + len(w.jira.log.entries("POST", "/rest/api/3/issue"))
    return hub + jira


def _edit_one_linked(w: World) -> str:
    for ticket_id in sorted(w.hub.ids("tickets"), key=int):
        ticket = w.hub.ticket(ticket_id)
        if ticket.get("syncer_backlog_key"):
            body = (ticket.get("content") or "") + " Update: needed by end of quarter."
            w.hub.update_ticket(ticket_id, content=body)
            return ticket_id
    raise RuntimeError("no linked ticket: the first pass created nothing")


def measure_backfill(tickets: int, companies: int, scale: float) -> dict[str, Any]:
    """Vendor limits (×scale on both sides): backfill vs floor, then a no-op and a one-change run."""
    with world(tickets, companies, Limits.vendor(scale)) as w:
        first, wall, _ = w.run("backfill")
        by_path = [(e.method, e.path) for e in w.hub.log.entries()] + [
            (e.method, e.path) for e in w.jira.log.entries()
        ]
        floor = floor_of(w, first, scale)
        statuses = w.statuses()
        out: dict[str, Any] = {
            "wall_s": round(wall, 2),
            "floor_s": round(floor["floor_s"], 2),
            "floor_bucket": floor["bucket"],
            "floor_buckets_s": floor["buckets_s"],
            "backfill_over_floor": round(wall / floor["floor_s"], 2),
            "floor_with_burst_s": floor["floor_with_burst_s"],
            "over_floor_with_burst": round(wall / max(floor["floor_with_burst_s"], 1e-9), 2),
            "requests": first.requests,
            "minimal_requests": floor["minimal"],
            "requests_over_minimum": round(first.requests / floor["minimal"], 2),
            "http_429": statuses.get(429, 0),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "by_endpoint": _by_endpoint(by_path),
            "items_created": first.items_created,
            "links_written": first.links_written,
            "dead_letters": first.dead_letters,
        }
        # The write-back changed the tickets it linked: the next run reads those echoes once (and skips
        # them by version). Started once the overlap has passed, it settles every cursor (ingest.py
        # `_settle`; `Date` has whole seconds, hence the extra second); after it, a quiet run is no-op.
        time.sleep(w.config.crm.overlap_seconds + 1.5)
        for name, key in (("echoes", "echo"), ("no-op", "noop"), ("one change", "one_change")):
            if key == "one_change":
                _edit_one_linked(w)
                time.sleep(SEARCH_LAG_S + 0.2)
            out.update(_incremental(w, name, key))
            out["http_429"] += w.statuses().get(429, 0)  # every run's, before the next clears the logs
        out["one_change_writes"] = _write_requests(w)
    return out


def _incremental(w: World, name: str, key: str) -> dict[str, Any]:
    """One incremental run on fresh request logs: `{key}_requests`, `_pulled`, `_wall_s`, `_by_endpoint`."""
    w.clear_logs()
    counts, wall, _ = w.run(name)
    return {
        f"{key}_requests": counts.requests,
        f"{key}_pulled": counts.feedback_pulled,
        f"{key}_wall_s": round(wall, 2),
        f"{key}_by_endpoint": _by_endpoint(
            [(e.method, e.path) for e in w.hub.log.entries() + w.jira.log.entries()]
        ),
    }


def _by_endpoint(calls: list[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for method, path in calls:
        key = f"{method} {path}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


RSS_COMPANIES = 10_000  # issue 9's scenarios: every size over 10k companies


def measure_rss(tickets: int) -> dict[str, Any]:
    """Each size in a fresh child process, so that one peak cannot hide another; every size over the
    same 10k companies, so the 10k/100k ratio shows what grows with the tickets."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.rss_probe", str(tickets), str(RSS_COMPANIES)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object (no RESULTS.md)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply vendor and client limits")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="only the comparison with a naive script and tap-hubspot 4.5 (1k tickets; --quick: 200)",
    )
    args = parser.parse_args(argv)
    configure_logging("WARNING", fmt="console")
    tune_gc()  # as the `syncer` CLI does
    if args.compare:
        from bench.compare import main_compare

        return main_compare(quick=args.quick, scale=args.scale, write=not args.no_write)
    sizes = QUICK if args.quick else FULL
    quiet = args.json
    started = time.perf_counter()
    tickets, companies = int(sizes["tickets"]), int(sizes["companies"])  # type: ignore[call-overload]

    _log(quiet, f"throughput: {tickets} tickets / {companies} companies, zero latency ...")
    throughput = measure_throughput(tickets, companies)
    _log(quiet, f"  {throughput}")
    _log(quiet, f"backfill at vendor limits x{args.scale} ...")
    backfill = measure_backfill(tickets, companies, args.scale)
    _log(quiet, f"  {backfill}")
    rss: dict[int, dict[str, Any]] = {}
    for n in sizes["rss"]:  # type: ignore[attr-defined]
        _log(quiet, f"peak RSS at {n} tickets (child process) ...")
        rss[n] = measure_rss(n)
        _log(quiet, f"  {rss[n]}")

    def rss_mb(n: int) -> float | None:
        return rss[n]["peak_rss_mb"] if n in rss else None

    figures = {
        "backfill_over_floor": backfill["backfill_over_floor"],
        "requests_over_minimum": backfill["requests_over_minimum"],
        "noop_requests": backfill["noop_requests"],
        "one_change_requests": backfill["one_change_requests"],
        "one_change_over_noop": backfill["one_change_requests"] - backfill["noop_requests"],
        "echo_requests": backfill["echo_requests"],
        "peak_rss_mb_10k": rss_mb(10_000),
        "peak_rss_mb_100k": rss_mb(100_000),
        "records_per_s": throughput["records_per_s"],
        "http_429": backfill["http_429"],
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    detail = {
        "throughput": throughput,
        "backfill": backfill,
        "rss": rss,
        "elapsed_s": time.perf_counter() - started,
    }
    command = (
        "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --scale {args.scale}" if args.scale != 1.0 else "")
    )
    text = write_results(figures, detail, command, tickets, companies, write=not args.no_write)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
