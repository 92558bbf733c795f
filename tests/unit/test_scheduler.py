"""The scheduler on a fake clock and a fake runner: nothing sleeps, nothing talks to a vendor."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs

from syncer.config import OrgConfig
from syncer.counts import PassCounts
from syncer.errors import ConfigError
from syncer.metrics import SyncMetrics
from syncer.scheduler import RunReport, Scheduler, StopFlag, backoff, next_fire
from tests.unit.test_config import GOOD

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeRunner:
    """Records (org, start time); each run takes `seconds` of fake time; `failing` orgs report an error."""

    def __init__(self, clock: FakeClock, failing: set[str] | None = None, seconds: float = 1.0) -> None:
        self.clock, self.failing, self.seconds = clock, failing or set(), seconds
        self.calls: list[tuple[str, datetime]] = []
        self.raises: dict[str, Exception] = {}
        self.during: Callable[[OrgConfig, Callable[[], bool]], None] | None = None

    def __call__(self, config: OrgConfig, stop: Callable[[], bool]) -> RunReport:
        self.calls.append((config.org, self.clock.now))
        self.clock.sleep(self.seconds)
        if self.during is not None:
            self.during(config, stop)
        if config.org in self.raises:
            raise self.raises[config.org]
        if config.org in self.failing:
            return RunReport(PassCounts(errors=["hubspot: GET /tickets -> HTTP 401"]), {"hubspot": {401: 1}})
        return RunReport(
            PassCounts(feedback_pulled=3, items_created=1, links_written=3),
            {"hubspot": {200: 4, 429: 1}, "jira": {201: 1}},
        )

    def starts(self, org: str) -> list[datetime]:
        return [at for name, at in self.calls if name == org]


def write_org(directory: Path, org: str, schedule: str = "* * * * *", **extra: object) -> Path:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data.update(org=org, schedule=schedule, **extra)
    path = directory / f"{org}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def make(
    tmp_path: Path, runner: FakeRunner, clock: FakeClock, **kwargs: Any
) -> tuple[Scheduler, SyncMetrics]:
    metrics = SyncMetrics(clock=lambda: clock.now.timestamp())
    scheduler = Scheduler(tmp_path, runner, metrics=metrics, clock=clock, sleep=clock.sleep, **kwargs)
    return scheduler, metrics


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        pytest.param(
            "*/15 * * * *", T0 + timedelta(minutes=7, seconds=30), T0 + timedelta(minutes=15), id="mid"
        ),
        pytest.param(
            "*/15 * * * *", T0 + timedelta(minutes=15), T0 + timedelta(minutes=30), id="strictly-after"
        ),
        pytest.param("0 3 * * *", T0, datetime(2025, 3, 4, 3, 0, tzinfo=UTC), id="tomorrow-night"),
        pytest.param("0 11 * * 1", T0, T0 + timedelta(hours=1), id="monday-11"),
        pytest.param(
            "0 12 * * *",
            datetime(2025, 3, 3, 12, 30, tzinfo=timezone(timedelta(hours=2))),  # 10:30 UTC
            datetime(2025, 3, 3, 12, 0, tzinfo=UTC),
            id="cron-is-utc",
        ),
    ],
)
def test_next_fire_is_the_next_cron_time_in_utc(schedule: str, after: datetime, expected: datetime) -> None:
    assert next_fire(schedule, after) == expected


@pytest.mark.parametrize(
    ("failures", "expected_minutes"),
    [
        pytest.param(1, 1, id="first"),
        pytest.param(2, 2, id="doubles"),
        pytest.param(4, 8, id="fourth"),
        pytest.param(7, 60, id="capped"),
        pytest.param(500, 60, id="huge"),
    ],
)
def test_backoff_doubles_up_to_the_cap(failures: int, expected_minutes: int) -> None:
    assert backoff(failures, timedelta(minutes=1), timedelta(hours=1)) == timedelta(minutes=expected_minutes)


def test_scheduler_runs_a_new_org_at_once_then_on_its_cron(tmp_path: Path) -> None:
    clock = FakeClock(T0 + timedelta(minutes=7))
    runner = FakeRunner(clock)
    write_org(tmp_path, "acme", "*/15 * * * *")
    scheduler, _ = make(tmp_path, runner, clock)

    scheduler.reload()
    [first] = scheduler.run_due()
    clock.sleep(60)
    assert scheduler.run_due() == []  # not due before 10:15

    assert (first.org, first.status) == ("acme", "ok")
    assert scheduler.next_due("acme") == T0 + timedelta(minutes=15)
    assert scheduler.seconds_until_due() == 5.0  # capped by the config poll interval


def test_scheduler_backs_off_a_failing_org_while_others_keep_their_schedule(tmp_path: Path) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock, failing={"broken"})
    write_org(tmp_path, "broken")
    write_org(tmp_path, "healthy")
    end = T0 + timedelta(minutes=40)
    scheduler, metrics = make(
        tmp_path, runner, clock, stop=lambda: clock.now >= end, max_backoff=timedelta(minutes=8)
    )

    scheduler.run_forever()

    healthy = runner.starts("healthy")
    assert [at.replace(second=0) for at in healthy] == [T0 + timedelta(minutes=m) for m in range(40)]
    assert all(at.second <= 2 for at in healthy), "the failing org never delays the healthy one"
    broken = runner.starts("broken")
    gaps = [round((b - a).total_seconds() / 60) for a, b in zip(broken, broken[1:], strict=False)]
    assert gaps[:6] == [1, 2, 4, 8, 8, 8]
    assert metrics.consecutive_failures.labels("broken")._value.get() == len(broken)
    assert metrics.last_run_status.labels("broken", "failed")._value.get() == 1
    assert metrics.last_run_status.labels("healthy", "ok")._value.get() == 1


def test_scheduler_recovered_org_resets_its_backoff(tmp_path: Path) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock, failing={"acme"})
    write_org(tmp_path, "acme", "*/5 * * * *")
    scheduler, _ = make(tmp_path, runner, clock, base_backoff=timedelta(minutes=30))
    scheduler.reload()
    scheduler.run_due()
    assert scheduler.next_due("acme") == T0 + timedelta(minutes=30, seconds=1)

    runner.failing.clear()
    clock.now = T0 + timedelta(minutes=31)
    [outcome] = scheduler.run_due()

    assert outcome.status == "ok"
    assert scheduler.next_due("acme") == T0 + timedelta(minutes=35)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ConfigError("acme.yaml: crm.token_env: ACME_TOKEN is not set"), id="config"),
        pytest.param(KeyError("unexpected"), id="crash"),
    ],
)
def test_scheduler_one_org_raising_does_not_stop_the_others(tmp_path: Path, error: Exception) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock)
    runner.raises["acme"] = error
    write_org(tmp_path, "acme")
    write_org(tmp_path, "zeta")
    scheduler, metrics = make(tmp_path, runner, clock)
    scheduler.reload()

    outcomes = {o.org: o for o in scheduler.run_due()}

    assert outcomes["acme"].status == "failed"
    assert outcomes["acme"].error
    assert outcomes["zeta"].status == "ok"
    assert scheduler.next_due("acme") > T0 + timedelta(minutes=1)  # backing off
    assert metrics.runs.labels("acme", "failed")._value.get() == 1


def test_scheduler_reload_applies_a_changed_config(tmp_path: Path) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock)
    path = write_org(tmp_path, "acme", "* * * * *")
    scheduler, _ = make(tmp_path, runner, clock)
    scheduler.reload()
    scheduler.run_due()

    write_org(tmp_path, "acme", "0 3 * * *", sync={"labels": ["from-sales"]})
    scheduler.reload()

    [config] = scheduler.orgs
    assert config.schedule == "0 3 * * *"
    assert config.sync.labels == ("from-sales",)
    assert config.source == path
    assert scheduler.next_due("acme") == T0 + timedelta(minutes=1)  # the earlier due time it had stays


def test_scheduler_reload_reports_an_invalid_change_once_and_keeps_the_previous_config(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock)
    path = write_org(tmp_path, "acme", "*/15 * * * *")
    scheduler, _ = make(tmp_path, runner, clock)
    scheduler.reload()

    path.write_text(
        path.read_text(encoding="utf-8").replace("project: PROD", "projekt: PROD"), encoding="utf-8"
    )
    with capture_logs() as logs:
        scheduler.reload()
        scheduler.reload()  # unchanged since: not reported again
    [config] = scheduler.orgs
    ran = scheduler.run_due()

    invalid = [e for e in logs if e["event"] == "config.invalid"]
    assert len(invalid) == 1
    assert invalid[0]["kept_previous"] is True
    assert "tracker.projekt" in scheduler.problems[str(path)]
    assert config.schedule == "*/15 * * * *"
    assert [o.org for o in ran] == ["acme"], "the previous good config keeps running"

    write_org(tmp_path, "acme", "*/30 * * * *")
    scheduler.reload()
    assert scheduler.problems == {}
    assert scheduler.orgs[0].schedule == "*/30 * * * *"


def test_scheduler_reload_adds_new_files_and_drops_removed_ones(tmp_path: Path) -> None:
    clock = FakeClock()
    scheduler, _ = make(tmp_path, FakeRunner(clock), clock)
    old = write_org(tmp_path, "acme")
    (tmp_path / "broken.yaml").write_text("org: broken\ncrm: [unclosed\n", encoding="utf-8")
    scheduler.reload()
    assert [c.org for c in scheduler.orgs] == ["acme"]
    assert "not valid YAML" in scheduler.problems[str(tmp_path / "broken.yaml")]

    old.unlink()
    write_org(tmp_path, "beta")
    scheduler.reload()

    assert [c.org for c in scheduler.orgs] == ["beta"]
    assert scheduler.next_due("beta") == T0


def test_scheduler_readiness_needs_loaded_configs_and_a_database(tmp_path: Path) -> None:
    clock = FakeClock()
    down: list[Exception] = []

    def ping() -> None:
        if down:
            raise down[0]

    scheduler, _ = make(tmp_path, FakeRunner(clock), clock, ping=ping)
    assert scheduler.readiness().detail["reason"] == "org configs not loaded yet"
    scheduler.reload()
    assert not scheduler.readiness().ready  # no org yet
    write_org(tmp_path, "acme")
    scheduler.reload()
    ready = scheduler.readiness()
    assert ready.ready
    assert ready.detail["orgs"]["acme"]["schedule"] == "* * * * *"

    down.append(ConnectionRefusedError("connection refused"))
    state = scheduler.readiness()
    assert not state.ready
    assert state.detail["reason"] == "database unreachable (ConnectionRefusedError)"


def test_stop_flag_is_set_by_sigterm_and_restores_the_previous_handler() -> None:
    before = signal.getsignal(signal.SIGTERM)
    flag = StopFlag()
    restore = flag.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 2
        while not flag() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert flag()
        assert signal.getsignal(signal.SIGTERM) == before, "a second SIGTERM acts at once"
    finally:
        restore()
    flag.wait(5)  # already set: returns at once


def test_scheduler_hands_the_stop_flag_to_the_run_and_stops_after_it(tmp_path: Path) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock)
    flag = StopFlag()
    seen: list[bool] = []

    def sigterm_during_run(_config: OrgConfig, stop: Callable[[], bool]) -> None:
        flag.set()  # what the SIGTERM handler does
        seen.append(stop())  # the engine polls this at its safe boundaries

    runner.during = sigterm_during_run
    write_org(tmp_path, "acme")
    write_org(tmp_path, "beta")
    scheduler, _ = make(tmp_path, runner, clock, stop=flag)

    scheduler.run_forever()

    assert seen == [True]
    assert [org for org, _ in runner.calls] == ["acme"], "no new org starts after a stop"


def test_scheduler_reload_skips_a_second_file_of_one_org_until_the_first_goes(tmp_path: Path) -> None:
    clock = FakeClock()
    scheduler, _ = make(tmp_path, FakeRunner(clock), clock)
    first = write_org(tmp_path, "acme", "*/15 * * * *")
    second = tmp_path / "acme.yml"
    second.write_text(first.read_text(encoding="utf-8").replace("*/15", "*/30"), encoding="utf-8")
    scheduler.reload()
    assert "already configured by" in scheduler.problems[str(second)]

    first.unlink()
    scheduler.reload()

    assert [c.schedule for c in scheduler.orgs] == ["*/30 * * * *"]
    assert scheduler.problems == {}
