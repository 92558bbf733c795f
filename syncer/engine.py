"""One pass for one organisation: pull -> map -> plan -> apply -> write back. Knows no vendor."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from adapters.errors import SyncError
from mappings.feedback import FeedbackFilter, PriorityWeights
from mappings.models import Cursor, Priority, Urgency
from mappings.render import RenderOptions
from syncer.apply import Apply
from syncer.config import OrgConfig
from syncer.counts import PassCounts
from syncer.failpoints import Failpoint, no_failpoint
from syncer.ingest import Ingest, settled_stream
from syncer.milestone_sync import ITEMS_STREAM, MilestoneSync
from syncer.ports import AlertSink, CrmSink, CrmSource, TrackerSink, TrackerSource
from syncer.recent import RecentRecords
from syncer.state import StateStore
from syncer.state.lease import OrgLease

log = structlog.get_logger("syncer.engine")

FEEDBACK_STREAM = "feedback"
# boundaries where a requested stop may end the pass: everything before them is committed and nothing
# remote is half-recorded (the write-back and alert boundaries sit between a remote call and its record)
SAFE_STOPS = frozenset({"pull.page_saved", "accounts.refreshed", "create.batch_saved", "apply.done"})


class InterruptedRun(Exception):
    """A stop was requested (SIGTERM); raised at a safe boundary, ends the pass cleanly."""


class LeaseLostError(Exception):
    """Our lease on the org expired and another worker took it: stop writing at once."""


ACCOUNTS_STREAM = "accounts"
RESCAN_STREAM = "rescan"  # a rescan's checkpoint: an interrupted rescan resumes, a finished one is cleared
CLOCK_SKEW_ALLOWANCE = timedelta(days=1)


def weights_from(config: OrgConfig) -> PriorityWeights:
    p = config.priority
    thresholds = tuple(
        sorted(((v, Priority(k)) for k, v in p.thresholds.items()), key=lambda t: t[0], reverse=True)
    )
    return PriorityWeights(
        urgency={Urgency(k): v for k, v in p.urgency.items()},
        tier={k.casefold(): v for k, v in p.tiers.items()},
        default_tier_weight=p.default_tier_weight,
        arr_unit=p.arr_unit,
        thresholds=thresholds,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def backfill_stream(since: datetime, until: datetime | None) -> str:
    """A backfill's checkpoint stream: one per requested window, so different windows never share one."""
    window = f"backfill:{since.date().isoformat()}"
    return f"{window}..{until.isoformat()}" if until is not None else window


def _stage_progress(report: Callable[[str, int], None] | None, stage: str) -> Callable[[int], None] | None:
    if report is None:
        return None
    return lambda n: report(stage, n)


