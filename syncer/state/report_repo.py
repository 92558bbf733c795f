"""Read-only queries behind `syncer report`: every backlog item, every request and every alert event.

The dashboard's `InsightsRepo` answers the headline questions (totals, milestones with waiting
accounts); this adds the row-level reads the report aggregates itself (in `syncer.report_data`):
who asked for what and when, and which milestone events reached which account with which promise.
Both share one session, so a report is one consistent snapshot; nothing is ever committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from syncer.state.insights_repo import InsightsRepo
from syncer.state.records import Link
from syncer.state.statements import WITH_PAYLOAD
from syncer.state.store import StateStore
from syncer.state.tables import PAYLOADS, AlertRow, FeedbackRow, LinkRow


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One feedback record as last stored: which group (item), which account, its revenue and dates."""

    record_id: str
    group_key: str
    account_id: str | None
    account_name: str
    arr: float
    requested_at: datetime  # the CRM's `updated_at` of the version we stored (no creation time is synced)
    promised: date | None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert from the outbox (any state): a milestone event as it reached one account."""

    event: str
    state: str
    milestone_id: str | None
    account_id: str
    due: date | None
    previous_due: date | None
    promised: date | None
    created_at: datetime


class ReportRepo:
    """Row-level reads for one org; `insights` is the dashboard's repository on the same session."""

    def __init__(self, session: Session, insights: InsightsRepo) -> None:
        self._s = session
        self.insights = insights

    def links(self, org: str) -> list[Link]:
        """Every backlog item linked to a feedback group, most requested first (the dashboard's order)."""
        count = self._s.scalar(select(func.count()).select_from(LinkRow).where(LinkRow.org == org)) or 0
        return self.insights.top_items(org, "accounts", limit=max(1, int(count)))

    def requests(self, org: str) -> list[RequestRecord]:
        """Every stored feedback record that belongs to a group (dead-lettered ones excluded)."""
        stmt = (
            select(
                FeedbackRow.record_id,
                FeedbackRow.group_key,
                FeedbackRow.account_id,
                PAYLOADS.c.payload,
                FeedbackRow.updated_at,
            )
            .select_from(WITH_PAYLOAD)
            .where(FeedbackRow.org == org, FeedbackRow.group_key != "dead:")
            .order_by(FeedbackRow.system, FeedbackRow.record_id)
        )
        return [_request(*row) for row in self._s.execute(stmt)]

    def alerts(self, org: str, since: datetime | None = None) -> list[AlertRecord]:
        """Every alert enqueued (from `since` on), oldest first; failed ones too, they were still events."""
        stmt = select(AlertRow).where(AlertRow.org == org).order_by(AlertRow.created_at, AlertRow.key)
        if since is not None:
            stmt = stmt.where(AlertRow.created_at >= since)
        return [
            AlertRecord(
                event=row.event,
                state=row.state,
                milestone_id=row.milestone_id,
                account_id=row.account_id,
                due=_date(row.payload.get("due")),
                previous_due=_date(row.payload.get("previous_due")),
                promised=_date(row.payload.get("promised")),
                created_at=row.created_at,
            )
            for row in self._s.scalars(stmt)
        ]


@contextmanager
def read_report(store: StateStore) -> Iterator[ReportRepo]:
    """One read-only snapshot (REPEATABLE READ, READ ONLY on PostgreSQL); always rolled back."""
    with store.session() as session:
        if store.dialect == "postgresql":
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        try:
            yield ReportRepo(session, InsightsRepo(session, store.dialect))
        finally:
            session.rollback()


def _request(
    record_id: str, group_key: str, account_id: str | None, payload: Mapping[str, Any], stored_at: datetime
) -> RequestRecord:
    """A stored payload is `{"feedback": ..., "account": ...}` (syncer.records.to_payload); a record
    without the CRM's timestamp counts from when we stored it."""
    feedback: Mapping[str, Any] = payload.get("feedback") or {}
    account: Mapping[str, Any] = payload.get("account") or {}
    stamp = feedback.get("updated_at")
    return RequestRecord(
        record_id=record_id,
        group_key=group_key,
        account_id=account_id,
        account_name=str(account.get("name") or account_id or ""),
        arr=float(account.get("arr") or 0.0),
        requested_at=datetime.fromisoformat(stamp).astimezone(UTC) if isinstance(stamp, str) else stored_at,
        promised=_date(feedback.get("promised_date")),
    )


def _date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None
