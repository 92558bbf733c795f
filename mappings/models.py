"""Neutral, frozen records shared by every adapter and the engine.

Vendor field names never appear here: adapters translate vendor JSON into these models in their
`records.py`, and the engine and mappings only ever see these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import total_ordering

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator


class Urgency(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Priority(StrEnum):
    LOWEST = "lowest"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    HIGHEST = "highest"


class ItemStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    WONT_DO = "won't-do"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# what cleaning changes: those control characters and lone surrogates
_UNCLEAN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def is_clean(value: str) -> bool:
    """Whether `clean_text` would return `value` unchanged. Printable text is (CJK and emoji are
    printable); text with a newline or tab is not printable, yet clean unless it holds one of the
    characters cleaning removes: most feedback bodies, which the full cleaning copied for nothing."""
    return value.isprintable() or _UNCLEAN.search(value) is None


def clean_text(value: str) -> str:
    """Text every store and vendor accepts: no NUL/control characters (PostgreSQL rejects NUL), no lone
    surrogates (not encodable as UTF-8; they become U+FFFD). Emoji, CJK and newlines pass untouched."""
    if is_clean(value):
        return value
    text = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return _CONTROL.sub("", text)


# validation context for records read back from what we stored: their text was cleaned on the way in
STORED: dict[str, bool] = {"stored": True}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _clean_strings(cls, data: object, info: ValidationInfo) -> object:
        # one call per record, not one per field: this ran for every field of every record we map;
        # a record whose strings are all clean (most of them) is passed on as it is, not copied.
        # A record read back from the store (`STORED`) was cleaned when it was stored: not again.
        if info.context is STORED:
            return data
        if isinstance(data, dict):
            for value in data.values():
                if isinstance(value, str) and not is_clean(value):
                    return {k: clean_text(v) if isinstance(v, str) else v for k, v in data.items()}
        return data


class _Record(_Frozen):
    """Every record names its system, its id there, when it last changed (aware UTC) and a link."""

    system: str
    id: str
    updated_at: datetime
    url: str = ""

    @field_validator("updated_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("updated_at must be timezone-aware")
        return value.astimezone(UTC)


class Owner(_Frozen):
    id: str
    email: str = ""
    name: str = ""


class Account(_Record):
    name: str
    owner: Owner | None = None
    tier: str = "unknown"
    arr: float = 0.0
    open_deal_value: float = 0.0


class Feedback(_Record):
    """One customer request as recorded by sales."""

    account_id: str | None
    title: str
    body: str = ""
    category: str = ""
    pipeline: str = ""
    urgency: Urgency = Urgency.MEDIUM
    requested_by: str = ""
    # an explicit grouping key set by sales (e.g. a feature-request id); wins over the title fingerprint
    group_hint: str | None = None
    # what the CRM record currently shows of its backlog item (written back by us): key, status,
    # milestone name and due date; compared with the item's real state to decide on a write-back
    backlog_key: str | None = None
    backlog_status: str | None = None
    backlog_milestone: str | None = None
    backlog_due: date | None = None
    # a date sales promised this customer; a milestone moving past it raises an `at_risk` alert
    promised_date: date | None = None


class BacklogItem(_Record):
    key: str
    title: str
    body: str = ""
    labels: tuple[str, ...] = ()
    priority: Priority | None = None
    status: ItemStatus = ItemStatus.OPEN
    milestone: str | None = None  # its name, for people
    milestone_id: str | None = None  # its id in the tracker, for us
    marker: str | None = None


class MilestoneState(StrEnum):
    PLANNED = "planned"
    RELEASED = "released"
    ARCHIVED = "archived"


class Milestone(_Record):
    """A release/version/milestone in the tracker; `due` is a calendar date (trackers store dates)."""

    name: str
    due: date | None = None
    state: MilestoneState = MilestoneState.PLANNED
    description: str = ""


class AlertEvent(StrEnum):
    SCHEDULED = "scheduled"  # got a due date, or moved earlier
    SLIPPED = "slipped"  # due date moved later or removed
    DUE_SOON = "due_soon"  # N days before the due date
    RELEASED = "released"
    AT_RISK = "at_risk"  # the new date misses a date promised to this customer
    KEPT = "kept"  # shipped on or before the promised date
    ITEM_DONE = "item_done"
    ITEM_WONT_DO = "item_wont_do"


class AlertItem(_Frozen):
    key: str
    title: str
    url: str = ""


class Alert(_Frozen):
    """One message to one account owner about one milestone event; `key` makes it happen once."""

    key: str
    event: AlertEvent
    account_id: str
    account_name: str
    owner: Owner | None
    milestone_id: str | None
    milestone_name: str | None
    due: date | None
    previous_due: date | None = None
    promised: date | None = None
    items: tuple[AlertItem, ...] = ()
    feedback_ids: tuple[str, ...] = ()  # the CRM records the alert should be attached to
    subject: str
    message: str


class BacklogDraft(_Frozen):
    """What we want a backlog item to say; sinks create or update an item from it."""

    title: str
    body: str
    labels: tuple[str, ...] = ()
    priority: Priority = Priority.MEDIUM
    account_count: int = 0
    total_arr: float = 0.0
    open_deal_value: float = 0.0


@total_ordering
@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position `(updated_at, id)`: ties on the timestamp are broken by the id.

    Ids compare shorter-first, then lexically, so numeric ids ("9" < "10") sort as numbers.
    """

    updated_at: datetime
    id: str = ""

    def _key(self) -> tuple[datetime, int, str]:
        return (self.updated_at, len(self.id), self.id)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Cursor):
            return NotImplemented
        return self._key() < other._key()

    @classmethod
    def epoch(cls) -> Cursor:
        return cls(datetime(1970, 1, 1, tzinfo=UTC), "")

    def to_str(self) -> str:
        return f"{self.updated_at.isoformat()}|{self.id}"

    @classmethod
    def from_str(cls, text: str) -> Cursor:
        stamp, _, ident = text.partition("|")
        return cls(datetime.fromisoformat(stamp).astimezone(UTC), ident)


class FeedbackLink(_Frozen):
    """What we write back onto a feedback record: the backlog item that answers it."""

    feedback_id: str
    backlog_key: str
    backlog_url: str = ""
    status: ItemStatus | None = None
    milestone: str | None = None
    due: date | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of one element of a batch write: the item, or why the vendor refused it."""

    ref: str  # the marker (creates), record id (updates) or alert key the element was sent for
    item: BacklogItem | None = None
    error: str | None = None
    remote_id: str | None = None  # the id of what was created, when it is not a backlog item

    @property
    def ok(self) -> bool:
        return self.error is None
