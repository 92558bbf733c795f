"""Worktile task JSON -> neutral records. Pure functions: no I/O, no clock, no logging.

A task as assumed here (shape seen in third-party client code, not in the official docs):
`{"_id", "identifier", "title", "description", "created_at", "updated_at", "priority": {"name"},
"assignee": {"uid", "name", "display_name"}, "tags": [{"name"}], "properties": {key: value}}`.
Timestamps are epoch seconds (ms accepted when > 1e12; ISO strings accepted too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from mappings.errors import MappingError
from mappings.models import Account, Feedback, Owner, Urgency

if TYPE_CHECKING:
    from adapters.worktile.settings import WorktileSettings

SYSTEM = "worktile"


def parse_stamp(value: object) -> datetime:
    if isinstance(value, bool) or value is None or value == "":
        raise MappingError(f"timestamp missing: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e12 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        text_ = value.strip()
        if text_.replace(".", "", 1).isdigit():
            return parse_stamp(float(text_))
        try:
            stamp = datetime.fromisoformat(text_.replace("Z", "+00:00"))
        except ValueError as exc:
            raise MappingError(f"unparsable timestamp: {value!r}") from exc
        if stamp.tzinfo is None:
            raise MappingError(f"timestamp without a zone: {value!r}")
        return stamp.astimezone(UTC)
    raise MappingError(f"unparsable timestamp: {value!r}")


def parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def text(value: object) -> str:
    """A property value as text: options/members by name, lists comma-joined."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, Mapping):
        for k in ("name", "display_name", "text", "value", "uid", "_id"):
            inner = value.get(k)
            if isinstance(inner, str) and inner:
                return inner.strip()
        return ""
    if isinstance(value, list):
        return ",".join(t for t in (text(v) for v in value) if t)
    return value.strip() if isinstance(value, str) else str(value)


def prop(task: Mapping[str, Any], key: str | None) -> str:
    if not key:
        return ""
    props = task.get("properties")
    if not isinstance(props, Mapping):
        return ""
    return text(props.get(key))


def task_id(task: Mapping[str, Any]) -> str:
    ident = task.get("_id") or task.get("id")
    if not isinstance(ident, str) or not ident:
        raise MappingError(f"task without an _id: {ident!r}")
    return ident


def to_owner(value: object) -> Owner | None:
    if isinstance(value, Mapping):
        uid = value.get("uid") or value.get("_id") or value.get("id")
        if isinstance(uid, str) and uid:
            name = value.get("display_name") or value.get("name")
            return Owner(id=uid, name=name if isinstance(name, str) else "")
    if isinstance(value, str) and value:
        return Owner(id=value)
    return None


def category(task: Mapping[str, Any], s: WorktileSettings) -> str:
    found = prop(task, s.category_property)
    if found:
        return found
    tags = task.get("tags")
    if isinstance(tags, list) and tags:
        return text(tags[0])
    return ""


def to_feedback(task: Mapping[str, Any], s: WorktileSettings) -> Feedback:
    ident = task_id(task)
    title = text(task.get("title"))
    if not title:
        raise MappingError(f"task {ident} has no title")
    return Feedback(
        system=SYSTEM,
        id=ident,
        updated_at=parse_stamp(task.get("updated_at")),
        url=s.task_url(ident),
        account_id=prop(task, s.customer_property) or None,
        title=title,
        body=text(task.get("description")),
        category=category(task, s),
        urgency=s.urgency_map.get(text(task.get("priority")).upper(), Urgency.MEDIUM),
        requested_by=prop(task, s.requested_by_property),
        backlog_key=prop(task, s.backlog_key_property) or None,
        backlog_status=prop(task, s.backlog_status_property) or None,
        backlog_milestone=prop(task, s.backlog_milestone_property) or None,
        backlog_due=parse_date(prop(task, s.backlog_due_property)),
    )


def to_account(task: Mapping[str, Any], s: WorktileSettings) -> Account | None:
    """The account a feedback task names: id and name = its customer property, owner = its assignee."""
    name = prop(task, s.customer_property)
    if not name:
        return None
    return Account(
        system=SYSTEM,
        id=name,
        updated_at=parse_stamp(task.get("updated_at")),
        name=name,
        owner=to_owner(task.get("assignee")),
    )


def error_code(body: object) -> int | None:
    """`error_code` of a `{"ok": false, "error_code": 1103, ...}` body (seen in client code)."""
    if isinstance(body, Mapping):
        code = body.get("error_code", body.get("code"))
        if isinstance(code, int) and not isinstance(code, bool):
            return code
        if isinstance(code, str) and code.isdigit():
            return int(code)
    return None
