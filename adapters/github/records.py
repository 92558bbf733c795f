"""GitHub REST JSON <-> neutral records: pure functions, no I/O.

Shapes follow https://docs.github.com/en/rest/issues/issues and
https://docs.github.com/en/rest/issues/milestones (API version 2022-11-28).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from mappings.errors import MappingError
from mappings.models import BacklogItem, ItemStatus, Milestone, MilestoneState, Priority

SYSTEM = "github"
TITLE_LIMIT = 256  # GitHub answers 422 for longer titles
LABEL_LIMIT = 50  # label names are at most 50 characters
BODY_LIMIT = 65_536
PRIORITY_PREFIX = "priority:"
# a hidden HTML comment: rendered markdown does not show it, the API returns it verbatim
_MARKER = re.compile(r"\n*<!-- syncer:marker=(?P<marker>[^\s>]+) -->\s*\Z")
_LINK = re.compile(r'<(?P<url>[^>]+)>\s*;\s*rel="(?P<rel>[^"]+)"')


def parse_github_time(text: Any) -> datetime:
    """GitHub's `2024-05-01T10:00:00Z` -> aware UTC."""
    if not isinstance(text, str):
        raise MappingError(f"GitHub timestamp is not a string: {text!r}")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"unparseable GitHub timestamp: {text!r}") from exc
    if parsed.tzinfo is None:
        raise MappingError(f"GitHub timestamp without offset: {text!r}")
    return parsed.astimezone(UTC)


def format_github_time(when: datetime) -> str:
    """ISO 8601 at second resolution, `Z` suffix: what GitHub documents for `since`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- markers, labels, bodies ----------------------------------------------------------------------
def marker_comment(marker: str) -> str:
    return f"<!-- syncer:marker={marker} -->"


def render_body(body: str, marker: str | None) -> str:
    """The issue body we send: the text, then the hidden marker comment on its own line."""
    if marker is None:
        return body[:BODY_LIMIT]
    tail = "\n\n" + marker_comment(marker)
    return body[: BODY_LIMIT - len(tail)] + tail


def split_body(raw: str) -> tuple[str, str | None]:
    """(text without the marker comment, marker or None); inverse of `render_body`."""
    found = _MARKER.search(raw)
    if found is None:
        return raw, None
    return raw[: found.start()], found.group("marker")


def sanitise_label(label: str) -> str:
    return label.strip()[:LABEL_LIMIT]


def priority_label(priority: Priority) -> str:
    return f"{PRIORITY_PREFIX}{priority.value}"


def trim_title(title: str) -> str:
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


def unique(labels: Iterable[str]) -> tuple[str, ...]:
    """Non-empty, sanitised, first occurrence kept, order kept."""
    seen: dict[str, None] = {}
    for label in labels:
        clean = sanitise_label(label)
        if clean:
            seen.setdefault(clean, None)
    return tuple(seen)


def label_names(raw: Any) -> tuple[str, ...]:
    """Issue `labels` are objects `{name, ...}` (strings are accepted too, as in requests)."""
    names: list[str] = []
    for label in raw or ():
        name = label.get("name") if isinstance(label, Mapping) else label
        if isinstance(name, str):
            names.append(name)
    return tuple(names)


def to_priority(labels: Iterable[str]) -> Priority | None:
    for label in labels:
        if label.startswith(PRIORITY_PREFIX):
            try:
                return Priority(label[len(PRIORITY_PREFIX) :])
            except ValueError:
                continue
    return None


def to_status(raw: Mapping[str, Any]) -> ItemStatus:
    if raw.get("state") != "closed":
        return ItemStatus.OPEN
    return ItemStatus.WONT_DO if raw.get("state_reason") == "not_planned" else ItemStatus.DONE


def is_pull_request(raw: Mapping[str, Any]) -> bool:
    """The issues list includes pull requests; they carry a `pull_request` key."""
    return "pull_request" in raw


def to_backlog_item(raw: Mapping[str, Any], label_prefix: str) -> BacklogItem:
    """An issue JSON object -> BacklogItem (key = the issue number); MappingError when parts are missing."""
    number, title = raw.get("number"), raw.get("title")
    if not isinstance(number, int) or isinstance(number, bool) or not isinstance(title, str):
        raise MappingError(f"issue {raw.get('id')!r} has no number or no title")
    text, marker = split_body(raw.get("body") or "")
    labels = label_names(raw.get("labels"))
    if marker is None:
        marker = next((lb[len(label_prefix) :] for lb in labels if lb.startswith(label_prefix)), None)
    milestone = raw.get("milestone")
    ms = milestone if isinstance(milestone, Mapping) else {}
    return BacklogItem(
        system=SYSTEM,
        id=str(number),
        key=str(number),
        updated_at=parse_github_time(raw.get("updated_at")),
        url=str(raw.get("html_url") or ""),
        title=title,
        body=text,
        labels=labels,
        priority=to_priority(labels),
        status=to_status(raw),
        milestone=str(ms["title"]) if ms.get("title") is not None else None,
        milestone_id=str(ms["number"]) if ms.get("number") is not None else None,
        marker=marker or None,
    )


def to_milestone(raw: Mapping[str, Any]) -> Milestone:
    """A milestone JSON object -> Milestone; `id` is its number, `due` the date part of `due_on`.

    GitHub keeps only the date of `due_on`, stored around Pacific midnight (07:00 or 08:00 UTC), so
    the UTC date is the date people set.
    """
    number, title = raw.get("number"), raw.get("title")
    if not isinstance(number, int) or isinstance(number, bool) or not isinstance(title, str):
        raise MappingError(f"milestone {raw.get('id')!r} has no number or no title")
    due_on = raw.get("due_on")
    return Milestone(
        system=SYSTEM,
        id=str(number),
        updated_at=parse_github_time(raw.get("updated_at") or raw.get("created_at")),
        url=str(raw.get("html_url") or ""),
        name=title,
        due=parse_github_time(due_on).date() if due_on else None,
        state=MilestoneState.RELEASED if raw.get("state") == "closed" else MilestoneState.PLANNED,
        description=str(raw.get("description") or ""),
    )


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of an RFC 8288 `Link` header, if any."""
    for match in _LINK.finditer(header or ""):
        if "next" in match.group("rel").split():
            return match.group("url")
    return None


def relative_to(base_url: str, url: str) -> tuple[str, dict[str, str]]:
    """Split a Link URL into (path under the client's base URL, query params).

    Link URLs are absolute; the HttpClient appends paths to its base URL (GHES: `/api/v3`), so the
    base path is removed. A link to another host is refused rather than followed with our token.
    """
    base, target = httpx.URL(base_url), httpx.URL(url)
    if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
        raise MappingError(f"Link header points to another origin: {url}")
    prefix = base.path.rstrip("/")
    path = target.path
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    return path, dict(target.params.multi_items())
