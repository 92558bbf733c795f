"""Linear GraphQL JSON <-> neutral records: pure functions, no I/O.

Shapes follow the public schema (https://studio.apollographql.com/public/Linear-API/variant/current/schema)
and https://developers.linear.app/docs/graphql/working-with-the-graphql-api.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from mappings.errors import MappingError
from mappings.models import BacklogItem, ItemStatus, Milestone, MilestoneState, Priority

SYSTEM = "linear"
TITLE_LIMIT = 255  # Linear truncates nothing for us; keep titles short enough for every view
# Fixed forever: changing it changes every derived issue id and breaks adoption of earlier creates.
MARKER_NAMESPACE = uuid.UUID("5b0f3a52-6c1e-4d57-9a43-2f1c8e7d6a01")

# Linear priorities: 0 none, 1 urgent, 2 high, 3 medium (called "normal" in older docs), 4 low.
_TO_LINEAR: Mapping[Priority, int] = {
    Priority.HIGHEST: 1,
    Priority.HIGH: 2,
    Priority.MEDIUM: 3,
    Priority.LOW: 4,
    Priority.LOWEST: 4,
}
_FROM_LINEAR: Mapping[int, Priority] = {
    1: Priority.HIGHEST,
    2: Priority.HIGH,
    3: Priority.MEDIUM,
    4: Priority.LOW,
}
_STATUS: Mapping[str, ItemStatus] = {
    "completed": ItemStatus.DONE,
    "canceled": ItemStatus.WONT_DO,
    "started": ItemStatus.IN_PROGRESS,
}

ISSUE_FIELDS = (
    "id identifier title description priority url updatedAt archivedAt "
    "state { type name } projectMilestone { id name }"
)


def issue_id(marker: str) -> str:
    """The issue UUID we send with `issueCreate` for a marker: a retry reuses it (idempotent create)."""
    return str(uuid.uuid5(MARKER_NAMESPACE, marker))


def parse_linear_time(text: Any) -> datetime:
    """Linear's `2024-05-01T10:00:30.123Z` -> aware UTC."""
    if not isinstance(text, str):
        raise MappingError(f"Linear timestamp is not a string: {text!r}")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"unparseable Linear timestamp: {text!r}") from exc
    if parsed.tzinfo is None:
        raise MappingError(f"Linear timestamp without offset: {text!r}")
    return parsed.astimezone(UTC)


def format_linear_time(when: datetime) -> str:
    """ISO 8601 with milliseconds and `Z`, as Linear renders its own timestamps."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_date(text: Any) -> date | None:
    """`TimelessDate` (`2024-05-20`) -> date; None stays None."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise MappingError(f"Linear date is not a string: {text!r}")
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise MappingError(f"unparseable Linear date: {text!r}") from exc


def to_linear_priority(priority: Priority) -> int:
    return _TO_LINEAR[priority]


def trim_title(title: str) -> str:
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


def to_status(raw: Mapping[str, Any]) -> ItemStatus:
    """From `state.type`; an issue archived while not finished (deleted, trashed) counts as won't-do."""
    state = raw.get("state")
    kind = state.get("type") if isinstance(state, Mapping) else None
    status = _STATUS.get(str(kind), ItemStatus.OPEN)
    if raw.get("archivedAt") and status in (ItemStatus.OPEN, ItemStatus.IN_PROGRESS):
        return ItemStatus.WONT_DO
    return status


def to_backlog_item(raw: Mapping[str, Any], marker: str | None = None) -> BacklogItem:
    """An `Issue` node -> BacklogItem (id = UUID, key = identifier such as `ENG-12`)."""
    ident, key, title = raw.get("id"), raw.get("identifier"), raw.get("title")
    if not isinstance(ident, str) or not isinstance(key, str) or not isinstance(title, str):
        raise MappingError(f"issue {ident!r} has no id, identifier or title")
    priority = raw.get("priority")
    ms = raw.get("projectMilestone")
    ms = ms if isinstance(ms, Mapping) else {}
    return BacklogItem(
        system=SYSTEM,
        id=ident,
        key=key,
        updated_at=parse_linear_time(raw.get("updatedAt")),
        url=str(raw.get("url") or ""),
        title=title,
        body=str(raw.get("description") or ""),
        priority=_FROM_LINEAR.get(int(priority)) if isinstance(priority, int | float) else None,
        status=to_status(raw),
        milestone=str(ms["name"]) if ms.get("name") is not None else None,
        milestone_id=str(ms["id"]) if ms.get("id") is not None else None,
        marker=marker,
    )


def milestone_state(project: Mapping[str, Any]) -> MilestoneState:
    """Linear has no "released" flag: a milestone is released when its project is completed
    (`completedAt`), archived when the project was canceled or archived."""
    if project.get("completedAt"):
        return MilestoneState.RELEASED
    if project.get("canceledAt") or project.get("archivedAt"):
        return MilestoneState.ARCHIVED
    return MilestoneState.PLANNED


def to_milestone(raw: Mapping[str, Any], project: Mapping[str, Any]) -> Milestone:
    """A `ProjectMilestone` node (plus its project) -> Milestone; `due` is its `targetDate`.

    The project's completion does not touch the milestone's `updatedAt`, so the later of both is used.
    """
    ident, name = raw.get("id"), raw.get("name")
    if not isinstance(ident, str) or not isinstance(name, str):
        raise MappingError(f"project milestone {ident!r} has no id or name")
    updated = parse_linear_time(raw.get("updatedAt"))
    if project.get("updatedAt"):
        updated = max(updated, parse_linear_time(project["updatedAt"]))
    return Milestone(
        system=SYSTEM,
        id=ident,
        updated_at=updated,
        url=str(project.get("url") or ""),
        name=name,
        due=parse_date(raw.get("targetDate")),
        state=milestone_state(project),
        description=str(raw.get("description") or ""),
    )


def error_codes(body: Any) -> tuple[str, ...]:
    """The `extensions.code` of every entry of a GraphQL `errors[]`."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    codes: list[str] = []
    for err in errors if isinstance(errors, list) else ():
        ext = err.get("extensions") if isinstance(err, Mapping) else None
        code = ext.get("code") if isinstance(ext, Mapping) else None
        if isinstance(code, str):
            codes.append(code)
    return tuple(codes)


def error_text(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    parts: list[str] = []
    for err in errors if isinstance(errors, list) else ():
        if isinstance(err, Mapping):
            ext = err.get("extensions")
            code = f" [{ext.get('code')}]" if isinstance(ext, Mapping) else ""
            parts.append(f"{err.get('message', '?')}{code}")
    return "; ".join(parts) or "no errors[]"
