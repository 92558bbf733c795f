"""Prometheus metrics of `syncer schedule`, on a registry of their own (never the global one).

Fed after each org run from its `PassCounts` and HTTP answers; the lag since the last successful run is
computed when Prometheus scrapes, so it keeps growing while an org is failing or stuck.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncer.counts import PassCounts

# the values of the `status` label of syncer_last_run_status (one is 1, the others 0)
RUN_STATUSES = ("ok", "partial", "failed", "interrupted", "skipped")
SUCCESS = frozenset({"ok", "partial"})  # partial: the pass went through, some records are dead letters
_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, float("inf"))


def run_status(counts: PassCounts) -> str:
    """The status of a finished pass, as the metrics and the scheduler name it."""
    if counts.skipped:
        return "skipped"
    if counts.interrupted:
        return "interrupted"
    if counts.errors:
        return "failed"
    return "partial" if counts.dead_letters else "ok"


class _LagCollector(Collector):
    """`syncer_seconds_since_last_success`, evaluated at scrape time."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()

    def track(self, org: str) -> None:
        """Start counting for an org that has not succeeded yet in this process."""
        with self._lock:
            self._since.setdefault(org, self._clock())

    def succeeded(self, org: str) -> None:
        with self._lock:
            self._since[org] = self._clock()

    def forget(self, org: str) -> None:
        with self._lock:
            self._since.pop(org, None)

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "syncer_seconds_since_last_success",
            "Seconds since the org's last successful (ok or partial) run; counted from when the process "
            "started scheduling it if it has not succeeded since",
            labels=["org"],
        )
        now = self._clock()
        with self._lock:
            for org, at in sorted(self._since.items()):
                family.add_metric([org], max(0.0, now - at))
        yield family

    def describe(self) -> Iterable[Metric]:
        yield GaugeMetricFamily("syncer_seconds_since_last_success", "", labels=["org"])


class SyncMetrics:
    """Every metric of one scheduler process.

    `clock` is wall time in seconds (injected in tests)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        # held while a run is recorded and while a scrape renders: Prometheus (and a test waiting for a
        # run's figures) never reads a run half recorded, its runs counted but its HTTP answers not yet
        self._recording = threading.Lock()
        r = self.registry
        self.records_pulled = Counter(
            "syncer_records_pulled", "Feedback records pulled from the CRM", ["org"], registry=r
        )
        self.ops_applied = Counter(
            "syncer_ops_applied",
            "Operations applied: created/updated backlog items, linked (written back) records, alerts",
            ["org", "kind"],
            registry=r,
        )
        self.http_requests = Counter(
            "syncer_http_requests",
            "HTTP answers from vendors, by status",
            ["org", "system", "status"],
            registry=r,
        )
        self.http_rate_limited = Counter(
            "syncer_http_rate_limited", "HTTP 429 answers from vendors", ["org", "system"], registry=r
        )
        self.runs = Counter("syncer_runs", "Org runs, by final status", ["org", "status"], registry=r)
        self.run_duration = Histogram(
            "syncer_run_duration_seconds",
            "Wall time of one org run",
            ["org"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.last_run_status = Gauge(
            "syncer_last_run_status",
            f"1 for the status of the org's last run ({', '.join(RUN_STATUSES)}), 0 for the others",
            ["org", "status"],
            registry=r,
        )
        self.consecutive_failures = Gauge(
            "syncer_consecutive_failures", "Failed runs in a row (the org backs off)", ["org"], registry=r
        )
        self._lag = _LagCollector(clock)
        r.register(self._lag)

    def track(self, org: str) -> None:
        """An org the scheduler now runs: its lag starts counting."""
        self._lag.track(org)

    def forget(self, org: str) -> None:
        """An org whose config was removed: stop reporting its lag."""
        self._lag.forget(org)

    def observe_run(
        self,
        org: str,
        status: str,
        seconds: float,
        counts: PassCounts | None = None,
        statuses: Mapping[str, Mapping[int, int]] | None = None,
        *,
        failures: int = 0,
    ) -> None:
        """Record one finished run (`counts`/`statuses` are None when the run raised before the end)."""
        with self._recording:  # a scrape sees all of a run's figures or none of them
            self.run_duration.labels(org).observe(seconds)
            self.runs.labels(org, status).inc()
            for known in RUN_STATUSES:
                self.last_run_status.labels(org, known).set(1 if known == status else 0)
            self.consecutive_failures.labels(org).set(failures)
            if status in SUCCESS:
                self._lag.succeeded(org)
            if counts is not None:
                self.records_pulled.labels(org).inc(counts.feedback_pulled)
                for kind, n in (
                    ("created", counts.items_created),
                    ("updated", counts.items_updated),
                    ("linked", counts.links_written),
                    ("alerts", counts.alerts_created),
                ):
                    self.ops_applied.labels(org, kind).inc(n)
            for system, by_status in (statuses or {}).items():
                for code, n in by_status.items():
                    self.http_requests.labels(org, system, str(code)).inc(n)
                self.http_rate_limited.labels(org, system).inc(by_status.get(429, 0))

    def render(self) -> bytes:
        """The Prometheus text exposition format."""
        with self._recording:
            return generate_latest(self.registry)
