"""Jira Cloud JSON <-> neutral records: pure functions, no I/O.

Shapes follow the Jira Cloud platform REST API v3 docs:
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/
ADF: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from mappings.errors import MappingError
from mappings.models import BacklogItem, ItemStatus, Milestone, MilestoneState, Priority

SYSTEM = "jira"
SUMMARY_LIMIT = 255  # Jira rejects longer summaries
LABEL_LIMIT = 255
ELLIPSIS = "…"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# statusCategory.key is stable across workflows; status names are not
_CATEGORY_STATUS: Mapping[str, ItemStatus] = {
    "new": ItemStatus.OPEN,
    "indeterminate": ItemStatus.IN_PROGRESS,
    "done": ItemStatus.DONE,
}
_WONT_DO_RESOLUTIONS = frozenset({"won't do", "won't fix", "wont do", "wont fix"})

DEFAULT_PRIORITY_NAMES: Mapping[Priority, str] = {
    Priority.HIGHEST: "Highest",
    Priority.HIGH: "High",
    Priority.MEDIUM: "Medium",
    Priority.LOW: "Low",
    Priority.LOWEST: "Lowest",
}


# -- timestamps -----------------------------------------------------------------------------------
def parse_jira_time(text: str) -> datetime:
    """Parse Jira's `2024-05-01T10:00:00.000+0000` (also accepts `Z` and `+00:00`) into aware UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        try:
            parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
        except (TypeError, ValueError) as exc:
            raise MappingError(f"unparseable Jira timestamp: {text!r}") from exc
    if parsed.tzinfo is None:
        raise MappingError(f"Jira timestamp without offset: {text!r}")
    return parsed.astimezone(UTC)


def format_jira_time(when: datetime) -> str:
    """Render an aware datetime the way Jira does: milliseconds and a `+0000` offset."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


# -- text helpers ---------------------------------------------------------------------------------
def trim_summary(title: str, limit: int = SUMMARY_LIMIT) -> str:
    """One line, at most `limit` characters; longer titles end in a single ellipsis (deterministic)."""
    line = " ".join(title.split())
    if len(line) <= limit:
        return line
    return line[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def sanitise_label(label: str) -> str:
    """Jira labels cannot contain whitespace: runs of whitespace become one hyphen."""
    return "-".join(label.split())[:LABEL_LIMIT]


def sanitise_labels(labels: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Sanitised, empty ones dropped, duplicates removed keeping first-seen order."""
    seen: dict[str, None] = {}
    for label in labels:
        clean = sanitise_label(label)
        if clean:
            seen.setdefault(clean, None)
    return tuple(seen)


# -- ADF ------------------------------------------------------------------------------------------
def _inline(lines: list[str]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for line in lines:
        if not line:
            continue
        if nodes:
            nodes.append({"type": "hardBreak"})
        nodes.append({"type": "text", "text": line})
    return nodes


def adf_from_text(text: str) -> dict[str, Any]:
    """Plain text -> ADF doc: blank-line separated blocks become paragraphs; `> ` blocks, blockquotes."""
    content: list[dict[str, Any]] = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip()):
        lines = [line.rstrip() for line in block.split("\n")]
        if not any(lines):
            continue
        if all(line.startswith(">") for line in lines):
            inner = _inline([line[1:].lstrip() for line in lines])
            if inner:
                content.append({"type": "blockquote", "content": [{"type": "paragraph", "content": inner}]})
            continue
        content.append({"type": "paragraph", "content": _inline(lines)})
    return {"type": "doc", "version": 1, "content": content}


