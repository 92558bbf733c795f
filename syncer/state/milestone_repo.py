"""Milestone snapshots and the alert outbox (reached as `unit.milestones`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mappings.models import Alert, Milestone, MilestoneState
from syncer.state.sql import chunks, upsert, utc_now
from syncer.state.tables import AlertRow, MilestoneRow


@dataclass(frozen=True, slots=True)
class OutboxAlert:
    alert: Alert
    state: str  # pending (never tried) | attempted (tried: may exist remotely)


@dataclass(frozen=True, slots=True)
class MilestoneSummary:
    milestone: Milestone
    alerts_sent: int
    at_risk: int


class MilestoneRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def snapshots(self, org: str) -> dict[str, Milestone]:
        stmt = select(MilestoneRow).where(MilestoneRow.org == org)
        return {row.milestone_id: _milestone(row) for row in self._s.scalars(stmt)}

    def save_snapshots(self, org: str, milestones: Sequence[Milestone]) -> None:
        rows = [
            {
                "org": org,
                "milestone_id": m.id,
                "tracker": m.system,
                "name": m.name[:300],
                "due": m.due,
                "state": m.state.value,
                "url": m.url[:500],
                "updated_at": m.updated_at,
            }
            for m in milestones
        ]
        upsert(self._s, MilestoneRow, rows, ("org", "milestone_id"))

    def enqueue(self, org: str, alerts: Sequence[Alert], channel: str) -> int:
        """Add alerts to the outbox; keys already there (sent or not) are ignored. Returns the new count."""
        if not alerts:
            return 0
        keys = [a.key for a in alerts]
        existing: set[str] = set()
        for chunk in chunks(keys):
            existing.update(
                self._s.scalars(select(AlertRow.key).where(AlertRow.org == org, AlertRow.key.in_(chunk)))
            )
        now = utc_now()
        fresh = {a.key: a for a in alerts if a.key not in existing}
        rows = [
            {
                "org": org,
                "key": a.key,
                "event": a.event.value,
                "milestone_id": a.milestone_id,
                "account_id": a.account_id,
                "payload": a.model_dump(mode="json"),
                "state": "pending",
                "channel": channel,
                "remote_id": None,
                "error": None,
                "created_at": now,
                "updated_at": now,
            }
            for a in fresh.values()
        ]
        upsert(self._s, AlertRow, rows, ("org", "key"), update=())
        return len(rows)

    def to_send(self, org: str, limit: int = 100) -> list[OutboxAlert]:
        stmt = (
            select(AlertRow)
            .where(AlertRow.org == org, AlertRow.state.in_(("pending", "attempted")))
            .order_by(AlertRow.created_at, AlertRow.key)
            .limit(limit)
        )
        return [OutboxAlert(Alert.model_validate(row.payload), row.state) for row in self._s.scalars(stmt)]

    def mark(self, org: str, state: str, results: Mapping[str, str | None], *, error: bool = False) -> None:
        """Set `state` on these alert keys, storing the remote id (or the error text)."""
        for key, value in results.items():
            values: dict[str, object] = {"state": state, "updated_at": utc_now()}
            values["error" if error else "remote_id"] = value
            self._s.execute(update(AlertRow).where(AlertRow.org == org, AlertRow.key == key).values(**values))

    def summaries(self, org: str) -> list[MilestoneSummary]:
        sent = dict(
            self._s.execute(
                select(AlertRow.milestone_id, func.count())
                .where(AlertRow.org == org, AlertRow.state == "sent")
                .group_by(AlertRow.milestone_id)
            ).all()
        )
        risk = dict(
            self._s.execute(
                select(AlertRow.milestone_id, func.count())
                .where(AlertRow.org == org, AlertRow.event == "at_risk")
                .group_by(AlertRow.milestone_id)
            ).all()
        )
        return [
            MilestoneSummary(m, int(sent.get(mid, 0)), int(risk.get(mid, 0)))
            for mid, m in sorted(
                self.snapshots(org).items(), key=lambda kv: (kv[1].due is None, kv[1].due, kv[0])
            )
        ]

    def count_alerts(self, org: str, state: str = "sent") -> int:
        stmt = select(func.count()).select_from(AlertRow).where(AlertRow.org == org, AlertRow.state == state)
        return int(self._s.scalar(stmt) or 0)


def _milestone(row: MilestoneRow) -> Milestone:
    return Milestone(
        system=row.tracker,
        id=row.milestone_id,
        updated_at=row.updated_at,
        url=row.url,
        name=row.name,
        due=row.due,
        state=MilestoneState(row.state),
    )
