"""Several replicas: `syncer worker` processes share org runs through the PostgreSQL job queue.

Three real worker processes on one PostgreSQL schema, twenty orgs each on its own small HubSpot + Jira
emulator pair (served by this test process). Every org is queued (twice, so some orgs get a second
job while their first is running). One worker carries a failpoint and SIGKILLs itself right after
Jira created items and before our state recorded them. The others must finish everything: every
org synced, its runs never overlapping, the dead worker's org taken over without a duplicate issue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
import yaml
from sqlalchemy import create_engine, text

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from syncer.state import StateStore
from syncer.worker import SYNC_ORG, apply_queue_schema, due_orgs, libpq_conninfo
from tests.e2e.conftest import TOKEN

ORGS = 20
SIGKILLED = -9


@dataclass
class Org:
    name: str
    hubspot: HubSpotEmulator
    jira: JiraEmulator


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path


def _start_orgs(config_dir: Path) -> tuple[list[Org], list[ServedApp]]:
    config_dir.mkdir()
    orgs, served = [], []
    for n in range(ORGS):
        name = f"org{n:02d}"
        hubspot = HubSpotEmulator(token=TOKEN, search_per_second=50, burst_per_10s=10_000)
        hubspot.seed_demo(seed=n, companies=3, tickets=12)
        jira = JiraEmulator(token=TOKEN, burst_per_second=1_000)
        jira.seed_demo()
        crm, tracker = ServedApp(hubspot.app).start(), ServedApp(jira.app).start()
        served += [crm, tracker]
        data = {
            "org": name,
            "crm": {"system": "hubspot", "base_url": crm.url, "token_env": "T", "overlap_seconds": 5},
            "tracker": {
                "system": "jira",
                "base_url": tracker.url,
                "email": "bot@example.com",
                "token_env": "T",
                "project": "PROD",
            },
            "sync": {"adopt_grace_seconds": 0, "create_batch_size": 2},
        }
        (config_dir / f"{name}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        orgs.append(Org(name, hubspot, jira))
    return orgs, served


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        {
            "T": TOKEN,
            "SYNCER_DATABASE_URL": database_url,
            "SYNCER_LOG_LEVEL": "WARNING",
            # a killed worker's lease is taken over at once (same host, dead pid); the TTL only bounds a
            # living run that stops renewing — generous, so a CPU-starved machine cannot fake a stall
            "SYNCER_LEASE_SECONDS": "15",
            "SYNCER_WORKER_HEARTBEAT_SECONDS": "0.5",
            "SYNCER_WORKER_STALLED_SECONDS": "3",
            "PYTHONPATH": str(Path.cwd()),
            **extra,
        }
    )
    return env


def _start_worker(config_dir: Path, env: dict[str, str], log: Path) -> Worker:
    stream: IO[bytes] = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "syncer", "worker", "--config-dir", str(config_dir), "--concurrency", "2"],
        env=env,
        stdout=stream,
        stderr=subprocess.STDOUT,
    )
    stream.close()
    return Worker(process, log)


def _enqueue_all(config_dir: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "enqueue", "--all", "--config-dir", str(config_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.mark.postgres
def test_three_workers_sync_twenty_orgs_one_at_a_time_and_take_over_a_killed_one(
    postgres_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    config_dir = tmp_path / "orgs"
    orgs, served = _start_orgs(config_dir)
    state = StateStore(postgres_url)
    state.migrate()  # once, before the replicas start (they find it done)
    apply_queue_schema(postgres_url)
    db = create_engine(postgres_url)
    env = _env(postgres_url)
    workers = [_start_worker(config_dir, env, tmp_path / f"worker{i}.log") for i in range(2)]
    doomed = _start_worker(
        config_dir, _env(postgres_url, SYNCER_FAILPOINT="create.remote_done"), tmp_path / "doomed.log"
    )
    workers.append(doomed)
    try:
        _enqueue_all(config_dir, env)
        _enqueue_all(config_dir, env)  # orgs already running get a second job, which must wait its turn

        deadline = time.monotonic() + 90
        while doomed.process.poll() is None:
            assert time.monotonic() < deadline, "the worker with the failpoint never reached it"
            time.sleep(0.05)
        died_at = datetime.now(UTC)
        assert doomed.process.returncode == SIGKILLED, doomed.log.read_text()[-3000:]

        while True:
            with db.connect() as conn:
                done = {
                    r.org
                    for r in conn.execute(text("SELECT org FROM runs WHERE status IN ('ok', 'partial')"))
                }
                busy = conn.execute(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND status IN "
                        "('todo', 'doing')"
                    ),
                    {"t": SYNC_ORG},
                ).scalar_one()
                # every org a dead run left behind must have been run again, after the kill
                orphaned = {
                    r.org for r in conn.execute(text("SELECT org FROM runs WHERE status = 'running'"))
                } - {
                    r.org
                    for r in conn.execute(
                        text("SELECT org FROM runs WHERE status IN ('ok', 'partial') AND started_at >= :t"),
                        {"t": died_at},
                    )
                }
            if len(done) == ORGS and busy == 0 and not orphaned:
                break
            assert time.monotonic() < deadline, (
                f"not finished: {sorted({o.name for o in orgs} - done)} unsynced, {busy} jobs open\n"
                + "\n".join(w.log.read_text()[-1500:] for w in workers)
            )
            time.sleep(0.25)
        for worker in workers[:2]:
            assert worker.process.poll() is None, worker.log.read_text()[-3000:]

        with db.connect() as conn:
            runs = list(conn.execute(text("SELECT org, status, started_at, finished_at, counts FROM runs")))
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        db.dispose()
        state.dispose()
        for app in served:
            app.stop()

    # the killed run: exactly one, and another worker finished its org after the kill, adopting what
    # the dead run had created instead of creating it again
    killed = [r for r in runs if r.status == "running"]
    assert 1 <= len(killed) <= 2, killed  # the dead worker ran up to 2 orgs at once (--concurrency 2)
    for victim in {r.org for r in killed}:
        takeover = [r for r in runs if r.org == victim and r.status in ("ok", "partial")]
        assert any(_utc(r.started_at) >= died_at for r in takeover), f"nobody took {victim} over"
    assert sum(r.counts.get("items_adopted", 0) for r in runs if r.org in {k.org for k in killed}) > 0

    # never two runs of one org at the same time
    for org in orgs:
        mine = sorted((r for r in runs if r.org == org.name), key=lambda r: r.started_at)
        for earlier, later in zip(mine, mine[1:], strict=False):
            end = earlier.finished_at if earlier.finished_at is not None else died_at
            assert _utc(later.started_at) >= _utc(end), f"{org.name}: overlapping runs {earlier} {later}"

    # every org synced, no duplicate issue, every linked ticket points at an issue of its own org
    for org in orgs:
        issues = org.jira.issues()
        assert issues, f"{org.name}: nothing synced"
        markers = Counter(lb for i in issues for lb in i["fields"]["labels"] if lb.startswith("syncer-"))
        assert markers, f"{org.name}: no marked issue"
        assert all(n == 1 for n in markers.values()), f"{org.name}: duplicates {markers}"
        keys = {i["key"] for i in issues}
        linked = [org.hubspot.ticket(t).get("syncer_backlog_key") for t in org.hubspot.ids("tickets")]
        assert {k for k in linked if k} == keys, f"{org.name}: links {linked} vs issues {keys}"

    assert time.monotonic() - started < 90


def test_worker_refuses_sqlite_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "orgs").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "worker", "--config-dir", str(tmp_path / "orgs")],
        env=_env(f"sqlite:///{tmp_path / 'state.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "syncer worker needs PostgreSQL: set SYNCER_DATABASE_URL=postgresql+psycopg://" in done.stderr


def test_queue_connects_to_the_state_store_schema() -> None:
    url = "postgresql+psycopg://bot:p%40ss@db.internal:6432/syncer?options=-csearch_path%3Dtenant_a"
    assert libpq_conninfo(url) == (
        "host=db.internal port=6432 user=bot password=p@ss dbname=syncer options=-csearch_path=tenant_a"
    )


def test_due_orgs_follow_each_orgs_schedule(tmp_path: Path) -> None:
    base = {
        "crm": {"system": "hubspot", "token_env": "T"},
        "tracker": {
            "system": "jira",
            "base_url": "http://jira",
            "email": "a@b.c",
            "token_env": "T",
            "project": "PROD",
        },
    }
    (tmp_path / "hourly.yaml").write_text(yaml.safe_dump({"org": "hourly", "schedule": "0 * * * *", **base}))
    (tmp_path / "default.yaml").write_text(yaml.safe_dump({"org": "default", **base}))
    assert due_orgs(tmp_path, datetime(2025, 1, 1, 10, 0, tzinfo=UTC)) == ["default", "hourly"]
    assert due_orgs(tmp_path, datetime(2025, 1, 1, 10, 15, tzinfo=UTC)) == ["default"]
    assert due_orgs(tmp_path, datetime(2025, 1, 1, 10, 7, tzinfo=UTC)) == []
    late = datetime(2025, 1, 1, 10, 16, tzinfo=UTC)  # the 10:14 tick waited: it also covers 10:15
    assert due_orgs(tmp_path, datetime(2025, 1, 1, 10, 14, tzinfo=UTC), late) == ["default"]