class Engine:
    def __init__(
        self,
        config: OrgConfig,
        store: StateStore,
        crm: CrmSource,
        crm_sink: CrmSink,
        tracker: TrackerSink,
        tracker_source: TrackerSource,
        alerts: AlertSink,
        *,
        requests: Callable[[], int] = lambda: 0,
        clock: Callable[[], datetime] = _now,
        on_progress: Callable[[str, int], None] | None = None,
        failpoint: Failpoint = no_failpoint,
        stop: Callable[[], bool] = lambda: False,
        holder: str | None = None,
        lease_ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self.config, self._store = config, store
        self._crm, self._crm_sink, self._tracker = crm, crm_sink, tracker
        self._tracker_source, self._alerts = tracker_source, alerts
        self._requests, self._clock, self._on_progress = requests, clock, on_progress
        self._failpoint, self._stop = failpoint, stop
        self._holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self._lease: OrgLease | None = None
        self._lease_ttl = lease_ttl

    def _checkpoint(self, name: str) -> None:
        """Called at every step boundary: failpoints fire, the org lease is renewed, and a requested
        stop (SIGTERM) ends the pass here, where everything done so far is committed."""
        self._failpoint(name)
        if self._on_progress is not None:
            self._on_progress(f"step:{name}", 0)  # progress displays name what the pass is doing
        if self._lease is not None and not self._lease.renew():
            raise LeaseLostError(f"lost the lease on org {self.config.org}: another worker took over")
        if name in SAFE_STOPS and self._stop():
            raise InterruptedRun(name)

    def run(
        self,
        name: str = "run",
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        replay_dead_letters: bool = False,
        rescan: bool = False,
    ) -> PassCounts:
        """One idempotent pass. `since` (backfill) re-reads from that date on its own cursor stream;
        `replay_dead_letters` first re-opens every dead letter so the pass tries those records again;
        `rescan` re-reads and re-maps everything (after a mapping change): see `_start_rescan`."""
        counts = PassCounts(name=name)
        run_id = uuid.uuid4().hex
        org = self.config.org
        lease = OrgLease(self._store, org, f"{self._holder}:{run_id[:8]}", self._lease_ttl)
        if not lease.acquire():
            counts.skipped = f"another run of org {org} is in progress ({lease.holder_now()}); nothing done"
            log.warning("run.skipped", org=org, reason=counts.skipped)
            return counts
        self._lease = lease
        structlog.contextvars.bind_contextvars(org=org, run_id=run_id)
        before = self._requests()
        with self._store.unit() as unit:
            unit.audit.start_run(org, run_id, name)
        status, error = "ok", None
        try:
            if rescan:
                since = self._start_rescan()
            self._pass(
                counts,
                since,
                until or self._clock(),
                replay_dead_letters,
                explicit_until=until is not None,
                stream=RESCAN_STREAM if rescan else None,
            )
            if rescan:
                with self._store.unit() as unit:
                    unit.delete_cursor(org, RESCAN_STREAM)
                    unit.delete_cursor(org, settled_stream(RESCAN_STREAM))
        except (SyncError, LeaseLostError) as exc:  # state is consistent: the next run resumes
            status, error = "failed", str(exc)
            counts.errors.append(error)
            log.error("run.failed", error=error)
        except InterruptedRun as stop:
            status, counts.interrupted = "interrupted", True
            log.warning("run.interrupted", at=str(stop))
        finally:
            counts.requests = self._requests() - before
            with self._store.unit() as unit:
                final = status if status != "ok" or not counts.dead_letters else "partial"
                unit.audit.finish_run(run_id, final, counts.as_dict(), error)
            self._lease = None
            lease.release()
            structlog.contextvars.unbind_contextvars("org", "run_id")
        log.info("run.finished", **counts.public(), status=status)
        return counts

    def _pass(
        self,
        counts: PassCounts,
        since: datetime | None,
        until: datetime,
        replay: bool = False,
        *,
        explicit_until: bool = False,
        stream: str | None = None,
    ) -> None:
        cfg = self.config
        stream = stream or (
            FEEDBACK_STREAM if since is None else backfill_stream(since, until if explicit_until else None)
        )
        recent = RecentRecords()  # what the pull stores, handed to the plan as models
        ingest = Ingest(
            cfg.org,
            self._store,
            self._crm,
            FeedbackFilter(**cfg.crm.feedback.model_dump()),
            require_account=cfg.sync.require_account,
            counts=counts,
            on_page=_stage_progress(self._on_progress, "pull"),
            on_total=_stage_progress(self._on_progress, "pull.total"),
            failpoint=self._checkpoint,
            recent=recent,
        )
        overlap = timedelta(seconds=cfg.crm.overlap_seconds)
        if replay:
            self._replay(ingest, counts)
        # the vendor's clock may run ahead of ours: bound pulls generously, cursors are vendor stamps
        # an explicit `until` (backfill) is taken as given; otherwise bound generously by our clock
        crm_until = until if explicit_until else until + CLOCK_SKEW_ALLOWANCE
        # accounts first: a backfill then finds every changed company in the run cache instead of
        # reading it a second time for its feedback (a first sync skips the account backlog: ingest.py)
        ingest.run_accounts(ACCOUNTS_STREAM, overlap, crm_until)
        ingest.run(stream, since, overlap, crm_until, skip_known=stream != RESCAN_STREAM)
        ingest.catch_up_accounts(overlap, crm_until)
        apply = Apply(
            cfg.org,
            self._store,
            self._tracker,
            self._crm_sink,
            weights=weights_from(cfg),
            options=RenderOptions(
                labels=cfg.sync.labels, max_body_chars=cfg.sync.max_body_chars, locale=cfg.locale
            ),
            adopt_grace=timedelta(seconds=cfg.sync.adopt_grace_seconds),
            clock=self._clock,
            counts=counts,
            failpoint=self._checkpoint,
            create_batch=cfg.sync.create_batch_size,
            recent=recent,
        )
        apply.apply_groups()
        recent.clear()  # the write-back and alerts need no payloads
        self._checkpoint("apply.done")
        milestones = MilestoneSync(
            cfg.org,
            self._store,
            self._tracker_source,
            self._alerts,
            channel=cfg.alerts.channel,
            locale=cfg.locale,
            due_soon_days=cfg.alerts.due_soon_days,
            overlap=timedelta(seconds=cfg.tracker.overlap_seconds),
            clock=self._clock,
            counts=counts,
            failpoint=self._checkpoint,
        )
        milestones.detect()
        apply.write_back()
        milestones.send()

    def _start_rescan(self) -> datetime:
        """After a mapping change: every linked group is re-rendered (an item is updated only when its
        rendered content hash changed), every feedback record is re-read and re-mapped (stored content
        hashes decide what changed) and every tracker item is re-read (status mapping). Returns where the
        CRM re-read starts: the beginning (an interrupted rescan's checkpoint on its stream wins)."""
        with self._store.unit() as unit:
            unit.mark_linked_groups_dirty(self.config.org)
            unit.delete_cursor(self.config.org, ITEMS_STREAM)
        return Cursor.epoch().updated_at

    def _replay(self, ingest: Ingest, counts: PassCounts) -> None:
        with self._store.unit() as unit:
            letters = unit.audit.open_dead_letters(self.config.org, limit=100_000)
            unit.reopen_for_retry(self.config.org, letters)
        counts.dead_letters_replayed = len(letters)
        records = [
            d.record_id for d in letters if d.stage in ("map", "pull") and d.system == self._crm.system
        ]
        for start in range(0, len(records), 500):
            ingest.ingest_page(self._crm.get_feedback(records[start : start + 500]))
        log.info("dead_letters.replayed", count=len(letters), records=len(records))
