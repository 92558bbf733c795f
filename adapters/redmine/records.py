"""Redmine JSON <-> neutral records: pure functions, no I/O.

Shapes follow the Redmine REST API docs (https://www.redmine.org/projects/redmine/wiki/Rest_Issues,
https://www.redmine.org/projects/redmine/wiki/Rest_Versions) and a real Redmine 5.0.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from typing import Any

from mappings.errors import MappingError
from mappings.models import BacklogItem, ItemStatus, Milestone, MilestoneState, Priority

SYSTEM = "redmine"
SUBJECT_LIMIT = 255  # Redmine rejects longer subjects (422 "Subject is too long")
ELLIPSIS = "…"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Redmine's default priorities (load_default_data): Low, Normal, High, Urgent, Immediate
DEFAULT_PRIORITY_IDS: Mapping[Priority, int] = {
    Priority.LOWEST: 1,
    Priority.LOW: 1,
    Priority.MEDIUM: 2,
    Priority.HIGH: 3,
    Priority.HIGHEST: 4,
}
# when two priorities share an id, reading it back picks the first of these
_READ_PREFERENCE = (Priority.MEDIUM, Priority.HIGH, Priority.LOW, Priority.HIGHEST, Priority.LOWEST)

# status names (case-insensitive) of Redmine's default workflow; sites with their own pass theirs
DEFAULT_DONE_STATUSES = frozenset({"closed"})
DEFAULT_WONT_DO_STATUSES = frozenset({"rejected"})
DEFAULT_IN_PROGRESS_STATUSES = frozenset({"in progress", "resolved", "feedback"})


def parse_time(text: Any) -> datetime:
    """Redmine's `2024-05-01T10:00:00Z` (whole seconds, UTC) -> aware UTC datetime."""
    if not isinstance(text, str):
        raise MappingError(f"timestamp is not a string: {text!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MappingError(f"unparseable Redmine timestamp: {text!r}") from exc
    if parsed.tzinfo is None:
        raise MappingError(f"Redmine timestamp without offset: {text!r}")
    return parsed.astimezone(UTC)


def format_time(when: datetime) -> str:
    """An aware datetime as Redmine filters and renders it: whole seconds, `Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trim_subject(title: str, limit: int = SUBJECT_LIMIT) -> str:
    """One line, at most `limit` characters; longer titles end in a single ellipsis (deterministic)."""
    line = " ".join(title.split())
    if len(line) <= limit:
        return line
    return line[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def priority_from_id(value: Any, ids: Mapping[Priority, int]) -> Priority | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    for priority in _READ_PREFERENCE:
        if ids.get(priority) == value:
            return priority
    return None  # a site-specific priority we have no mapping for: unknown, not an error


def to_status(
    raw: Any,
    done: Collection[str] = DEFAULT_DONE_STATUSES,
    wont_do: Collection[str] = DEFAULT_WONT_DO_STATUSES,
    in_progress: Collection[str] = DEFAULT_IN_PROGRESS_STATUSES,
) -> ItemStatus:
    """`{"id", "name", "is_closed"?}` -> ItemStatus; names win, then `is_closed` (Redmine 5.1+)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise MappingError(f"status without a name: {raw!r}")
    name = raw["name"].strip().lower()
    if name in wont_do:
        return ItemStatus.WONT_DO
    if name in done or raw.get("is_closed") is True:
        return ItemStatus.DONE
    if name in in_progress:
        return ItemStatus.IN_PROGRESS
    return ItemStatus.OPEN


def marker_of(raw: Mapping[str, Any], field_id: int) -> str | None:
    for field in raw.get("custom_fields") or ():
        if isinstance(field, Mapping) and field.get("id") == field_id:
            value = field.get("value")
            return value if isinstance(value, str) and value else None
    return None


def to_backlog_item(
    raw: Mapping[str, Any],
    site_url: str,
    marker_field_id: int,
    priority_ids: Mapping[Priority, int] = DEFAULT_PRIORITY_IDS,
    done: Collection[str] = DEFAULT_DONE_STATUSES,
    wont_do: Collection[str] = DEFAULT_WONT_DO_STATUSES,
) -> BacklogItem:
    """An issue object (from `issues.json` or `issues/{id}.json`) -> BacklogItem; MappingError if unusable."""
    ident = raw.get("id")
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise MappingError(f"issue has no integer id: {ident!r}")
    subject = raw.get("subject")
    if not isinstance(subject, str):
        raise MappingError(f"issue {ident}: subject is required")
    description = raw.get("description")
    version = raw.get("fixed_version")
    version = version if isinstance(version, Mapping) else {}
    priority = raw.get("priority")
    key = str(ident)
    return BacklogItem(
        system=SYSTEM,
        id=key,
        key=key,
        updated_at=parse_time(raw.get("updated_on")),
        url=f"{site_url.rstrip('/')}/issues/{key}",
        title=subject,
        body=description if isinstance(description, str) else "",
        priority=priority_from_id(
            priority.get("id") if isinstance(priority, Mapping) else None, priority_ids
        ),
        status=to_status(raw.get("status"), done, wont_do),
        milestone=_text_or_none(version.get("name")),
        milestone_id=_text_or_none(version.get("id")),
        marker=marker_of(raw, marker_field_id),
    )


def to_milestone(raw: Mapping[str, Any], site_url: str, seen_at: datetime) -> Milestone:
    """A version -> Milestone: `closed` is released; `open` and `locked` are planned."""
    ident, name = _text_or_none(raw.get("id")), raw.get("name")
    if ident is None or not isinstance(name, str) or not name.strip():
        raise MappingError(f"version {raw.get('id')!r} has no id or no name")
    status = raw.get("status")
    if status not in ("open", "locked", "closed"):
        raise MappingError(f"version {ident}: unknown status {status!r}")
    updated = raw.get("updated_on")
    description = raw.get("description")
    return Milestone(
        system=SYSTEM,
        id=ident,
        updated_at=parse_time(updated) if updated else seen_at,
        url=f"{site_url.rstrip('/')}/versions/{ident}",
        name=name,
        due=_calendar_date(raw.get("due_date"), ident),
        state=MilestoneState.RELEASED if status == "closed" else MilestoneState.PLANNED,
        description=description if isinstance(description, str) else "",
    )


def _calendar_date(value: Any, ident: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise MappingError(f"version {ident}: unparseable due_date {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise MappingError(f"version {ident}: unparseable due_date {value!r}") from exc


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def errors_text(body: Any) -> str:
    """Redmine's 422 body `{"errors": ["Subject cannot be blank", ...]}` as one line."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if isinstance(errors, list) and errors:
        return "; ".join(str(e) for e in errors)
    return "rejected by Redmine without a reason"
