"""The roles adapters play for the engine. Structural: adapters satisfy them without importing this."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from adapters.paging import Page
from mappings.models import (
    Account,
    Alert,
    BacklogDraft,
    BacklogItem,
    Cursor,
    Feedback,
    FeedbackLink,
    Milestone,
    WriteResult,
)


class CrmSource(Protocol):
    system: str

    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        """Feedback changed in `(since, until]`, ascending by `(updated_at, id)`, lazily, page by page."""
        ...

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        """Accounts (with owner and open-deal value) for the given ids; unknown ids are simply absent."""
        ...

    def get_feedback(self, ids: Collection[str]) -> Page[Feedback]:
        """Feedback records by id (to replay dead letters); unknown ids are absent; the page has no cursor."""
        ...

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        """Accounts whose own fields or whose deals changed in `[since, until]`, page by page."""
        ...


class CrmSink(Protocol):
    system: str

    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        """Write backlog key/url (and status) onto feedback records; batched; one result per link."""
        ...


class AlertSink(Protocol):
    system: str

    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        """Alerts created earlier, by key -> remote id (used to adopt after a crash)."""
        ...

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        """One message per alert, each carrying its key; batched; `WriteResult.ref` = key, `remote_id` set."""
        ...


class TrackerSink(Protocol):
    system: str

    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        """Items we created earlier, found by their marker; used to adopt after a crash."""
        ...

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        """Create one item per `(marker, draft)`, each carrying its marker; batched; results in order."""
        ...

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        """Update the fields we own; fields R&D owns (status, assignee, milestone) are left alone."""
        ...


class TrackerSource(Protocol):
    system: str

    def iter_changed_items(self, since: Cursor) -> Iterator[Page[BacklogItem]]:
        """Items changed since the cursor, ascending, page by page."""
        ...

    def list_milestones(self) -> Sequence[Milestone]:
        """Every milestone (version/release) of the configured project, archived ones included."""
        ...


class CrmAdapter(CrmSource, CrmSink, AlertSink, Protocol):
    """What a CRM adapter is: a feedback source, a write-back sink and an alert sink."""


class TrackerAdapter(TrackerSink, TrackerSource, Protocol):
    """What a tracker adapter is: a backlog sink and a source of item and milestone changes."""
