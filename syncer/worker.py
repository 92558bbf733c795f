"""Several replicas on one PostgreSQL: org runs are jobs of procrastinate (a Postgres-backed task queue).

- `sync_org(org)` is one pass for one org. Every job carries `lock="org:<org>"` (procrastinate runs
  jobs with the same lock one at a time, in order) and `queueing_lock="org:<org>"` (at most one
  waiting job per org: deferring another raises `AlreadyEnqueued`, which we treat as "already queued").
- `defer_due_orgs` is a procrastinate periodic task (cron `* * * * *`, deferred once per minute across
  all workers): it queues `sync_org` for every org whose own `schedule:` cron is due.
- Failures (a failed pass, a busy org, an unexpected error) re-queue the org with exponential backoff.
  We re-defer a fresh job instead of using procrastinate's `retry=`: a retry turns the job back into
  `todo` with its queueing lock, which collides with a run queued meanwhile and leaves the job stuck.
- A worker killed mid-run (SIGKILL, OOM) stops sending heartbeats; every worker looks for jobs of
  such stalled workers every few seconds and puts them back in the queue. The org lease
  (`SYNCER_LEASE_SECONDS`) of the dead run expires on its own; the engine's intents and markers make
  the new run adopt what the dead one created instead of creating it again.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import structlog
from croniter import croniter
from procrastinate import App, JobContext, PsycopgConnector, exceptions
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager

from syncer.config import OrgConfig, find_org_config, iter_config_files, load_org_config
from syncer.errors import ConfigError
from syncer.failpoints import Failpoint, no_failpoint
from syncer.state import StateStore
from syncer.state.urls import libpq_conninfo

log = structlog.get_logger("syncer.worker")

SYNC_ORG = "syncer.sync_org"
DEFER_DUE_ORGS = "syncer.defer_due_orgs"
DEFAULT_SCHEDULE = "*/15 * * * *"
RETRY_BASE_SECONDS = 5  # a failed run is re-queued after 5, 10, 20, ... seconds
RETRY_MAX_SECONDS = 600
RETRY_MAX_ATTEMPTS = 8  # then the org waits for its next scheduled run
_SCHEMA_LOCK = 0x5359_4E43_5155  # pg advisory lock key: one schema installer at a time

# Tasks are declared on this app; the worker and `enqueue` swap in the real connector with
# `app.replace_connector(...)` (see `queue_connector`). Nothing connects at import time.
app = App(connector=PsycopgConnector())


class OrgRunFailed(Exception):
    """The pass failed or the org was busy; the org is already re-queued with backoff."""


@dataclass(frozen=True)
class WorkerRuntime:
    """What a worker process shares with its jobs (procrastinate's `additional_context`)."""

    config_dir: Path
    store: StateStore
    lease_ttl: timedelta
    failpoint: Failpoint = no_failpoint
    redis_url: str | None = None  # API budgets shared by every replica


def queue_connector(database_url: str) -> PsycopgConnector:
    return PsycopgConnector(conninfo=libpq_conninfo(database_url))


def apply_queue_schema(database_url: str) -> bool:
    """Install procrastinate's tables and functions if they are missing (idempotent, safe to race).

    Returns whether it installed them. Upgrading an existing queue schema to a newer procrastinate
    is a separate step (`procrastinate schema --migrations-path`).
    """
    with psycopg.connect(libpq_conninfo(database_url)) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if row is not None and row[0]:
            return False
        conn.execute(SchemaManager.get_schema())
    return True


def org_lock(org: str) -> str:
    return f"org:{org}"


def defer_org(queue: App, org: str, *, attempt: int = 0, delay_seconds: float = 0) -> bool:
    """Queue one run of `org`; False if a run of it is already waiting (that one will do)."""
    try:
        queue.configure_task(
            SYNC_ORG,
            lock=org_lock(org),
            queueing_lock=org_lock(org),
            schedule_in={"seconds": delay_seconds} if delay_seconds else None,
        ).defer(org=org, attempt=attempt)
    except exceptions.AlreadyEnqueued:
        return False
    return True


def retry_delay(attempt: int) -> float:
    return float(min(RETRY_BASE_SECONDS * 2**attempt, RETRY_MAX_SECONDS))


def _runtime(context: JobContext) -> WorkerRuntime:
    runtime = context.additional_context.get("syncer")
    if not isinstance(runtime, WorkerRuntime):
        raise RuntimeError("sync jobs run only inside `syncer worker`")
    return runtime


def _retry_later(context: JobContext, org: str, attempt: int, reason: str) -> None:
    if attempt + 1 >= RETRY_MAX_ATTEMPTS:
        log.error("worker.giving_up", org=org, attempts=attempt + 1, reason=reason)
        return
    delay = retry_delay(attempt)
    queued = defer_org(context.app, org, attempt=attempt + 1, delay_seconds=delay)
    log.warning("worker.retry_later", org=org, attempt=attempt + 1, in_seconds=delay, queued=queued)


@app.task(name=SYNC_ORG, pass_context=True)
def sync_org(context: JobContext, org: str, attempt: int = 0) -> dict[str, int | str]:
    """One pass for `org` (its config is CONFIG_DIR/<org>.yaml)."""
    from syncer.service import run_org

    runtime = _runtime(context)
    config = find_org_config(runtime.config_dir, org)  # a ConfigError needs a human: no retry
    try:
        counts = run_org(
            config,
            runtime.store,
            "run",
            stop=context.should_abort,
            lease_ttl=runtime.lease_ttl,
            failpoint=runtime.failpoint,
            redis_url=runtime.redis_url,
        )
    except Exception as exc:
        _retry_later(context, org, attempt, f"{type(exc).__name__}: {exc}")
        raise
    if counts.interrupted:
        if context.abort_reason() == AbortReason.SHUTDOWN:  # let another replica finish the pass
            defer_org(context.app, org, attempt=attempt)
    elif counts.skipped or counts.errors:
        reason = counts.skipped or "; ".join(counts.errors)
        _retry_later(context, org, attempt, reason)
        raise OrgRunFailed(reason)
    return counts.public()


def schedule_of(config: OrgConfig) -> str:
    return str(getattr(config, "schedule", DEFAULT_SCHEDULE))


def due_orgs(config_dir: Path, at: datetime, until: datetime | None = None) -> list[str]:
    """Orgs whose `schedule:` cron fires at the minute `at` or later up to `until` (UTC; a late tick
    covers the ticks skipped while it waited). Broken configs are logged and skipped."""
    end = max(at, until or at)
    due = []
    for path in iter_config_files(config_dir):
        try:
            config = load_org_config(path)
        except ConfigError as exc:
            log.error("worker.bad_config", error=str(exc))
            continue
        if croniter(schedule_of(config), at - timedelta(seconds=1)).get_next(datetime) <= end:
            due.append(config.org)
    return due


@app.periodic(cron="* * * * *", periodic_id="every-minute")
@app.task(name=DEFER_DUE_ORGS, pass_context=True, queueing_lock=DEFER_DUE_ORGS, priority=10)
def defer_due_orgs(context: JobContext, timestamp: int) -> int:
    """Every minute (once across all workers): queue a run of every org whose schedule is due."""
    runtime = _runtime(context)
    at = datetime.fromtimestamp(timestamp, UTC)
    queued = sum(defer_org(context.app, org) for org in due_orgs(runtime.config_dir, at, datetime.now(UTC)))
    log.info("worker.deferred_due_orgs", at=at.isoformat(), queued=queued)
    return queued


async def requeue_stalled_jobs(queue: App, stalled_seconds: float) -> list[int]:
    """Put back in the queue the org runs of workers whose heartbeat stopped (killed, frozen).

    If a run of that org is already waiting, the stalled job is marked failed instead: the waiting
    one covers the org (and could not be fetched while the stalled job held the org's lock).
    """
    requeued = []
    stalled = await queue.job_manager.get_stalled_jobs(
        task_name=SYNC_ORG, seconds_since_heartbeat=stalled_seconds
    )
    for job in stalled:
        assert job.id is not None
        try:
            await queue.job_manager.retry_job(job)
            requeued.append(job.id)
        except exceptions.UniqueViolation:
            await queue.job_manager.finish_job(job, Status.FAILED, delete_job=False)
        except exceptions.ConnectorException as exc:  # another worker handled it first
            log.info("worker.stalled_job_taken", job=job.id, error=str(exc))
            continue
        log.warning("worker.stalled_job_requeued", job=job.id, org=job.task_kwargs.get("org"))
    return requeued


async def _watch_stalled(queue: App, stalled_seconds: float) -> None:
    while True:
        # jitter: replicas started together should not all look at the same moment
        await asyncio.sleep(stalled_seconds / 2 * (0.75 + random.random() / 2))
        try:
            await requeue_stalled_jobs(queue, stalled_seconds)
        except exceptions.ConnectorException as exc:
            log.warning("worker.stalled_check_failed", error=str(exc))


async def serve(
    runtime: WorkerRuntime,
    *,
    concurrency: int = 1,
    heartbeat_seconds: float = 10.0,
    stalled_seconds: float = 30.0,
    shutdown_seconds: float = 0.0,
    name: str | None = None,
) -> None:
    """Run one worker until SIGTERM/SIGINT (`app` must already have its real connector).

    On SIGTERM, running passes get `shutdown_seconds` to finish, then stop at their next safe
    boundary (the engine's `stop`) and are queued again for another replica.
    """
    async with app.open_async():
        watcher = asyncio.create_task(_watch_stalled(app, stalled_seconds), name="syncer-stalled")
        try:
            await app.run_worker_async(
                concurrency=concurrency,
                name=name or f"{socket.gethostname()}",
                additional_context={"syncer": runtime},
                update_heartbeat_interval=heartbeat_seconds,
                stalled_worker_timeout=stalled_seconds,
                shutdown_graceful_timeout=shutdown_seconds,
                delete_jobs="successful",
            )
        finally:
            watcher.cancel()
