"""PingCode open-API JSON <-> neutral records: pure functions, no I/O.

Shapes follow the PingCode open API docs (open.pingcode.com, pingcode.apifox.cn) as summarised in
api-notes §7: 10-digit unix-second timestamps, `{id, name, type}` state objects, HTML descriptions,
custom properties under `properties.{key}`, versions (发布) with `stage {name, type}` and `status`
pending | in_progress | published, `end_at` = the planned release time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

from mappings.errors import MappingError
from mappings.models import BacklogItem, ItemStatus, Milestone, MilestoneState, Priority

SYSTEM = "pingcode"
TITLE_LIMIT = 255  # (unverified) PingCode's title cap; we trim deterministically to stay under it
ELLIPSIS = "…"
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # release dates are read as calendar days here

# PingCode's default priorities (最高/较高/普通/较低/最低); real ids are per-enterprise object ids
DEFAULT_PRIORITY_IDS: Mapping[Priority, str] = {
    Priority.HIGHEST: "highest",
    Priority.HIGH: "high",
    Priority.MEDIUM: "medium",
    Priority.LOW: "low",
    Priority.LOWEST: "lowest",
}
_READ_PREFERENCE = (Priority.MEDIUM, Priority.HIGH, Priority.LOW, Priority.HIGHEST, Priority.LOWEST)

# state *types* (category of a state, stable across custom workflows) -> ours
DEFAULT_DONE_STATE_TYPES = frozenset({"completed", "done"})
DEFAULT_WONT_DO_STATE_TYPES = frozenset({"closed"})
DEFAULT_IN_PROGRESS_STATE_TYPES = frozenset({"in_progress"})


def parse_time(value: Any) -> datetime:
    """A 10-digit unix-seconds value -> aware UTC datetime (13-digit milliseconds are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"timestamp is not a number: {value!r}")
    if value > 10_000_000_000:
        raise MappingError(f"timestamp looks like milliseconds, expected unix seconds: {value!r}")
    return datetime.fromtimestamp(int(value), UTC)


def unix(when: datetime) -> int:
    return int(when.astimezone(UTC).timestamp())


def trim_title(title: str, limit: int = TITLE_LIMIT) -> str:
    """One line, at most `limit` characters; longer titles end in a single ellipsis (deterministic)."""
    line = " ".join(title.split())
    if len(line) <= limit:
        return line
    return line[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def text_to_html(text: str) -> str:
    """Plain text (our drafts) -> PingCode's HTML description: paragraphs on blank lines, `<br>` inside."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


_BLOCK_BREAK = re.compile(r"</p>\s*<p[^>]*>|</(?:div|h[1-6]|li|blockquote|pre)>", re.IGNORECASE)
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """PingCode HTML -> plain text; the inverse of `text_to_html` for what we wrote."""
    text = _BLOCK_BREAK.sub("\n\n", markup)
    text = _LINE_BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def priority_from(raw: Any, ids: Mapping[Priority, str]) -> Priority | None:
    """`{id, name}` (or a bare id) -> Priority by configured id; unknown ids are None, not errors."""
    value = raw.get("id") if isinstance(raw, Mapping) else raw
    if not isinstance(value, str):
        return None
    for priority in _READ_PREFERENCE:
        if ids.get(priority) == value:
            return priority
    return None


def to_status(
    raw: Any,
    done: Collection[str] = DEFAULT_DONE_STATE_TYPES,
    wont_do: Collection[str] = DEFAULT_WONT_DO_STATE_TYPES,
    in_progress: Collection[str] = DEFAULT_IN_PROGRESS_STATE_TYPES,
) -> ItemStatus:
    """`state {id, name, type}` -> ItemStatus by its type (or, failing that, its name)."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"work item without a state: {raw!r}")
    for value in (raw.get("type"), raw.get("name")):
        if not isinstance(value, str):
            continue
        kind = value.strip().lower()
        if kind in wont_do:
            return ItemStatus.WONT_DO
        if kind in done:
            return ItemStatus.DONE
        if kind in in_progress:
            return ItemStatus.IN_PROGRESS
    if not isinstance(raw.get("type"), str) and not isinstance(raw.get("name"), str):
        raise MappingError(f"state without a type or name: {raw!r}")
    return ItemStatus.OPEN


def marker_of(raw: Mapping[str, Any], key: str) -> str | None:
    props = raw.get("properties")
    value = props.get(key) if isinstance(props, Mapping) else None
    return value if isinstance(value, str) and value else None


def to_backlog_item(
    raw: Mapping[str, Any],
    site_url: str,
    marker_property: str,
    priority_ids: Mapping[Priority, str] = DEFAULT_PRIORITY_IDS,
    done: Collection[str] = DEFAULT_DONE_STATE_TYPES,
    wont_do: Collection[str] = DEFAULT_WONT_DO_STATE_TYPES,
) -> BacklogItem:
    """A work item -> BacklogItem (key = the work item id, which PATCH takes); MappingError if unusable."""
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident:
        raise MappingError(f"work item has no id: {ident!r}")
    title = raw.get("title")
    if not isinstance(title, str):
        raise MappingError(f"work item {ident}: title is required")
    description = raw.get("description")
    version = raw.get("version")
    version = version if isinstance(version, Mapping) else {}
    html_url = raw.get("html_url")
    url = (
        html_url
        if isinstance(html_url, str) and html_url
        else (f"{site_url.rstrip('/')}/pjm/workitems/{raw.get('identifier') or ident}")
    )
    return BacklogItem(
        system=SYSTEM,
        id=ident,
        key=ident,
        updated_at=parse_time(raw.get("updated_at")),
        url=url,
        title=title,
        body=html_to_text(description) if isinstance(description, str) else "",
        priority=priority_from(raw.get("priority"), priority_ids),
        status=to_status(raw.get("state"), done, wont_do),
        milestone=_text_or_none(version.get("name")),
        milestone_id=_text_or_none(version.get("id")),
        marker=marker_of(raw, marker_property),
    )


def is_published(raw: Mapping[str, Any]) -> bool:
    stage = raw.get("stage")
    stage_type = stage.get("type") if isinstance(stage, Mapping) else None
    return "published" in (raw.get("status"), stage_type)


def to_milestone(raw: Mapping[str, Any], site_url: str, seen_at: datetime, zone: tzinfo = CHINA) -> Milestone:
    """A version (发布) -> Milestone: status/stage `published` is RELEASED; `end_at` is the due day."""
    ident, name = _text_or_none(raw.get("id")), raw.get("name")
    if ident is None or not isinstance(name, str) or not name.strip():
        raise MappingError(f"version {raw.get('id')!r} has no id or no name")
    end_at = raw.get("end_at")
    due: date | None = None
    if end_at not in (None, 0, ""):
        due = parse_time(end_at).astimezone(zone).date()
    updated = raw.get("updated_at")
    description = raw.get("description")
    url = raw.get("html_url")
    return Milestone(
        system=SYSTEM,
        id=ident,
        updated_at=parse_time(updated) if updated else seen_at,
        url=url if isinstance(url, str) and url else f"{site_url.rstrip('/')}/pjm/versions/{ident}",
        name=name,
        due=due,
        state=MilestoneState.RELEASED if is_published(raw) else MilestoneState.PLANNED,
        description=description if isinstance(description, str) else "",
    )


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def error_text(body: Any) -> str:
    """PingCode error bodies `{"code": "...", "message": "..."}` as one line."""
    if isinstance(body, Mapping):
        code, message = body.get("code"), body.get("message")
        if code or message:
            return f"{code or '?'}: {message or 'no message'}"
    return "rejected by PingCode without a reason"
