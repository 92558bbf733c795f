"""The state store's value types: what the repositories take and return (never ORM rows)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    system: str
    record_id: str
    group_key: str
    content_hash: str
    payload: Mapping[str, Any]
    written_key: str | None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    group_key: str
    marker: str
    tracker: str
    item_key: str
    item_url: str
    draft_hash: str
    title: str = ""
    account_count: int = 0
    total_arr: float = 0.0
    priority: str = ""
    open_deal_value: float = 0.0
    item_status: str = ""
    milestone_id: str | None = None
    signature: str = ""


ITEM_STATE = {"item_status", "milestone_id", "signature"}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    system: str
    record_id: str
    stage: str
    reason: str
    attempts: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
