"""`syncer schedule`: every org of a config directory on its own cron, in one long-running process.

- Each org has a next due time from its `schedule:` (cron, UTC). A newly loaded org is due at once,
  so a (re)started process syncs right away and then follows the cron; a run that overruns its
  interval skips the missed fires rather than catching up.
- Due orgs run one at a time. A failing org (bad token, vendor outage, an unexpected crash) backs off
  alone: its next run is the later of its next cron fire and `base_backoff * 2**(failures-1)` (capped
  at `max_backoff`); the others keep their schedule. Dead letters are not failures (the pass went on).
- The config directory is re-read every `poll_seconds`: a changed file (content hash) is applied and
  resets that org's backoff; a now-invalid file is reported once and skipped, the previous good config
  keeps running; a removed file stops its org.
- A stop (SIGTERM/SIGINT through `StopFlag`) is handed to the engine as `stop=`: the current pass ends
  at its next safe boundary with everything so far committed, and `run_forever` returns.

Migrations are not run here: the command opens the store with `open_store`, which runs
`store.migrate()` first (SQLite and PostgreSQL alike — Alembic's upgrade runs in one transaction on
PostgreSQL, so a replica that loses a start-up race fails cleanly and its restart finds the schema current).
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from croniter import croniter

from syncer.config import OrgConfig, iter_config_files, load_org_config
from syncer.counts import PassCounts
from syncer.errors import ConfigError
from syncer.failpoints import Failpoint, no_failpoint
from syncer.logging import REDACTOR
from syncer.metrics import SyncMetrics, run_status
from syncer.service import run_org
from syncer.state import StateStore

log = structlog.get_logger("syncer.scheduler")


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one org run returns: its counts and its HTTP answers as {system: {status: n}}."""

    counts: PassCounts
    statuses: Mapping[str, Mapping[int, int]]


# runs one pass of an org; the callable is the stop flag to hand to the engine
Runner = Callable[[OrgConfig, Callable[[], bool]], RunReport]


@dataclass(frozen=True, slots=True)
class OrgOutcome:
    org: str
    status: str  # ok | partial | failed | interrupted | skipped
    error: str | None
    counts: PassCounts | None
    next_due: datetime


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    detail: dict[str, Any]


@dataclass
class _Slot:
    path: Path
    config: OrgConfig
    next_due: datetime
    failures: int = 0
    last_status: str | None = None
    last_error: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def engine_runner(
    store: StateStore,
    *,
    lease_ttl: timedelta = timedelta(minutes=5),
    failpoint: Failpoint = no_failpoint,
    redis_url: str | None = None,
) -> Runner:
    """The production runner: one `run_org` pass (kind `scheduled`), its HTTP answers collected."""

    def run(config: OrgConfig, stop: Callable[[], bool]) -> RunReport:
        seen: dict[str, Mapping[int, int]] = {}
        counts = run_org(
            config,
            store,
            "scheduled",
            stop=stop,
            failpoint=failpoint,
            lease_ttl=lease_ttl,
            redis_url=redis_url,
            on_finished=lambda _counts, statuses: seen.update(statuses),
        )
        return RunReport(counts, seen)

    return run


def store_ping(store: StateStore) -> Callable[[], None]:
    """A readiness check that raises when the database does not answer a trivial read."""

    def ping() -> None:
        with store.unit() as unit:
            unit.get_cursor("-", "readyz")

    return ping


def next_fire(schedule: str, after: datetime) -> datetime:
    """The first time strictly after `after` that the cron `schedule` (UTC) fires."""
    fire: datetime = croniter(schedule, after.astimezone(UTC)).get_next(datetime)
    return fire


