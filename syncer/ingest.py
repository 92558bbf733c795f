"""Pull phase: stream changed feedback page by page into the state store, crash-safe.

Each page — or each group of pages an adapter produced together (`Page.more`) — is one transaction:
changed records are stored as `pending` and the cursor advances in the same commit, so a crash after
it loses nothing (the pending flag survives) and a crash before it re-reads those pages next time
(re-reads are skipped by content hash).

Request economy (issue 9): an adapter that can (`SkipsKnown`) leaves out records it returns at a
version we already processed — above all the echoes of our own write-back — before reading anything
more about them; the versions a page carries are saved in that page's transaction, never before, so a
crash re-reads rather than skips. Accounts come from the run cache (the account-change stream runs
first and fills it), then from the CRM, which may use our stored snapshots to read less.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import structlog

from adapters.paging import KnownVersions, Page, nothing_known, read_ahead
from mappings.feedback import FeedbackFilter, group_key, is_product_feedback
from mappings.models import STORED, Account, Cursor, Feedback
from syncer.counts import PassCounts
from syncer.failpoints import Failpoint, no_failpoint
from syncer.ports import CrmSource
from syncer.recent import RecentRecords
from syncer.records import content_unchanged, dumped_hash, shown_signature, to_payload
from syncer.state import StateStore, StoredFeedback, Unit

log = structlog.get_logger("syncer.ingest")

GATHER_PAGES = 10  # at most this many pages produced together are gathered for one account read

DEAD_GROUP = "dead:"  # stored records that could not be grouped (e.g. no account); never planned
# a settled pull resumes this far after its cursor: at or below every CRM's stamp resolution (HubSpot,
# Jiandaoyun: ms; Salesforce: s), and adapters floor `since` to their own resolution: nothing is skipped
SETTLED_STEP = timedelta(milliseconds=1)


def settled_stream(stream: str) -> str:
    """The cursor row that records how far `stream` is settled (see `Ingest._settle`)."""
    return f"{stream}#settled"


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A pulled page, sorted out before its accounts are read: the product feedback it holds
    (`wanted`), what we stored of its group's records (`known`), their dumps and hashes, and which
    changed."""

    page: Page[Feedback]
    wanted: list[Feedback]
    known: Mapping[str, tuple[str, str]]  # record id -> (content hash, group key), for its whole group
    dumps: dict[str, dict[str, Any]]
    hashes: dict[str, str]
    changed: list[Feedback]


@dataclass(frozen=True, slots=True)
class _Stored:
    """What storing a page did: the records it stored as pending, the ids it dropped or dead-lettered,
    and whether it stored any record (dead-lettered ones included)."""

    good: list[Feedback]
    gone: list[str]
    stored_any: bool


@runtime_checkable
class SkipsKnown(Protocol):
    """An adapter that can leave out records already processed at their current version."""

    def skip_known(self, known: KnownVersions) -> None: ...


@runtime_checkable
class TakesAccountHints(Protocol):
    """An adapter that re-reads an account more cheaply when given our stored snapshot of it."""

    def hint_accounts(self, accounts: Mapping[str, Account]) -> None: ...


