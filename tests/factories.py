"""Builders for neutral records with sensible defaults; override what a test cares about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from mappings.models import (
    Account,
    Alert,
    AlertEvent,
    BacklogItem,
    Feedback,
    ItemStatus,
    Milestone,
    MilestoneState,
    Owner,
    Urgency,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def make_account(**overrides: Any) -> Account:
    values: dict[str, Any] = {
        "system": "hubspot",
        "id": "c1",
        "updated_at": T0,
        "name": "Acme Corp",
        "owner": Owner(id="o1", email="ana@example.com", name="Ana Owner"),
        "tier": "enterprise",
        "arr": 500_000.0,
    }
    values.update(overrides)
    return Account(**values)


def make_feedback(n: int = 1, **overrides: Any) -> Feedback:
    values: dict[str, Any] = {
        "system": "hubspot",
        "id": str(n),
        "updated_at": T0 + timedelta(minutes=n),
        "url": f"https://crm.example/ticket/{n}",
        "account_id": "c1",
        "title": "Export reports to CSV",
        "body": "We need to export the monthly report to CSV for finance.",
        "category": "FEATURE_REQUEST",
        "pipeline": "0",
        "urgency": Urgency.MEDIUM,
    }
    values.update(overrides)
    return Feedback(**values)


def make_milestone(**overrides: Any) -> Milestone:
    values: dict[str, Any] = {
        "system": "jira",
        "id": "100",
        "updated_at": T0,
        "name": "2.4",
        "due": date(2026, 4, 1),
        "state": MilestoneState.PLANNED,
    }
    values.update(overrides)
    return Milestone(**values)


def make_item(**overrides: Any) -> BacklogItem:
    values: dict[str, Any] = {
        "system": "jira",
        "id": "PROD-1",
        "key": "PROD-1",
        "updated_at": T0,
        "title": "Export reports to CSV",
        "status": ItemStatus.OPEN,
        "milestone_id": None,
    }
    values.update(overrides)
    return BacklogItem(**values)


def make_alert(**overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "key": "al-1",
        "event": AlertEvent.RELEASED,
        "account_id": "c1",
        "account_name": "Acme Corp",
        "owner": Owner(id="o1", email="ana@example.com", name="Ana Owner"),
        "milestone_id": "100",
        "milestone_name": "2.4",
        "due": date(2026, 4, 1),
        "subject": "Shipped: 2.4 (Acme Corp)",
        "message": "2.4 shipped.",
    }
    values.update(overrides)
    return Alert(**values)
