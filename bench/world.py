"""One benchmark world: seeded HubSpot + Jira emulators served over real HTTP, an org config, a store.

The same pattern as `syncer demo` (syncer/demo.py): `world` runs the emulators in-process behind
uvicorn (adapters.emulation.ServedApp), so the harness can read their request logs and edit tickets;
`remote_world` serves them from a child process, for figures (throughput, RSS) that must be syncer's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from syncer.config import OrgConfig, parse_org_config
from syncer.counts import PassCounts
from syncer.demo_systems import TOKEN, HubSpotDemo, JiraDemo
from syncer.service import open_store, run_org
from syncer.state import StateStore

UNLIMITED = 10_000_000  # emulator windows that never throttle
SEARCH_LAG_S = 0.3  # the emulated search indexes lag writes; incremental runs wait this long first
MILESTONES = 200  # issue 9's scenarios: 200 milestones (Jira versions)


def seed_milestones(jira: JiraEmulator, count: int = MILESTONES) -> None:
    """The demo's three versions plus history up to `count`: a third released, some archived, the rest
    planned with release dates over the coming year (deterministic)."""
    today = datetime.now(UTC).date()
    for n in range(len(jira.book.by_id), count):
        due = today + timedelta(days=(n * 37) % 400 - 120)
        jira.book.add(
            f"{n // 20 + 1}.{n % 20}-bench",
            release_date=due.isoformat() if n % 5 else None,
            released=n % 3 == 0,
            archived=n % 17 == 0,
            description=f"Bench milestone {n}",
        )


@dataclass(frozen=True)
class Limits:
    """Vendor-side (emulator) and client-side (config override) limits for one world.

    `client` is None: the clients' built-in RATE_LIMITS; otherwise {system: {bucket: requests/s}}."""

    hub_search_per_s: int
    hub_per_10s: int
    jira_per_s: int
    client: dict[str, dict[str, float]] | None = None

    @classmethod
    def zero_latency(cls) -> Limits:
        fast = {"default": 100_000.0, "search": 100_000.0}
        return cls(UNLIMITED, UNLIMITED, UNLIMITED, {"hubspot": fast, "jira": {"default": 100_000.0}})

    @classmethod
    def vendor(cls, scale: float = 1.0) -> Limits:
        """HubSpot's documented limits (5 searches/s, 100 requests/10 s) and the clients' own
        RATE_LIMITS, both multiplied by `scale` so that their ratio (and so the floor ratio) holds."""
        from adapters.hubspot.client import RATE_LIMITS as HUB
        from adapters.jira.client import RATE_LIMITS as JIRA

        if scale == 1.0:
            return cls(5, 100, 100)
        client = {
            "hubspot": {name: lim.rate * scale for name, lim in HUB.items()},
            "jira": {name: lim.rate * scale for name, lim in JIRA.items()},
        }
        return cls(round(5 * scale), round(100 * scale), round(100 * scale), client)


def _overrides(rates: dict[str, float]) -> dict[str, dict[str, float]]:
    return {name: {"requests": rate, "per_seconds": 1} for name, rate in rates.items()}


@dataclass
class World:
    hub: HubSpotEmulator
    jira: JiraEmulator
    config: OrgConfig
    store: StateStore
    companies: int
    tickets: int

    def run(self, name: str) -> tuple[PassCounts, float, float]:
        """One pass: (counts, wall seconds, CPU seconds of this process)."""
        wall, cpu = time.perf_counter(), time.process_time()
        counts = run_org(self.config, self.store, name)
        return counts, time.perf_counter() - wall, time.process_time() - cpu

    def statuses(self) -> Counter[int]:
        return self.hub.log.statuses() + self.jira.log.statuses()

    def clear_logs(self) -> None:
        self.hub.log.clear()
        self.jira.log.clear()


@contextmanager
def world(tickets: int, companies: int, limits: Limits, seed: int = 7) -> Iterator[World]:
    hub = HubSpotEmulator(
        token=TOKEN,
        search_lag_s=SEARCH_LAG_S,
        search_per_second=limits.hub_search_per_s,
        burst_per_10s=limits.hub_per_10s,
    )
    hub.seed_demo(seed, companies=companies, tickets=tickets)
    jira = JiraEmulator(token=TOKEN, search_lag_s=SEARCH_LAG_S, burst_per_second=limits.jira_per_s)
    jira.seed_demo(seed)
    seed_milestones(jira)
    time.sleep(SEARCH_LAG_S)  # the portal existed before the sync: let the search indexes catch up
    with ExitStack() as stack:
        hub_url = stack.enter_context(ServedApp(hub.app)).url
        jira_url = stack.enter_context(ServedApp(jira.app)).url
        config, store = _org(stack, hub_url, jira_url, limits)
        try:
            yield World(hub, jira, config, store, companies, tickets)
        finally:
            store.dispose()


@dataclass
class RemoteWorld:
    """Emulators in a child process (bench/emulator_process.py): this process runs syncer alone."""

    config: OrgConfig
    store: StateStore
    seeded: dict[str, Any]

    def run(self, name: str) -> tuple[PassCounts, float, float]:
        """One pass: (counts, wall seconds, CPU seconds of this process, i.e. of syncer alone)."""
        wall, cpu = time.perf_counter(), time.process_time()
        counts = run_org(self.config, self.store, name)
        return counts, time.perf_counter() - wall, time.process_time() - cpu


@contextmanager
def remote_world(tickets: int, companies: int) -> Iterator[RemoteWorld]:
    """Zero latency and no limits on either side, the emulators served by a child process."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.emulator_process", str(tickets), str(companies)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert child.stdout is not None
        seeded: dict[str, Any] = json.loads(child.stdout.readline())
        with ExitStack() as stack:
            config, store = _org(stack, seeded["hub"], seeded["jira"], Limits.zero_latency())
            try:
                yield RemoteWorld(config, store, seeded)
            finally:
                store.dispose()
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)


def _org(stack: ExitStack, hub_url: str, jira_url: str, limits: Limits) -> tuple[OrgConfig, StateStore]:
    """The bench org's config (the demo's sections) and a fresh SQLite store in a temporary directory."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="syncer-bench-")))
    token_file = tmp / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    # the demo's sections (syncer/demo_systems.py); neither method reads the demo's own state
    crm_section: dict[str, Any] = HubSpotDemo.section(None, hub_url, token_file)  # type: ignore[arg-type]
    tracker_section: dict[str, Any] = JiraDemo.section(None, jira_url, token_file)  # type: ignore[arg-type]
    if limits.client is not None:
        crm_section["rate_limits"] = _overrides(limits.client["hubspot"])
        tracker_section["rate_limits"] = _overrides(limits.client["jira"])
    data = {
        "org": "bench",
        "crm": crm_section,
        "tracker": tracker_section,
        "sync": {"adopt_grace_seconds": 5},
    }
    config = parse_org_config(tmp / "bench.yaml", data)
    return config, open_store(f"sqlite:///{tmp / 'bench.db'}")