class Ingest:
    def __init__(
        self,
        org: str,
        store: StateStore,
        crm: CrmSource,
        rule: FeedbackFilter,
        *,
        require_account: bool,
        counts: PassCounts,
        on_page: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        failpoint: Failpoint = no_failpoint,
        recent: RecentRecords | None = None,
    ) -> None:
        """`recent` receives every record stored, once committed, for the plan of the same run."""
        self._org, self._store, self._crm, self._rule = org, store, crm, rule
        self._recent = recent if recent is not None else RecentRecords()
        self._require_account = require_account
        self._counts = counts
        self._accounts: dict[str, Account | None] = {}  # per-run cache: no N+1 lookups
        self._on_page, self._on_total = on_page, on_total
        self._failpoint = failpoint
        # set while a first sync's account backlog is skipped and its stream's start not yet stored
        self._account_backlog: str | None = None
        self._pull_served_at: datetime | None = None  # when the current pull's first query was answered
        # the run began with no feedback stored: every account it stores a snapshot of, it read itself
        # (and holds in the run cache), so the store has no snapshot to offer an adapter as a hint
        self._fresh_store = False

    def run(
        self,
        stream: str,
        start: datetime | None,
        overlap: timedelta,
        until: datetime,
        *,
        skip_known: bool = True,
    ) -> None:
        """Pull changed feedback from the stream's cursor (minus the overlap). With `skip_known` (all
        but a rescan, which exists to re-map everything) records the CRM returns at a version we
        already processed — the echoes of our own write-back above all — are skipped by the adapter
        before any further read; see `adapters/hubspot/versions.py` for why that loses no edit."""
        self._use_versions(skip_known)
        # a backfill (`start`) resumes from its own checkpoint when it has one
        since = self._pull_from(stream, start, overlap)
        log.info(
            "feedback.pull_started",
            stream=stream,
            since=since.updated_at.isoformat(),
            until=until.isoformat(),
        )
        served_at: datetime | None = None
        gathered: list[Page[Feedback]] = []
        # closed on the way out, an error included: the producer thread stops before we return
        with closing(read_ahead(self._crm.iter_changed_feedback(since, until))) as pages:
            for n, page in enumerate(pages):
                served_at = self._pull_served_at = page.served_at if n == 0 else served_at
                gathered.append(page)
                if page.more and len(gathered) < GATHER_PAGES:
                    continue  # its read's next pages follow at once: read what they name together
                self._ingest_pages(stream, gathered)
                gathered = []
            self._ingest_pages(stream, gathered)  # a source that ended on `more` (none should)
        self._settle(stream, served_at, overlap)

    def run_accounts(self, stream: str, overlap: timedelta, until: datetime) -> None:
        """Refresh stored account snapshots (ARR, owner, open deals) of accounts changed since last time;
        their groups become pending so the items' revenue roll-up is re-rendered. The cursor is the
        newest vendor stamp seen (never our clock: vendor clocks drift), saved with each page.

        While the store holds no feedback of this org (a first sync) there is no snapshot to refresh,
        and reading every account of the CRM would only fill the run cache: the feedback pull reads
        just the accounts its records name, and the account backlog is skipped (`_skip_backlog`)."""
        if self._account_backlog is None and not self._has_feedback():
            self._account_backlog, self._fresh_store = stream, True
            log.info("accounts.backlog_skipped", stream=stream, reason="no stored feedback yet")
            return
        self._pull_accounts(stream, overlap, until)

    def catch_up_accounts(self, overlap: timedelta, until: datetime) -> None:
        """After the feedback pull of a run that skipped the account backlog: if its first page gave no
        vendor time to start the account stream from (see `_skip_backlog`) but feedback was stored, pull
        the account changes in full after all, so that none of them is lost."""
        stream, self._account_backlog = self._account_backlog, None
        if stream is not None and self._has_feedback():
            self._pull_accounts(stream, overlap, until)

    def _has_feedback(self) -> bool:
        with self._store.unit() as unit:
            return unit.has_feedback(self._org)

    def _skip_backlog(self, unit: Unit) -> bool:
        """With the first pages that store feedback, in a run that skips the account backlog: the
        account stream starts at the vendor time the pull's first query was answered (whole seconds,
        never later). Every account the run reads is read after that, so a change to one after its
        read is stamped later and the next run's account pull (from there, minus the overlap) takes
        it. Saved in the pages' own transaction: no feedback is stored without it. False if the pull
        has no vendor time."""
        stream, served_at = self._account_backlog, self._pull_served_at
        if stream is None or served_at is None:
            return False
        unit.save_cursor(self._org, stream, Cursor(served_at, ""))
        return True

    def _pull_accounts(self, stream: str, overlap: timedelta, until: datetime) -> None:
        since = self._pull_from(stream, None, overlap)
        self._use_versions(True)
        served_at: datetime | None = None
        with closing(read_ahead(self._crm.iter_changed_accounts(since, until))) as pages:
            for n, page in enumerate(pages):
                served_at = page.served_at if n == 0 else served_at
                snapshots = {a.id: a.model_dump(mode="json") for a in page.items}
                self._accounts.update({a.id: a for a in page.items})
                with self._store.unit() as unit:
                    self._counts.accounts_refreshed += unit.refresh_accounts(self._org, snapshots)
                    self._save_versions(unit, page)
                    if page.cursor is not None:
                        unit.save_cursor(self._org, stream, page.cursor)
                self._recent.clear()  # stored payloads now hold other account snapshots
                self._failpoint("accounts.refreshed")
        self._settle(stream, served_at, overlap)

    def _pull_from(self, stream: str, start: datetime | None, overlap: timedelta) -> Cursor:
        """Where a pull starts: just after a settled cursor, else the overlap before the stored cursor
        (or before `start`, or the epoch)."""
        with self._store.unit() as unit:
            stored = unit.get_cursor(self._org, stream)
            settled = unit.get_cursor(self._org, settled_stream(stream))
        if stored is not None and settled is not None and settled >= stored:
            return Cursor(stored.updated_at + SETTLED_STEP, "")
        origin = stored.updated_at if stored else (start or Cursor.epoch().updated_at)
        return Cursor(max(origin - overlap, Cursor.epoch().updated_at), "")

    def _settle(self, stream: str, served_at: datetime | None, overlap: timedelta) -> None:
        """After a pull that ran to its end: if its first query was answered at least `overlap` after
        the stored cursor's stamp, every record stamped up to the cursor was already visible to every
        query of the pull (the overlap exists only for records not yet visible: index lag, commit
        delay), so all of them have been read and the next pull may start strictly after the cursor.
        Without this, a quiet stream re-reads its last `overlap` of records on every run — all of a
        bulk job's records stamped in one instant, say."""
        if served_at is None:
            return
        with self._store.unit() as unit:
            stored = unit.get_cursor(self._org, stream)
            if stored is not None and stored.updated_at <= served_at - overlap:
                unit.save_cursor(self._org, settled_stream(stream), stored)
                log.info("cursor.settled", stream=stream, cursor=stored.to_str())

    def _use_versions(self, on: bool) -> None:
        if isinstance(self._crm, SkipsKnown):
            self._crm.skip_known(self._known if on else nothing_known)

    def _known(self, kind: str, versions: Mapping[str, str]) -> set[str]:
        with self._store.unit() as unit:
            return unit.versions.known(self._org, self._crm.system, kind, versions)

    def _save_versions(self, unit: Unit, page: Page[Any], exclude: set[str] | None = None) -> None:
        for kind, versions in page.versions.items():
            keep = {i: v for i, v in versions.items() if not exclude or i not in exclude}
            unit.versions.save(self._org, self._crm.system, kind, keep)

    def ingest_page(self, page: Page[Feedback]) -> None:
        """Ingest records read by id (a replay): like a pulled page, but no cursor moves."""
        self._ingest_pages(None, [page])

    def _ingest_pages(self, stream: str | None, pages: list[Page[Feedback]]) -> None:
        """Pages an adapter produced together: the accounts of all their changed records are read at
        once (HubSpot reads companies' deal associations 1,000 at a time, a page holds 200 tickets),
        then the pages are stored in one transaction, each as if alone, the cursor at the last one's.
        One commit per group, not per page: every commit rewrote the index pages the group's records
        share (a 10k-ticket first sync wrote ~83 MB into SQLite's WAL for a 10 MB database; ~54 MB)."""
        with self._store.unit() as unit:  # what we stored of the group's records, read at once
            known = unit.feedback_state(self._org, self._crm.system, [fb.id for p in pages for fb in p.items])
        prepared = [self._prepare(page, known) for page in pages]
        accounts = self._accounts_for([fb for p in prepared for fb in p.changed])
        with self._store.unit() as unit:
            stored = [self._store_page(unit, stream, p, accounts) for p in prepared]
            backlog_started = any(s.stored_any for s in stored) and self._skip_backlog(unit)
        if backlog_started:
            self._account_backlog = None
        for s in stored:  # committed: the plan may take these records from memory
            self._recent.forget(self._crm.system, s.gone)
            self._recent.keep((fb, accounts.get(fb.account_id or "")) for fb in s.good)
        self._counts.feedback_changed += sum(len(s.good) for s in stored)
        for p in prepared:
            if stream is None:
                continue
            self._failpoint("pull.page_saved")
            if self._on_total and p.page.total is not None:
                self._on_total(p.page.total)
            if self._on_page:
                self._on_page(len(p.page.items) + len(p.page.rejects))

    def _prepare(self, page: Page[Feedback], known: Mapping[str, tuple[str, str]]) -> _Prepared:
        """What of a page is product feedback, and what of that changed since we stored it (`known`:
        record id -> (content hash, group key), for its group of pages)."""
        counts = self._counts
        counts.feedback_pulled += len(page.items) + len(page.rejects) + page.skipped
        wanted = [fb for fb in page.items if is_product_feedback(fb, self._rule)]
        counts.feedback_ignored += len(page.items) - len(wanted)
        dumps = {fb.id: fb.model_dump(mode="json") for fb in wanted}  # once per record: hash and payload
        hashes = {i: dumped_hash(d) for i, d in dumps.items()}
        changed = [
            fb
            for fb in wanted
            if not content_unchanged(known.get(fb.id, ("", ""))[0], hashes[fb.id], dumps[fb.id])
        ]
        return _Prepared(page, wanted, known, dumps, hashes, changed)

    def _store_page(
        self, unit: Unit, stream: str | None, p: _Prepared, accounts: dict[str, Account | None]
    ) -> _Stored:
        """Store a page's changes in the group's transaction."""
        counts, org, system = self._counts, self._org, self._crm.system
        page, wanted, known, dumps, hashes, changed = p.page, p.wanted, p.known, p.dumps, p.hashes, p.changed
        dropped = sorted({fb.id for fb in page.items if fb.id in known} - {fb.id for fb in wanted})
        good, dead = self._classify(changed, accounts)
        groups = {fb.id: group_key(fb) for fb in good}
        # groups that lose a member (regrouped, dead-lettered, no longer feedback) must be re-rendered
        left = [(fb.id, groups[fb.id]) for fb in good] + [(fb.id, DEAD_GROUP) for fb, _ in dead]
        left += [(record_id, "") for record_id in dropped]
        abandoned = {known[i][1] for i, new in left if i in known and known[i][1] not in (new, DEAD_GROUP)}
        rejected = [(reject.record_id, reject.reason, reject.raw) for reject in page.rejects]
        counts.dead_letters += unit.audit.dead_letters(org, system, "pull", rejected)
        unmapped = [(fb.id, reason, fb.model_dump_json()) for fb, reason in dead]
        counts.dead_letters += unit.audit.dead_letters(org, system, "map", unmapped)
        snapshots: dict[str, dict[str, Any]] = {}  # each account dumped once per page, not per record
        stored = [
            self._stored(fb, dumps[fb.id], hashes[fb.id], groups[fb.id], accounts, snapshots) for fb in good
        ]
        unit.save_feedback(org, stored)
        dead_rows = [
            self._stored(fb, dumps[fb.id], hashes[fb.id], DEAD_GROUP, {}, snapshots) for fb, _ in dead
        ]
        unit.save_feedback(org, dead_rows, pending=False)
        unit.forget_feedback(org, system, dropped)
        unit.mark_groups_dirty(org, abandoned)
        if good:
            unit.audit.resolve_dead_letters(org, system, [fb.id for fb in good])
        # dead-lettered records stay unversioned: any re-read tries them again (a fixed association)
        self._save_versions(unit, page, exclude={fb.id for fb, _ in dead})
        if page.cursor is not None and stream is not None:
            unit.save_cursor(org, stream, page.cursor)
        return _Stored(good, [fb.id for fb, _ in dead] + dropped, bool(stored or dead_rows))

    def _accounts_for(self, changed: list[Feedback]) -> dict[str, Account | None]:
        """Accounts of changed feedback: the run cache first (the account-change stream filled it), then
        the CRM; stored snapshots are offered to an adapter that can use them to read less."""
        missing = {fb.account_id for fb in changed if fb.account_id and fb.account_id not in self._accounts}
        if missing:
            if isinstance(self._crm, TakesAccountHints) and not self._fresh_store:
                with self._store.unit() as unit:
                    stored = unit.account_snapshots(self._org, missing)
                hints = {i: Account.model_validate(a, context=STORED) for i, a in stored.items()}
                self._crm.hint_accounts(hints)
            found = self._crm.get_accounts(missing)
            for account_id in missing:
                self._accounts[account_id] = found.get(account_id)
        return self._accounts

    def _classify(
        self, changed: list[Feedback], accounts: dict[str, Account | None]
    ) -> tuple[list[Feedback], list[tuple[Feedback, str]]]:
        good: list[Feedback] = []
        dead: list[tuple[Feedback, str]] = []
        for fb in changed:
            if fb.account_id is None and self._require_account:
                dead.append(
                    (
                        fb,
                        f"{fb.system} record {fb.id} has no associated account/company; "
                        "associate one in the CRM, then run `syncer run` again",
                    )
                )
            elif fb.account_id and accounts.get(fb.account_id) is None and self._require_account:
                dead.append(
                    (
                        fb,
                        f"account {fb.account_id} of {fb.system} record {fb.id} was not found "
                        "(deleted or merged?); fix the association in the CRM",
                    )
                )
            else:
                good.append(fb)
        return good, dead

    def _stored(
        self,
        fb: Feedback,
        dumped: Mapping[str, Any],
        digest: str,
        group: str,
        accounts: Mapping[str, Account | None],
        snapshots: dict[str, dict[str, Any]],
    ) -> StoredFeedback:
        account = accounts.get(fb.account_id or "")
        if account is not None and account.id not in snapshots:
            snapshots[account.id] = account.model_dump(mode="json")
        return StoredFeedback(
            system=fb.system,
            record_id=fb.id,
            group_key=group,
            content_hash=digest,
            payload=to_payload(dumped, None, snapshots.get(account.id) if account else None),
            written_key=shown_signature(fb),
            account_id=fb.account_id,
        )
