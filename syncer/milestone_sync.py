"""Milestones back to sales: pull item and milestone changes, fan events out to the outbox, send it.

The outbox (`alerts` table) is the idempotency: an alert key is enqueued once, ever, in the same
transaction that stores the snapshot which produced it; sending marks it `attempted` before the
call and `sent` after. A run that finds `attempted` alerts asks the CRM for their keys first and
adopts what it finds instead of sending a second message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

import structlog

from adapters.errors import PermanentError
from mappings.alerts import Waiting, fan_out
from mappings.milestones import ItemState, item_events, milestone_events
from mappings.models import (
    Account,
    Alert,
    AlertEvent,
    AlertItem,
    BacklogItem,
    Cursor,
    Feedback,
    ItemStatus,
    Milestone,
)
from syncer.counts import PassCounts
from syncer.failpoints import Failpoint, no_failpoint
from syncer.ports import AlertSink, TrackerSource
from syncer.records import from_payload, link_signature
from syncer.state import Link, StateStore, Unit

log = structlog.get_logger("syncer.milestones")

ITEMS_STREAM = "items"
SEND_BATCH = 100


class MilestoneSync:
    def __init__(
        self,
        org: str,
        store: StateStore,
        tracker: TrackerSource,
        sink: AlertSink,
        *,
        channel: str,
        due_soon_days: int,
        locale: str = "en",
        overlap: timedelta,
        clock: Callable[[], datetime],
        counts: PassCounts,
        failpoint: Failpoint = no_failpoint,
    ) -> None:
        self._org, self._store, self._tracker, self._sink = org, store, tracker, sink
        self._channel, self._due_soon, self._overlap, self._clock = channel, due_soon_days, overlap, clock
        self._counts = counts
        self._failpoint = failpoint
        self._locale = locale

    def detect(self) -> None:
        """Pull changed items and all milestones; enqueue the alerts their changes call for."""
        milestones = {m.id: m for m in self._tracker.list_milestones()}
        self._items(milestones)
        self._milestones(milestones)

    # -- items --------------------------------------------------------------------------------------
    def _items(self, milestones: dict[str, Milestone]) -> None:
        with self._store.unit() as unit:
            cursor = unit.get_cursor(self._org, ITEMS_STREAM)
        start = (cursor.updated_at - self._overlap) if cursor else Cursor.epoch().updated_at
        for page in self._tracker.iter_changed_items(Cursor(max(start, Cursor.epoch().updated_at), "")):
            with self._store.unit() as unit:
                links = unit.links.by_items(self._org, [i.key for i in page.items])
                ours = [i for i in page.items if i.key in links]
                alerts = self._item_alerts(unit, [(links[i.key], i) for i in ours], milestones)
                unit.links.update_item_states(self._org, {i.key: self._state(i, milestones) for i in ours})
                self._counts.alerts_queued += unit.milestones.enqueue(self._org, alerts, self._channel)
                if page.cursor is not None:
                    unit.save_cursor(self._org, ITEMS_STREAM, page.cursor)

    def _item_alerts(
        self, unit: Unit, changed: Sequence[tuple[Link, BacklogItem]], milestones: dict[str, Milestone]
    ) -> list[Alert]:
        """Done/won't-do alerts per item; items moved into a dated milestone are fanned out together,
        so an account waiting on several of them hears once."""
        alerts: list[Alert] = []
        moved: dict[str, list[Link]] = {}
        for link, item in changed:
            previous = (
                ItemState(ItemStatus(link.item_status), link.milestone_id) if link.item_status else None
            )
            for change in item_events(previous, item, milestones):
                if change.event is AlertEvent.SCHEDULED and change.milestone_id:
                    moved.setdefault(change.milestone_id, []).append(link)
                    continue
                waiting = self._waiting(unit, [link])
                alerts += fan_out(
                    self._org,
                    change.event,
                    None,
                    waiting,
                    today=self._today(),
                    locale=self._locale,
                    subject_id=item.key,
                )
        for milestone_id, links in sorted(moved.items()):
            waiting = self._waiting(unit, links)
            alerts += fan_out(
                self._org,
                AlertEvent.SCHEDULED,
                milestones[milestone_id],
                waiting,
                today=self._today(),
                locale=self._locale,
            )
        return alerts

    def _state(self, item: BacklogItem, milestones: dict[str, Milestone]) -> tuple[str, str | None, str]:
        milestone = milestones.get(item.milestone_id or "")
        name = milestone.name if milestone else item.milestone
        due = milestone.due if milestone else None
        return (
            item.status.value,
            item.milestone_id,
            link_signature(item.key, item.status.value, name, due) or "",
        )

    # -- milestones ---------------------------------------------------------------------------------
    def _milestones(self, milestones: dict[str, Milestone]) -> None:
        with self._store.unit() as unit:
            snapshots = unit.milestones.snapshots(self._org)
            alerts: list[Alert] = []
            moved: list[Milestone] = []
            for milestone in milestones.values():
                before = snapshots.get(milestone.id)
                if before is not None and (before.name, before.due) != (milestone.name, milestone.due):
                    moved.append(milestone)
                for change in milestone_events(
                    before, milestone, today=self._today(), due_soon_days=self._due_soon
                ):
                    waiting = self._waiting(unit, unit.links.in_milestones(self._org, [milestone.id]))
                    alerts += fan_out(
                        self._org,
                        change.event,
                        milestone,
                        waiting,
                        today=self._today(),
                        locale=self._locale,
                        previous_due=change.previous_due,
                    )
            self._resign(unit, moved)
            unit.milestones.save_snapshots(self._org, list(milestones.values()))
            self._counts.alerts_queued += unit.milestones.enqueue(self._org, alerts, self._channel)

    def _resign(self, unit: Unit, moved: Iterable[Milestone]) -> None:
        """A renamed or re-dated milestone changes what its items' feedback records should show."""
        for milestone in moved:
            states = {
                link.item_key: (
                    link.item_status,
                    link.milestone_id,
                    link_signature(link.item_key, link.item_status, milestone.name, milestone.due) or "",
                )
                for link in unit.links.in_milestones(self._org, [milestone.id])
            }
            unit.links.update_item_states(self._org, states)

    def _waiting(self, unit: Unit, links: Sequence[Link]) -> list[Waiting]:
        members = unit.group_members(self._org, [link.group_key for link in links])
        waiting: list[Waiting] = []
        for link in links:
            item = AlertItem(key=link.item_key, title=link.title, url=link.item_url)
            accounts: dict[str, Account] = {}
            asked: dict[str, list[Feedback]] = {}
            for stored in members.get(link.group_key, []):
                fb, account = from_payload(stored.payload)
                if account is not None:  # no account, no owner to tell
                    accounts[account.id] = account
                    asked.setdefault(account.id, []).append(fb)
            waiting += [Waiting(accounts[a], item, tuple(asked[a])) for a in sorted(accounts)]
        return waiting

    def _today(self) -> date:
        return self._clock().date()

    # -- sending ------------------------------------------------------------------------------------
    def send(self) -> None:
        """Send the outbox: adopt what an interrupted run already sent, then send the rest in batches."""
        while True:
            with self._store.unit() as unit:
                batch = unit.milestones.to_send(self._org, SEND_BATCH)
            if not batch:
                return
            tried = [o.alert.key for o in batch if o.state == "attempted"]
            found = self._sink.find_alerts(tried) if tried else {}
            fresh = self._current_owners([o.alert for o in batch if o.alert.key not in found])
            with self._store.unit() as unit:
                unit.milestones.mark(self._org, "sent", dict(found))
                unit.milestones.mark(self._org, "attempted", {a.key: None for a in fresh})
            self._counts.alerts_adopted += len(found)
            if fresh:
                self._send(fresh)

    def _send(self, alerts: list[Alert]) -> None:
        if self._channel != "webhook":  # a CRM task or note must be addressed to someone
            orphans = [a for a in alerts if a.owner is None]
            if orphans:
                self._dead_letter_unowned(orphans)
                alerts = [a for a in alerts if a.owner is not None]
            if not alerts:
                return
        try:
            results = self._sink.create_alerts(alerts)
            self._failpoint("alerts.remote_done")
        except PermanentError as exc:
            with self._store.unit() as unit:
                unit.milestones.mark(self._org, "failed", {a.key: str(exc) for a in alerts}, error=True)
            self._counts.errors.append(f"alerts refused: {exc}")
            return
        sent = {r.ref: r.remote_id for r in results if r.ok}
        failed = {r.ref: r.error for r in results if not r.ok}
        with self._store.unit() as unit:
            unit.milestones.mark(self._org, "sent", sent)
            unit.milestones.mark(self._org, "failed", failed, error=True)
            for key, error in failed.items():
                self._counts.dead_letters += unit.audit.dead_letter(
                    self._org, self._sink.system, key, "alert", error or "refused"
                )
        self._counts.alerts_created += len(sent)
        log.info("alerts.sent", count=len(sent), failed=len(failed))

    def _current_owners(self, alerts: list[Alert]) -> list[Alert]:
        """Address each alert to the account's owner as of now (owners change; a retry after assigning one
        must reach the new owner)."""
        updated: list[Alert] = []
        with self._store.unit() as unit:
            for alert in alerts:
                snapshot = unit.account_snapshot(self._org, alert.account_id)
                owner = Account.model_validate(snapshot).owner if snapshot else alert.owner
                updated.append(alert if owner == alert.owner else alert.model_copy(update={"owner": owner}))
        return updated

    def _dead_letter_unowned(self, alerts: list[Alert]) -> None:
        with self._store.unit() as unit:
            unit.milestones.mark(self._org, "failed", {a.key: "no owner" for a in alerts}, error=True)
            for alert in alerts:
                reason = (
                    f"account {alert.account_name} ({alert.account_id}) has no owner (deleted or never set): "
                    f"assign one in the CRM, then run `syncer retry`. Alert: {alert.subject}"
                )
                self._counts.dead_letters += unit.audit.dead_letter(
                    self._org, self._sink.system, alert.key, "alert", reason
                )
