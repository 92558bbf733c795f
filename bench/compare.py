"""`python -m bench --compare`: syncer against the naive script and singer's tap-hubspot, on one world.

Issue 9, item 3. One seeded HubSpot + Jira world (the harness's `world`, vendor limits × scale), then,
one after another on this machine: syncer full then incremental (World.run), the naive script full then
incremental (bench/compare_naive.py), tap-hubspot 4.5 full then incremental with its state
(bench/compare_tap.py). Before each incremental run, EDITS tickets of that approach's own are edited
like a user would, so each incremental has the same small amount of real change to find.

Requests are counted from the emulators' request logs (429s included), wall time around each run only.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bench.compare_naive import NaiveSync
from bench.compare_report import write_section
from bench.compare_tap import TapRunner
from bench.world import SEARCH_LAG_S, Limits, World, world
from syncer.config import HubSpotConfig, JiraConfig
from syncer.demo_systems import TOKEN

EDITS = 10  # tickets edited before each incremental run
T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    approach: str
    phase: str
    hub_requests: int
    jira_requests: int
    wall_s: float
    read: int  # tickets read from HubSpot
    records: int  # syncer: changed feedback; naive: tickets compared; tap: RECORD messages emitted
    writes: int  # Jira issues created or updated
    http_429: int

    @property
    def requests(self) -> int:
        return self.hub_requests + self.jira_requests


@dataclass(frozen=True)
class Measured:
    value: Any
    wall_s: float
    hub: int
    jira: int
    http_429: int


def _measure(w: World, action: Callable[[], T]) -> Measured:
    w.clear_logs()
    started = time.perf_counter()
    value = action()
    wall = time.perf_counter() - started
    return Measured(value, wall, w.hub.log.count(), w.jira.log.count(), w.statuses().get(429, 0))


def _edit(w: World, offset: int) -> None:
    """EDITS tickets change content (the UI bumps hs_lastmodifieddate); the search index catches up."""
    for ticket_id in sorted(w.hub.ids("tickets"), key=int)[offset : offset + EDITS]:
        body = str(w.hub.ticket(ticket_id).get("content") or "")
        w.hub.update_ticket(ticket_id, content=body + " Update: still needed next quarter.")
        time.sleep(0.005)  # users edit one at a time: distinct modification stamps (ms resolution)
    time.sleep(SEARCH_LAG_S + 0.2)


def _row(approach: str, phase: str, m: Measured, read: int, records: int, writes: int) -> Row:
    return Row(approach, phase, m.hub, m.jira, round(m.wall_s, 2), read, records, writes, m.http_429)


def run_syncer(w: World) -> list[Row]:
    rows = []
    for phase in ("full", "incremental"):
        if phase == "incremental":
            _edit(w, 0)
        m = _measure(w, partial(w.run, f"syncer {phase}"))
        c = m.value[0]
        writes = c.items_created + c.items_updated
        rows.append(_row("syncer", phase, m, c.feedback_pulled, c.feedback_changed, writes))
    return rows


def run_naive(w: World, hub_url: str, jira_url: str) -> list[Row]:
    script = NaiveSync(hub_url, jira_url, TOKEN)
    rows = []
    for phase in ("full", "incremental"):
        if phase == "incremental":
            _edit(w, EDITS)
        m = _measure(w, script.run)
        p = m.value
        rows.append(_row("naive script", phase, m, p.records, p.created + p.updated, p.created + p.updated))
    return rows


def run_tap(w: World, hub_url: str, workdir: Path) -> tuple[list[Row], int]:
    """Rows for the two sync runs, and the requests discovery made (setup, not in the rows)."""
    tap = TapRunner(hub_url, workdir)
    discovery = _measure(w, tap.discover)
    rows, state = [], None
    for phase in ("full", "incremental"):
        if phase == "incremental":
            _edit(w, 2 * EDITS)
        m = _measure(w, partial(tap.sync, state))
        state = m.value.state
        rows.append(_row("tap-hubspot 4.5", phase, m, m.value.fetched, m.value.records, 0))
    return rows, discovery.hub


def compare(tickets: int, companies: int, scale: float, log: Callable[[str], None]) -> dict[str, Any]:
    with world(tickets, companies, Limits.vendor(scale)) as w, tempfile.TemporaryDirectory() as tmp:
        crm, tracker = w.config.crm, w.config.tracker
        assert isinstance(crm, HubSpotConfig)  # world() always builds HubSpot -> Jira
        assert isinstance(tracker, JiraConfig)
        hub_url, jira_url = crm.base_url, tracker.base_url
        log(f"compare: {tickets} tickets / {companies} companies, vendor limits x{scale}: syncer ...")
        rows = run_syncer(w)
        log("compare: naive script (sequential, one request per record) ...")
        rows += run_naive(w, hub_url, jira_url)
        log("compare: tap-hubspot 4.5 (subprocess, bench/.venv-tap) ...")
        tap_rows, discovery = run_tap(w, hub_url, Path(tmp))
        rows += tap_rows
    return {
        "tickets": tickets,
        "companies": companies,
        "scale": scale,
        "edits_per_incremental": EDITS,
        "tap_discovery_requests": discovery,
        "rows": [{**asdict(r), "requests": r.requests} for r in rows],
    }


def run_comparison(tickets: int, companies: int, scale: float, command: str, *, write: bool) -> str:
    """Run the comparison, print-ready text back; the RESULTS.md section is replaced when `write`."""

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.perf_counter()
    result = compare(tickets, companies, scale, log)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return write_section(result, command, write=write)


def main_compare(*, quick: bool, scale: float, write: bool) -> int:
    """The `--compare` entry point of `python -m bench`: 1,000 tickets over 200 companies (quick: 200/40)."""
    tickets, companies = (200, 40) if quick else (1_000, 200)
    command = "python -m bench --compare" + (" --quick" if quick else "")
    command += f" --scale {scale}" if scale != 1.0 else ""
    print(run_comparison(tickets, companies, scale, command, write=write))
    return 0
