"""Dry run: the sinks are wrapped in recorders, so a pass plans everything and writes nothing remote.

Reads go through to the vendor (a dry run must see what a real pass would see); every write method of
`TrackerSink`, `CrmSink` and `AlertSink` is answered locally with a plausible success and written down
as a planned operation. Together with `syncer.state.rehearsal.RehearsalStore` (whose changes are rolled
back) the engine runs unchanged: no `if dry_run:` anywhere else.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mappings.models import Alert, BacklogDraft, BacklogItem, FeedbackLink, WriteResult
from syncer.ports import AlertSink, CrmSink, TrackerSink

PLANNED_KEY = "(new {n})"  # the key a planned create is shown with


@dataclass(frozen=True, slots=True)
class PlannedItem:
    action: str  # "create" | "update"
    key: str
    title: str
    priority: str
    accounts: int
    arr: float


@dataclass(frozen=True, slots=True)
class PlannedWriteBack:
    record_id: str
    backlog_key: str
    status: str
    milestone: str


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    event: str
    account: str
    owner: str
    milestone: str
    subject: str


@dataclass
class Plan:
    """Everything a dry run would have written, in the order the pass planned it."""

    items: list[PlannedItem] = field(default_factory=list)
    write_backs: list[PlannedWriteBack] = field(default_factory=list)
    alerts: list[PlannedAlert] = field(default_factory=list)

    @property
    def creates(self) -> list[PlannedItem]:
        return [i for i in self.items if i.action == "create"]

    @property
    def updates(self) -> list[PlannedItem]:
        return [i for i in self.items if i.action == "update"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "creates": [_item_dict(i) for i in self.creates],
            "updates": [_item_dict(i) for i in self.updates],
            "write_backs": [
                {
                    "record_id": w.record_id,
                    "backlog_key": w.backlog_key,
                    "status": w.status,
                    "milestone": w.milestone,
                }
                for w in self.write_backs
            ],
            "alerts": [
                {
                    "event": a.event,
                    "account": a.account,
                    "owner": a.owner,
                    "milestone": a.milestone,
                    "subject": a.subject,
                }
                for a in self.alerts
            ],
        }


def _item_dict(item: PlannedItem) -> dict[str, Any]:
    return {
        "key": item.key,
        "title": item.title,
        "priority": item.priority,
        "accounts": item.accounts,
        "arr": item.arr,
    }


def _planned(action: str, key: str, draft: BacklogDraft) -> PlannedItem:
    return PlannedItem(action, key, draft.title, draft.priority.value, draft.account_count, draft.total_arr)


class RecordingTracker:
    """A `TrackerSink` that finds through the real tracker and records creates and updates."""

    def __init__(self, inner: TrackerSink, plan: Plan) -> None:
        self._inner, self._plan = inner, plan
        self.system = inner.system

    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        return self._inner.find_by_markers(markers)

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        results = []
        for marker, draft in drafts:
            key = PLANNED_KEY.format(n=len(self._plan.creates) + 1)
            self._plan.items.append(_planned("create", key, draft))
            results.append(WriteResult(ref=marker, item=self._item(key, draft, marker)))
        return results

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        self._plan.items.append(_planned("update", key, draft))
        # the stored item state (status, milestone) is kept on update, so these defaults change nothing
        return self._item(key, draft, None)

    def _item(self, key: str, draft: BacklogDraft, marker: str | None) -> BacklogItem:
        return BacklogItem(
            system=self.system,
            id=key,
            key=key,
            updated_at=datetime.now(UTC),
            title=draft.title,
            body=draft.body,
            labels=draft.labels,
            priority=draft.priority,
            marker=marker,
        )


class RecordingCrm:
    """A `CrmSink` that records the write-backs it is asked for."""

    def __init__(self, inner: CrmSink, plan: Plan) -> None:
        self._plan = plan
        self.system = inner.system

    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        for link in links:
            self._plan.write_backs.append(
                PlannedWriteBack(
                    link.feedback_id,
                    link.backlog_key,
                    link.status.value if link.status else "",
                    link.milestone or "",
                )
            )
        return [WriteResult(ref=link.feedback_id) for link in links]


class RecordingAlerts:
    """An `AlertSink` that looks up earlier alerts for real and records the new ones."""

    def __init__(self, inner: AlertSink, plan: Plan) -> None:
        self._inner, self._plan = inner, plan
        self.system = inner.system

    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        return self._inner.find_alerts(keys)

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        for alert in alerts:
            owner = alert.owner.email or alert.owner.name or alert.owner.id if alert.owner else ""
            self._plan.alerts.append(
                PlannedAlert(
                    alert.event.value, alert.account_name, owner, alert.milestone_name or "", alert.subject
                )
            )
        return [WriteResult(ref=a.key, remote_id="dry-run") for a in alerts]


def recorders(
    tracker: TrackerSink, crm: CrmSink, alerts: AlertSink
) -> tuple[Plan, RecordingTracker, RecordingCrm, RecordingAlerts]:
    plan = Plan()
    return plan, RecordingTracker(tracker, plan), RecordingCrm(crm, plan), RecordingAlerts(alerts, plan)
