"""bench/RESULTS.md: the machine, the command, and the figures against issue 9's targets."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> dict[str, str]:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    mem = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            kb = int(info.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        mem = "unknown"
    return {
        "uname": uname or platform.platform(),
        "nproc": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
    }


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def targets(figures: dict[str, Any], detail: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, met?) rows; targets are reported, never asserted."""
    b = detail["backfill"]
    r10, r100 = figures["peak_rss_mb_10k"], figures["peak_rss_mb_100k"]
    noop_budget = 4  # pulled object types per org: tickets, companies, deals (HubSpot) + issues (Jira)
    rows = [
        (
            "backfill_over_floor",
            f"{figures['backfill_over_floor']} ({b['wall_s']} s vs {b['floor_s']} s, {b['floor_bucket']})",
            "≤ 1.15",
            _mark(figures["backfill_over_floor"] <= 1.15),
        ),
        ("http_429", str(figures["http_429"]), "0", _mark(figures["http_429"] == 0)),
        (
            "requests_over_minimum",
            f"{figures['requests_over_minimum']} ({b['requests']} vs {b['minimal_requests']})",
            "(reported)",
            "n/a",
        ),
        (
            "noop_requests",
            str(figures["noop_requests"]),
            f"≤ {noop_budget} (1 per pulled object type)",
            _mark(figures["noop_requests"] <= noop_budget),
        ),
        (
            "one_change_requests",
            f"{figures['one_change_requests']} (of which writes: {b['one_change_writes']})",
            "≤ 3 + writes",
            _mark(figures["one_change_requests"] <= 3 + b["one_change_writes"]),
        ),
        ("peak_rss_mb_10k", str(r10), "< 200", _mark(None if r10 is None else r10 < 200)),
        (
            "peak_rss_mb_100k",
            str(r100),
            "< 200 and ≤ 1.2 × 10k",
            _mark(None if r100 is None or r10 is None else r100 < 200 and r100 <= 1.2 * r10),
        ),
        ("records_per_s", str(figures["records_per_s"]), "≥ 5000", _mark(figures["records_per_s"] >= 5000)),
    ]
    return rows


def write_results(
    figures: dict[str, Any],
    detail: dict[str, Any],
    command: str,
    tickets: int,
    companies: int,
    *,
    write: bool,
) -> str:
    m = machine()
    lines = [
        "# syncer benchmark results",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}` (from the repository root, in the project venv)",
        f"- machine: `{m['uname']}`; nproc {m['nproc']}; memory {m['memory']}; Python {m['python']}",
        f"- sizes: {tickets} tickets over {companies} companies (throughput, backfill, no-op, one change);"
        f" RSS in child processes at {', '.join(str(n) for n in detail['rss'])} tickets",
        f"- elapsed: {detail['elapsed_s']:.1f} s",
        "",
        "Emulators run in the benchmark process (uvicorn threads): CPU seconds and RSS include them.",
        "",
        "| figure | value | target | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets(figures, detail)]
    lines += [
        "",
        "## `--json` figures",
        "",
        "```json",
        json.dumps(figures, indent=2),
        "```",
        "",
        "## Detail",
        "",
        "```json",
        json.dumps({k: v for k, v in detail.items() if k != "elapsed_s"}, indent=2, default=str),
        "```",
        "",
    ]
    text = "\n".join(lines)
    if write:
        RESULTS.write_text(text, encoding="utf-8")
    return text
