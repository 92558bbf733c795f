"""Read-only questions about what the syncer did, for people: the dashboard and reports.

Everything here reads; nothing writes. A read opens its own session (on PostgreSQL a REPEATABLE READ,
READ ONLY transaction, so one page shows one consistent snapshot) and always rolls back. Queries that
`syncer status` already has (top items, recent runs, dead letters, milestone summaries) are reused
through the repositories that own them; the ones added here answer for every milestone or org at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from mappings.models import Milestone
from syncer.state.audit_repo import AuditRepo
from syncer.state.milestone_repo import MilestoneRepo
from syncer.state.records import DeadLetter, Link, RunRecord
from syncer.state.store import StateStore, Unit
from syncer.state.tables import AlertRow, DeadLetterRow, FeedbackRow, LinkRow, RunRow

SUCCESS_STATUSES = ("ok", "partial")  # partial: the pass went through, some records are dead letters

ItemOrder = Literal["accounts", "arr"]


@dataclass(frozen=True, slots=True)
class MilestoneInsight:
    """A milestone as last seen, with who waits on it and what the outbox sent about it."""

    milestone: Milestone
    waiting_accounts: int
    items: int
    alerts_sent: Mapping[str, int] = field(default_factory=dict)  # event -> alerts in state `sent`

    @property
    def alerts_sent_total(self) -> int:
        return sum(self.alerts_sent.values())


@dataclass(frozen=True, slots=True)
class DeadLetterCount:
    system: str
    stage: str
    count: int


@dataclass(frozen=True, slots=True)
class OrgTotals:
    """The headline numbers of one org."""

    org: str
    items: int  # backlog items linked to feedback groups
    accounts: int  # distinct accounts behind those items
    open_dead_letters: int
    alerts_sent: int
    pending_groups: int
    runs: int
    last_run: RunRecord | None
    last_success_at: datetime | None  # end of the newest ok/partial run


class InsightsRepo:
    """The read-only queries, bound to one session (get one from `read_insights`)."""

    def __init__(self, session: Session, dialect: str) -> None:
        # one session for the reused and the new queries: one snapshot
        self._s = session
        self._unit = Unit(session, dialect)
        self._audit: AuditRepo = self._unit.audit
        self._milestones: MilestoneRepo = self._unit.milestones

    def org_names(self) -> list[str]:
        """Every org the store knows (from its runs and its backlog links), sorted."""
        runs = select(RunRow.org).distinct()
        links = select(LinkRow.org).distinct()
        return sorted(set(self._s.scalars(runs)) | set(self._s.scalars(links)))

    def totals(self, org: str) -> OrgTotals:
        recent = self._audit.recent_runs(org, 1)
        return OrgTotals(
            org=org,
            items=self._unit.links.count(org),
            accounts=self.requesting_accounts(org),
            open_dead_letters=self._audit.count_open_dead_letters(org),
            alerts_sent=self._milestones.count_alerts(org, "sent"),
            pending_groups=self._unit.pending_group_count(org),
            runs=self.count_runs(org),
            last_run=recent[0] if recent else None,
            last_success_at=self.last_success_at(org),
        )

    def requesting_accounts(self, org: str) -> int:
        """Distinct accounts whose feedback belongs to a group that has a backlog item."""
        stmt = (
            select(func.count(func.distinct(FeedbackRow.account_id)))
            .join(LinkRow, (LinkRow.org == FeedbackRow.org) & (LinkRow.group_key == FeedbackRow.group_key))
            .where(FeedbackRow.org == org, FeedbackRow.account_id.is_not(None))
        )
        return int(self._s.scalar(stmt) or 0)

    def top_items(self, org: str, by: ItemOrder = "accounts", limit: int = 10) -> list[Link]:
        """The most requested backlog items, by requesting accounts (ties: ARR) or by ARR (ties: accounts)."""
        if by == "accounts":
            return self._unit.links.top(org, limit)
        stmt = (
            select(LinkRow.item_key)
            .where(LinkRow.org == org)
            .order_by(LinkRow.total_arr.desc(), LinkRow.account_count.desc(), LinkRow.item_key)
            .limit(limit)
        )
        keys = list(self._s.scalars(stmt))
        links = self._unit.links.by_items(org, keys)
        return [links[key] for key in keys if key in links]

    def recent_runs(self, org: str, limit: int = 10) -> list[RunRecord]:
        return self._audit.recent_runs(org, limit)

    def count_runs(self, org: str) -> int:
        return int(self._s.scalar(select(func.count()).select_from(RunRow).where(RunRow.org == org)) or 0)

    def last_success_at(self, org: str) -> datetime | None:
        stmt = select(func.max(RunRow.finished_at)).where(
            RunRow.org == org, RunRow.status.in_(SUCCESS_STATUSES)
        )
        return self._s.scalar(stmt)

    def open_dead_letters(self, org: str, limit: int = 50) -> list[DeadLetter]:
        return self._audit.open_dead_letters(org, limit)

    def dead_letter_counts(self, org: str) -> list[DeadLetterCount]:
        """Open dead letters per (system, stage), largest first."""
        stmt = (
            select(DeadLetterRow.system, DeadLetterRow.stage, func.count())
            .where(DeadLetterRow.org == org, DeadLetterRow.resolved_at.is_(None))
            .group_by(DeadLetterRow.system, DeadLetterRow.stage)
        )
        counts = [DeadLetterCount(system, stage, int(n)) for system, stage, n in self._s.execute(stmt)]
        return sorted(counts, key=lambda c: (-c.count, c.system, c.stage))

    def milestones(self, org: str) -> list[MilestoneInsight]:
        """Every known milestone (by due date, undated last), its waiting accounts, alerts sent per event."""
        waiting, items = self._waiting_by_milestone(org)
        sent: dict[str, dict[str, int]] = {}
        stmt = (
            select(AlertRow.milestone_id, AlertRow.event, func.count())
            .where(AlertRow.org == org, AlertRow.state == "sent", AlertRow.milestone_id.is_not(None))
            .group_by(AlertRow.milestone_id, AlertRow.event)
        )
        for milestone_id, event, n in self._s.execute(stmt):
            sent.setdefault(str(milestone_id), {})[event] = int(n)
        return [
            MilestoneInsight(
                summary.milestone,
                waiting.get(summary.milestone.id, 0),
                items.get(summary.milestone.id, 0),
                sent.get(summary.milestone.id, {}),
            )
            for summary in self._milestones.summaries(org)
        ]

    def _waiting_by_milestone(self, org: str) -> tuple[dict[str, int], dict[str, int]]:
        """milestone id -> distinct waiting accounts, and -> items planned in it (one query each)."""
        accounts = (
            select(LinkRow.milestone_id, func.count(func.distinct(FeedbackRow.account_id)))
            .join(FeedbackRow, (FeedbackRow.org == org) & (FeedbackRow.group_key == LinkRow.group_key))
            .where(LinkRow.org == org, LinkRow.milestone_id.is_not(None), FeedbackRow.account_id.is_not(None))
            .group_by(LinkRow.milestone_id)
        )
        planned = (
            select(LinkRow.milestone_id, func.count())
            .where(LinkRow.org == org, LinkRow.milestone_id.is_not(None))
            .group_by(LinkRow.milestone_id)
        )
        return (
            {str(mid): int(n) for mid, n in self._s.execute(accounts)},
            {str(mid): int(n) for mid, n in self._s.execute(planned)},
        )


def schema_ready(store: StateStore) -> bool:
    """True once the state tables exist (`syncer migrate` or any run creates them)."""
    with store.session() as session:
        return bool(inspect(session.connection()).has_table(RunRow.__tablename__))


@contextmanager
def read_insights(store: StateStore) -> Iterator[InsightsRepo]:
    """One read-only snapshot; whatever happens inside, nothing is committed."""
    with store.session() as session:
        if store.dialect == "postgresql":
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        try:
            yield InsightsRepo(session, store.dialect)
        finally:
            session.rollback()