def backoff(failures: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential: base, 2*base, 4*base ... up to `cap` (failures >= 1)."""
    delay: timedelta = base * 2 ** min(max(failures - 1, 0), 32)
    return min(cap, delay)


class StopFlag:
    """Set on SIGTERM/SIGINT; the engine polls it at safe boundaries and it wakes the scheduler's sleep."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def __call__(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when the flag is set (the scheduler's `sleep`)."""
        self._event.wait(max(0.0, seconds))

    def install(
        self, signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
    ) -> Callable[[], None]:
        """Handle `signals` (main thread only): the first one sets the flag and restores the previous
        handlers, so a second one acts at once (kills, or KeyboardInterrupt for Ctrl-C). Returns a
        function that restores the previous handlers."""
        wanted = tuple(signals)
        previous = {sig: signal.getsignal(sig) for sig in wanted}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.warning("scheduler.stopping", signal=signal.Signals(signum).name)
            self.set()
            restore()

        for sig in wanted:
            signal.signal(sig, handle)
        return restore


class Scheduler:
    def __init__(
        self,
        config_dir: Path,
        runner: Runner,
        *,
        metrics: SyncMetrics | None = None,
        ping: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = _now,
        sleep: Callable[[float], None] | None = None,
        stop: Callable[[], bool] = lambda: False,
        poll_seconds: float = 5.0,
        base_backoff: timedelta = timedelta(minutes=1),
        max_backoff: timedelta = timedelta(hours=1),
    ) -> None:
        """`ping` raises when the database is unreachable (readiness); `sleep` defaults to waiting on
        `stop` when it is a `StopFlag` (so a signal wakes it), else to `time.sleep`."""
        self._dir, self._runner, self._metrics, self._ping = config_dir, runner, metrics, ping
        self._clock, self._stop = clock, stop
        if sleep is None:
            sleep = stop.wait if isinstance(stop, StopFlag) else time.sleep
        self._sleep = sleep
        self._poll, self._base_backoff, self._max_backoff = poll_seconds, base_backoff, max_backoff
        self._slots: dict[Path, _Slot] = {}
        self._digests: dict[Path, str] = {}  # content last looked at, valid or not
        self.problems: dict[str, str] = {}  # file (or directory) -> why it is not used
        self._loaded = False
        self._lock = threading.Lock()  # readiness is asked from the HTTP server's thread

    # -- configs -------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Apply added, changed and removed config files; report (once) and skip invalid ones."""
        now = self._clock()
        try:
            paths = list(iter_config_files(self._dir))
        except ConfigError as exc:  # directory gone (unmounted?): keep every org we have
            self._problem(str(self._dir), str(exc))
            self._loaded = True
            return
        self.problems.pop(str(self._dir), None)
        for gone in set(self._slots) - set(paths):
            self._drop(gone)
        for gone in set(self._digests) - set(paths):
            self._digests.pop(gone)
            self.problems.pop(str(gone), None)
        for path in paths:
            self._reload_file(path, now)
        self._loaded = True

    def _reload_file(self, path: Path, now: datetime) -> None:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            self._problem(str(path), f"{path}: cannot read config file: {exc.strerror}")
            return
        if self._digests.get(path) == digest:
            return
        self._digests[path] = digest
        try:
            config = load_org_config(path)
        except ConfigError as exc:
            kept = path in self._slots
            self._problem(str(path), str(exc), kept_previous=kept)
            return
        self.problems.pop(str(path), None)
        clash = next((s for p, s in self._slots.items() if p != path and s.config.org == config.org), None)
        if clash is not None:  # looked at again on every reload: it loads once the other file goes
            self._digests.pop(path)
            self._problem(str(path), f"{path}: org '{config.org}' is already configured by {clash.path}")
            return
        with self._lock:
            slot = self._slots.get(path)
            if slot is None:
                self._slots[path] = _Slot(path, config, next_due=now)
                if self._metrics is not None:
                    self._metrics.track(config.org)
                log.info("config.loaded", org=config.org, file=str(path), schedule=config.schedule)
                return
            fire = next_fire(config.schedule, now)
            # an edit resets the backoff; a healthy org keeps an earlier due time it already had
            slot.next_due = fire if slot.failures else min(slot.next_due, fire)
            slot.config, slot.failures = config, 0
        log.info("config.reloaded", org=config.org, file=str(path), next_due=slot.next_due.isoformat())

    def _drop(self, path: Path) -> None:
        with self._lock:
            slot = self._slots.pop(path)
        if self._metrics is not None:
            self._metrics.forget(slot.config.org)
        log.warning("config.removed", org=slot.config.org, file=str(path))

    def _problem(self, where: str, message: str, *, kept_previous: bool = False) -> None:
        if self.problems.get(where) != message:
            log.error("config.invalid", file=where, error=message, kept_previous=kept_previous)
        self.problems[where] = message

    @property
    def orgs(self) -> list[OrgConfig]:
        with self._lock:
            return sorted((s.config for s in self._slots.values()), key=lambda c: c.org)

    def next_due(self, org: str) -> datetime | None:
        with self._lock:
            return next((s.next_due for s in self._slots.values() if s.config.org == org), None)

    # -- running -------------------------------------------------------------------------------------

    def run_due(self) -> list[OrgOutcome]:
        """Run every org whose time has come (earliest first), one at a time, until a stop."""
        now = self._clock()
        with self._lock:
            due = sorted(
                (s for s in self._slots.values() if s.next_due <= now),
                key=lambda s: (s.next_due, s.config.org),
            )
        return self._run_each(due)

    def run_all(self) -> list[OrgOutcome]:
        """Run every org once, whatever its schedule (`syncer schedule --once`)."""
        with self._lock:
            slots = sorted(self._slots.values(), key=lambda s: s.config.org)
        return self._run_each(slots)

    def run_forever(self) -> None:
        """Reload, run what is due, sleep until the next due time (at most `poll_seconds`); until a stop."""
        log.info("scheduler.started", config_dir=str(self._dir))
        while not self._stop():
            self.reload()
            self.run_due()
            if self._stop():
                break
            self._sleep(self.seconds_until_due())
        log.info("scheduler.stopped")

    def seconds_until_due(self) -> float:
        now = self._clock()
        with self._lock:
            waits = [(s.next_due - now).total_seconds() for s in self._slots.values()]
        return max(0.0, min([self._poll, *waits]))

    def _run_each(self, slots: list[_Slot]) -> list[OrgOutcome]:
        outcomes = []
        for slot in slots:
            if self._stop():
                break
            outcomes.append(self._run(slot))
        return outcomes

    def _run(self, slot: _Slot) -> OrgOutcome:
        config = slot.config
        org = config.org
        started = self._clock()
        report: RunReport | None = None
        try:
            report = self._runner(config, self._stop)
            status = run_status(report.counts)
            error = "; ".join(report.counts.errors) or report.counts.skipped
        except ConfigError as exc:  # e.g. its token env var is unset or its token file unreadable
            status, error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 — per-org boundary: one broken org must not stop the others
            log.exception("org.crashed", org=org)
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        finished = self._clock()
        fire = next_fire(config.schedule, finished)
        with self._lock:
            if status == "failed":
                slot.failures += 1
                slot.next_due = max(
                    fire, finished + backoff(slot.failures, self._base_backoff, self._max_backoff)
                )
            else:
                slot.failures = 0
                slot.next_due = fire
            slot.last_status, slot.last_error = status, REDACTOR.scrub(error) if error else None
        if self._metrics is not None:
            self._metrics.observe_run(
                org,
                status,
                (finished - started).total_seconds(),
                report.counts if report else None,
                report.statuses if report else None,
                failures=slot.failures,
            )
        event = log.error if status == "failed" else log.info
        event(
            "org.failed" if status == "failed" else "org.finished",
            org=org,
            status=status,
            error=error,
            failures=slot.failures,
            next_due=slot.next_due.isoformat(),
        )
        return OrgOutcome(org, status, slot.last_error, report.counts if report else None, slot.next_due)

    # -- health --------------------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        """Ready once the configs are loaded (at least one valid org) and the database answers."""
        with self._lock:
            orgs = {
                s.config.org: {
                    "schedule": s.config.schedule,
                    "next_due": s.next_due.isoformat(),
                    "last_status": s.last_status,
                    "failures": s.failures,
                    "last_error": s.last_error,
                }
                for s in self._slots.values()
            }
        detail: dict[str, Any] = {"orgs": orgs, "config_problems": dict(self.problems)}
        if not self._loaded:
            return Readiness(False, {**detail, "reason": "org configs not loaded yet"})
        if not orgs:
            return Readiness(False, {**detail, "reason": f"no valid org config in {self._dir}"})
        try:
            self._ping()
        except Exception as exc:  # noqa: BLE001 — a probe reports any failure as not ready
            log.warning("readiness.failed", error=str(exc))
            return Readiness(False, {**detail, "reason": f"database unreachable ({type(exc).__name__})"})
        return Readiness(True, {**detail, "reason": "ok"})
