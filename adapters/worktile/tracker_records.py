"""Worktile task JSON -> BacklogItem / Milestone for the tracker side. Pure: no I/O, no clock, no logging.

A task as assumed here (third-party client code, not the official docs; every field (unverified)):
`{"_id", "identifier", "project_id" | "project": {"_id"}, "title", "description", "updated_at",
"task_type": {"_id", "name"} | "task_type_id", "task_state": {"_id", "name", "type"} | "state_type",
"priority": {"_id", "name"}, "due": {"date": epoch, "with_time": 0}, "properties": {key: value}}`.
A milestone is a task of the milestone type: its title is the name, its due is the due date, a finished
state is "released". An item names its milestone in a property (text, or an option `{_id, name}`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from adapters.worktile.records import SYSTEM, parse_stamp, task_id, text
from adapters.worktile.settings import WorktileTrackerSettings
from mappings.errors import MappingError
from mappings.models import BacklogItem, ItemStatus, Milestone, MilestoneState, Priority

TITLE_LIMIT = 255  # (unverified) Worktile's title cap; titles are trimmed deterministically under it
ELLIPSIS = "…"
_READ_PREFERENCE = (Priority.MEDIUM, Priority.HIGH, Priority.LOW, Priority.HIGHEST, Priority.LOWEST)


def trim_title(title: str, limit: int = TITLE_LIMIT) -> str:
    """One line, at most `limit` characters; longer titles end in a single ellipsis (deterministic)."""
    line = " ".join(title.split())
    return line if len(line) <= limit else line[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _ident(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("_id") or value.get("id")
    return value if isinstance(value, str) and value else None


def type_id(task: Mapping[str, Any]) -> str | None:
    """The task type id (`task_type._id` or `task_type_id`)."""
    return _ident(task.get("task_type")) or _ident(task.get("task_type_id")) or _ident(task.get("type"))


def project_id(task: Mapping[str, Any]) -> str | None:
    return _ident(task.get("project_id")) or _ident(task.get("project"))


def prop_raw(task: Mapping[str, Any], key: str) -> Any:
    props = task.get("properties")
    return props.get(key) if isinstance(props, Mapping) else None


def _state(task: Mapping[str, Any]) -> tuple[str, int | None]:
    """(state name, state type) from `task_state {name, type}` or the top-level `state_type`."""
    raw = task.get("task_state") or prop_raw(task, "task_state")
    name = text(raw.get("name")) if isinstance(raw, Mapping) else ""
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind is None:
        kind = task.get("state_type")
    if isinstance(kind, str) and kind.strip().isdigit():
        kind = int(kind)
    if not isinstance(kind, int) or isinstance(kind, bool):
        kind = None
    if not name and kind is None:
        raise MappingError(f"task {task.get('_id')!r} has no task_state")
    return name, kind


def to_status(task: Mapping[str, Any], s: WorktileTrackerSettings) -> ItemStatus:
    """State name in `wont_do_state_names` first (finished types mix 已完成 and 已关闭), then the type."""
    name, kind = _state(task)
    if name in s.wont_do_state_names or kind in s.wont_do_state_types:
        return ItemStatus.WONT_DO
    if kind in s.done_state_types:
        return ItemStatus.DONE
    if kind in s.in_progress_state_types:
        return ItemStatus.IN_PROGRESS
    return ItemStatus.OPEN


def to_priority(task: Mapping[str, Any], s: WorktileTrackerSettings) -> Priority | None:
    """`priority {_id, name}` -> ours, by configured name or id; unknown priorities are None."""
    raw = task.get("priority") or prop_raw(task, "priority")
    values = {text(raw), _ident(raw)} - {"", None}
    for priority in _READ_PREFERENCE:
        if s.priorities.get(priority) in values:
            return priority
    return None


def milestone_of(task: Mapping[str, Any], s: WorktileTrackerSettings) -> tuple[str | None, str | None]:
    """(name, id) of the milestone an item names; an option/relation object may carry its own `_id`."""
    raw = prop_raw(task, s.milestone_property)
    name = text(raw) or None
    ident = _ident(raw) if isinstance(raw, Mapping) else None
    return name, ident


def to_backlog_item(
    task: Mapping[str, Any], s: WorktileTrackerSettings, milestone_ids: Mapping[str, str]
) -> BacklogItem:
    """A task -> BacklogItem (key = the task `_id`, which the update call takes).

    `milestone_ids` maps milestone names to milestone task ids, so `milestone_id` matches `Milestone.id`.
    """
    ident = task_id(task)
    title = text(task.get("title"))
    if not title:
        raise MappingError(f"task {ident} has no title")
    name, option_id = milestone_of(task, s)
    marker = text(prop_raw(task, s.marker_property)) or None
    return BacklogItem(
        system=SYSTEM,
        id=ident,
        key=ident,
        updated_at=parse_stamp(task.get("updated_at")),
        url=s.task_url(project_id(task) or s.project_id, ident),
        title=title,
        body=text(task.get("description")),
        priority=to_priority(task, s),
        status=to_status(task, s),
        milestone=name,
        milestone_id=(milestone_ids.get(name) if name else None) or option_id,
        marker=marker,
    )


def due_of(task: Mapping[str, Any], zone: timezone) -> date | None:
    """`due {date: epoch seconds, with_time}` (top level or a property, maybe under `value`) -> a day."""
    raw = task.get("due") or prop_raw(task, "due")
    if isinstance(raw, Mapping) and isinstance(raw.get("value"), Mapping | int | float):
        raw = raw["value"]
    if isinstance(raw, Mapping):
        raw = raw.get("date")
    if raw in (None, 0, ""):
        return None
    return parse_stamp(raw).astimezone(zone).date()


def zone_of(s: WorktileTrackerSettings) -> timezone:
    return timezone(timedelta(hours=s.utc_offset_hours))


def to_milestone(task: Mapping[str, Any], s: WorktileTrackerSettings, seen_at: datetime) -> Milestone:
    """A milestone task -> Milestone: finished = released, a won't-do state = archived."""
    ident = task_id(task)
    name = text(task.get("title"))
    if not name:
        raise MappingError(f"milestone task {ident} has no title")
    status = to_status(task, s)
    state = {ItemStatus.DONE: MilestoneState.RELEASED, ItemStatus.WONT_DO: MilestoneState.ARCHIVED}.get(
        status, MilestoneState.PLANNED
    )
    stamp = task.get("updated_at")
    return Milestone(
        system=SYSTEM,
        id=ident,
        updated_at=parse_stamp(stamp) if stamp else seen_at.astimezone(UTC),
        url=s.task_url(project_id(task) or s.milestones_in, ident),
        name=name,
        due=due_of(task, zone_of(s)),
        state=state,
        description=text(task.get("description")),
    )
