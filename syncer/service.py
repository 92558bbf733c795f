"""Glue for commands: open the store, build an org's adapters, run the engine, close everything."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from syncer.config import OrgConfig
from syncer.counts import PassCounts
from syncer.dryrun import Plan, recorders
from syncer.engine import Engine
from syncer.failpoints import Failpoint, no_failpoint
from syncer.ports import AlertSink, CrmSink, TrackerSink
from syncer.runtime import collect_run_garbage
from syncer.state import StateStore
from syncer.state.rehearsal import RehearsalStore
from syncer.wiring import Adapters, build_adapters


def open_store(url: str) -> StateStore:
    store = StateStore(url)
    store.migrate()
    return store


def run_org(
    config: OrgConfig,
    store: StateStore,
    name: str = "run",
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    replay_dead_letters: bool = False,
    rescan: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    failpoint: Failpoint = no_failpoint,
    stop: Callable[[], bool] = lambda: False,
    lease_ttl: timedelta = timedelta(minutes=5),
    redis_url: str | None = None,
    on_finished: Callable[[PassCounts, Mapping[str, Mapping[int, int]]], None] | None = None,
) -> PassCounts:
    """One pass with fresh adapters (their caches live for exactly one run).

    `on_finished(counts, statuses)` gets the pass's HTTP answers as {system: {status: n}} (metrics)."""
    adapters = build_adapters(config, redis_url)
    engine: Engine | None = None
    try:
        engine = _engine(
            config,
            store,
            adapters,
            on_progress=on_progress,
            failpoint=failpoint,
            stop=stop,
            lease_ttl=lease_ttl,
        )
        counts = engine.run(
            name, since=since, until=until, replay_dead_letters=replay_dead_letters, rescan=rescan
        )
        if on_finished is not None:
            statuses: dict[str, dict[int, int]] = {}
            for client in adapters.clients:
                by_status = statuses.setdefault(client.system, {})
                for status, n in client.statuses.items():
                    by_status[status] = by_status.get(status, 0) + n
            on_finished(counts, statuses)
        return counts
    finally:
        adapters.close()
        # the run's adapters, engine and caches refer to each other: drop ours, then collect them
        engine = None
        del adapters
        collect_run_garbage()


def plan_org(
    config: OrgConfig,
    store: StateStore,
    name: str = "run",
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    replay_dead_letters: bool = False,
    rescan: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    redis_url: str | None = None,
) -> tuple[PassCounts, Plan]:
    """A dry run of the same pass: reads are real, remote writes are recorded instead of made, and the
    state it writes is rolled back. Returns the pass's counts (what WOULD happen) and the plan."""
    adapters = build_adapters(config, redis_url)
    rehearsal = RehearsalStore(store.url)
    try:
        plan, tracker, crm, alerts = recorders(adapters.tracker, adapters.crm, adapters.alerts)
        engine = _engine(config, rehearsal, adapters, sinks=(tracker, crm, alerts), on_progress=on_progress)
        counts = engine.run(
            name, since=since, until=until, replay_dead_letters=replay_dead_letters, rescan=rescan
        )
        return counts, plan
    finally:
        rehearsal.close()
        adapters.close()


def _engine(
    config: OrgConfig,
    store: StateStore,
    adapters: Adapters,
    *,
    sinks: tuple[TrackerSink, CrmSink, AlertSink] | None = None,
    **options: Any,
) -> Engine:
    """The engine over an org's adapters; `sinks` replaces the three write roles (a dry run's recorders)."""
    tracker, crm, alerts = sinks or (adapters.tracker, adapters.crm, adapters.alerts)
    return Engine(
        config,
        store,
        adapters.crm,
        crm,
        tracker,
        adapters.tracker,
        alerts,
        requests=adapters.requests,
        **options,
    )