def _node_text(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    children = node.get("content") or []
    if kind in ("paragraph", "heading"):
        return "".join(_node_text(child) for child in children)
    blocks = [_node_text(child) for child in children]
    joined = "\n\n".join(block for block in blocks if block)
    if kind == "blockquote":
        return "\n".join(f"> {line}" if line else ">" for line in joined.split("\n"))
    if kind == "listItem":
        return "- " + joined
    if kind in ("bulletList", "orderedList"):
        return "\n".join(blocks)
    return joined


def adf_to_text(doc: Any) -> str:
    """ADF doc -> plain text (the inverse of `adf_from_text` for what it produces); strings pass through."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, Mapping):
        raise MappingError(f"description is neither ADF nor text: {type(doc).__name__}")
    return _node_text(doc)


# -- issue -> BacklogItem --------------------------------------------------------------------------
def to_status(fields: Mapping[str, Any]) -> ItemStatus:
    status = fields.get("status") or {}
    category = ((status.get("statusCategory") or {}).get("key") or "").lower()
    if category not in _CATEGORY_STATUS:
        raise MappingError(f"unknown status category {category!r} (status {status.get('name')!r})")
    mapped = _CATEGORY_STATUS[category]
    resolution = ((fields.get("resolution") or {}).get("name") or "").replace("’", "'").lower()
    if mapped is ItemStatus.DONE and resolution in _WONT_DO_RESOLUTIONS:
        return ItemStatus.WONT_DO
    return mapped


def to_priority(fields: Mapping[str, Any], names: Mapping[Priority, str]) -> Priority | None:
    name = ((fields.get("priority") or {}).get("name") or "").strip().lower()
    if not name:
        return None
    for priority, jira_name in names.items():
        if jira_name.lower() == name:
            return priority
    return None  # a site-specific priority we have no mapping for: not an error, just unknown


def marker_from_labels(labels: tuple[str, ...], prefix: str) -> str | None:
    for label in labels:
        if label.startswith(prefix) and len(label) > len(prefix):
            return label[len(prefix) :]
    return None


def to_backlog_item(
    raw: Mapping[str, Any],
    site_url: str,
    label_prefix: str,
    priority_names: Mapping[Priority, str] = DEFAULT_PRIORITY_NAMES,
) -> BacklogItem:
    """A search/issue JSON object -> BacklogItem; raises MappingError when a required part is missing."""
    key = raw.get("key")
    fields = raw.get("fields")
    if not isinstance(key, str) or not key or not isinstance(fields, Mapping):
        raise MappingError(f"issue {raw.get('id')!r} has no key or no fields")
    summary, updated = fields.get("summary"), fields.get("updated")
    if not isinstance(summary, str) or not isinstance(updated, str):
        raise MappingError(f"{key}: summary and updated are required")
    labels = tuple(str(label) for label in fields.get("labels") or ())
    first = _first_version(fields)
    return BacklogItem(
        system=SYSTEM,
        id=key,
        key=key,
        updated_at=parse_jira_time(updated),
        url=f"{site_url.rstrip('/')}/browse/{key}",
        title=summary,
        body=adf_to_text(fields.get("description")),
        labels=labels,
        priority=to_priority(fields, priority_names),
        status=to_status(fields),
        milestone=_text_or_none(first.get("name")),
        milestone_id=_text_or_none(first.get("id")),
        marker=marker_from_labels(labels, label_prefix),
    )


def _first_version(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first fixVersion (`{id, name, ...}`), or an empty mapping when there is none."""
    versions = fields.get("fixVersions")
    if isinstance(versions, list) and versions and isinstance(versions[0], Mapping):
        return versions[0]
    return {}


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


# -- version -> Milestone -------------------------------------------------------------------------
def to_milestone(raw: Mapping[str, Any], site_url: str, project_key: str, seen_at: datetime) -> Milestone:
    """A project version -> Milestone; raises MappingError when id or name is missing or a date is bad.

    Versions carry no modified time, so `seen_at` (the server's clock when it answered) stands in.
    https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-project-versions/
    """
    ident, name = _text_or_none(raw.get("id")), raw.get("name")
    if ident is None or not isinstance(name, str) or not name.strip():
        raise MappingError(f"version {raw.get('id')!r} has no id or no name")
    description = raw.get("description")
    return Milestone(
        system=SYSTEM,
        id=ident,
        updated_at=seen_at,
        url=f"{site_url.rstrip('/')}/projects/{project_key}/versions/{ident}",
        name=name,
        due=_calendar_date(raw.get("releaseDate"), ident),
        state=_version_state(raw),
        description=description if isinstance(description, str) else "",
    )


def _calendar_date(value: Any, ident: str) -> date | None:
    """`releaseDate` is a plain `yyyy-mm-dd` (no zone); absent or null means unscheduled."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"version {ident}: releaseDate is not a string: {value!r}")
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)  # fromisoformat would also take `20240701` and week dates
        return date.fromisoformat(value)
    except ValueError as exc:
        raise MappingError(f"version {ident}: unparseable releaseDate {value!r}") from exc


def _version_state(raw: Mapping[str, Any]) -> MilestoneState:
    # a released version that was archived later still shipped: released wins
    if raw.get("released") is True:
        return MilestoneState.RELEASED
    if raw.get("archived") is True:
        return MilestoneState.ARCHIVED
    return MilestoneState.PLANNED


def element_error_text(errors: Mapping[str, Any] | None) -> str:
    """Flatten Jira's ErrorCollection `{"errorMessages": [...], "errors": {field: msg}}` into one line."""
    if not errors:
        return "rejected by Jira without a reason"
    parts = [str(m) for m in errors.get("errorMessages") or ()]
    parts += [f"{name}: {msg}" for name, msg in sorted((errors.get("errors") or {}).items())]
    return "; ".join(parts) or "rejected by Jira without a reason"
