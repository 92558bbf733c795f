"""Redmine as a tracker: create issues carrying a marker custom field, update what we own, pull changes.

Endpoints (REST, JSON): `GET /issues.json` (offset/limit paging, `total_count`; `status_id=*` or only open
issues come back; `cf_N=value` filters on a custom field), `POST /issues.json` (one issue, no bulk),
`PUT /issues/{id}.json` (204), `GET /issues/{id}.json`, `GET /projects/{id}/versions.json` (all versions).
https://www.redmine.org/projects/redmine/wiki/Rest_Issues
https://www.redmine.org/projects/redmine/wiki/Rest_Versions
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError, TransientError
from adapters.http import HttpClient, RateLimit, json_body, server_time
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from adapters.redmine.records import (
    DEFAULT_DONE_STATUSES,
    DEFAULT_PRIORITY_IDS,
    DEFAULT_WONT_DO_STATUSES,
    SYSTEM,
    errors_text,
    format_time,
    to_backlog_item,
    to_milestone,
    trim_subject,
)
from mappings.errors import MappingError
from mappings.models import BacklogDraft, BacklogItem, Cursor, Milestone, Priority, WriteResult

# Redmine has no rate limit of its own (any comes from the deployment): stay polite, 5/s.
RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType({"default": RateLimit(rate=5.0, burst=5)})

MAX_LIMIT = 100  # Redmine caps `limit` at 100

log = structlog.get_logger("syncer.redmine")


@dataclass(frozen=True, slots=True)
class RedmineSettings:
    project: str  # identifier (e.g. "product") or numeric id
    marker_field_id: int  # the issue custom field (string, "used as a filter") holding our marker
    tracker_id: int | None = None  # None: the project's default tracker
    priority_ids: Mapping[Priority, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_IDS))
    done_statuses: frozenset[str] = DEFAULT_DONE_STATUSES  # lower-case status names -> DONE
    wont_do_statuses: frozenset[str] = DEFAULT_WONT_DO_STATUSES  # -> WONT_DO
    page_size: int = MAX_LIMIT
    site_url: str = ""


class RedmineTracker:
    """TrackerSink + TrackerSource for one Redmine project."""

    system = SYSTEM

    def __init__(self, http: HttpClient, settings: RedmineSettings) -> None:
        self._http, self._settings = http, settings
        self._site = (settings.site_url or http.base_url).rstrip("/")
        self._limit = max(1, min(settings.page_size, MAX_LIMIT))

    # -- TrackerSink ------------------------------------------------------------------------------
    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        """One `cf_N=marker` query per marker (closed issues included); exact matches only."""
        found: dict[str, BacklogItem] = {}
        field_param = f"cf_{self._settings.marker_field_id}"
        for marker in sorted(set(markers)):
            params = {**self._base_params(), field_param: marker, "sort": "id", "limit": self._limit}
            body = self._list("issues", "/issues.json", params)
            items, _ = self._map_issues(body["issues"])
            for item in items:  # the filter is the "is" operator, but compare anyway
                if item.marker == marker and marker not in found:
                    found[marker] = item
        return found

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        """One `POST /issues.json` per draft (Redmine has no bulk create); results in input order.

        A timeout or 5xx raises: the issue may exist, and the engine adopts it by marker next run.
        """
        return [self._create_one(marker, draft) for marker, draft in drafts]

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        """Update description and priority only (never subject, status, assignee or target version).

        Redmine answers 204 without a body (even when it ignored a change), so read the issue back.
        """
        issue = {
            "description": draft.body,
            "priority_id": self._settings.priority_ids[draft.priority],
        }
        self._http.request("PUT", f"/issues/{key}.json", json_body={"issue": issue})
        body = self._http.get_json(f"/issues/{key}.json")
        raw = body.get("issue") if isinstance(body, Mapping) else None
        if not isinstance(raw, Mapping):
            raise MalformedResponseError(
                f"redmine: issues/{key}.json answered without an issue: {body!r:.200}"
            )
        return self._to_item(raw)

    # -- TrackerSource ----------------------------------------------------------------------------
    def iter_changed_items(self, since: Cursor) -> Iterator[Page[BacklogItem]]:
        """Issues with `updated_on >= since` (to the second), ascending by (updated_on, id), page by page.

        Offset paging over a mutable sort key skips rows when an issue changes mid-pull, so each page
        restarts from the newest `updated_on` seen (keyset-like), stepping the offset only while a
        whole page shares that second; rows seen before (same id and updated_on) are not repeated.
        """
        check = guard_tokens()
        floor = since.updated_at.astimezone(UTC).replace(microsecond=0)
        offset = 0
        seen: set[tuple[str, datetime]] = set()
        cursor: Cursor | None = None
        total: int | None = None
        first = True
        while True:
            params = {
                **self._base_params(),
                "updated_on": f">={format_time(floor)}",
                "sort": "updated_on,id",
                "offset": offset,
                "limit": self._limit,
            }
            body = self._list("issues", "/issues.json", params)
            raws = body["issues"]
            if first:
                total = _int_or_none(body.get("total_count"))
            items, rejects = self._map_issues(raws)
            fresh = tuple(i for i in items if (i.id, i.updated_at) not in seen)
            seen.update((i.id, i.updated_at) for i in fresh)
            cursor = max_cursor(fresh, cursor)
            if fresh or rejects:
                yield Page(fresh, cursor=cursor, rejects=rejects, total=total if first else None)
            first = False
            if len(raws) < self._limit:
                return
            newest = max((i.updated_at for i in items), default=floor)
            if newest > floor:
                floor, offset = newest, 0
            else:
                offset += len(raws)
            check((floor, offset))

    def list_milestones(self) -> Sequence[Milestone]:
        """Every version the project sees (shared ones included); `closed` = released."""
        response = self._http.request("GET", f"/projects/{self._settings.project}/versions.json")
        body = json_body(response, "redmine", "versions.json")
        versions = body.get("versions") if isinstance(body, Mapping) else None
        if not isinstance(versions, list):
            raise MalformedResponseError(
                f"redmine: versions.json answered without a versions list: {body!r:.200}"
            )
        seen_at = server_time(response)
        milestones: list[Milestone] = []
        for raw in versions:
            try:
                if not isinstance(raw, Mapping):
                    raise MappingError(f"version is not an object: {type(raw).__name__}")
                milestones.append(to_milestone(raw, self._site, seen_at))
            except MappingError as exc:
                ident = str(raw.get("id") or "?") if isinstance(raw, Mapping) else "?"
                log.warning("milestone.skipped", system=SYSTEM, version_id=ident, reason=str(exc))
        return tuple(milestones)

    # -- internals --------------------------------------------------------------------------------
    def _base_params(self) -> dict[str, Any]:
        return {"project_id": self._settings.project, "status_id": "*"}

    def _list(self, key: str, path: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        body = self._http.get_json(path, params=params)
        if not isinstance(body, Mapping) or not isinstance(body.get(key), list):
            raise MalformedResponseError(f"redmine: {path} answered without an {key} list: {body!r:.200}")
        return body

    def _create_one(self, marker: str, draft: BacklogDraft) -> WriteResult:
        issue: dict[str, Any] = {
            "project_id": self._settings.project,
            "subject": trim_subject(draft.title),
            "description": draft.body,
            "priority_id": self._settings.priority_ids[draft.priority],
            "custom_fields": [{"id": self._settings.marker_field_id, "value": marker}],
        }
        if self._settings.tracker_id is not None:
            issue["tracker_id"] = self._settings.tracker_id
        try:
            response = self._http.request("POST", "/issues.json", json_body={"issue": issue}, allow=(422,))
        except (AuthError, TransientError):
            raise  # fatal, or ambiguous (the issue may exist): the engine keeps the intent open
        except PermanentError as exc:  # refused as a whole (404 project, 400): nothing was created
            return WriteResult(ref=marker, error=f"create refused: {exc}")
        body = json_body(response, "redmine", "issues.json")
        if response.status_code == 422:
            return WriteResult(ref=marker, error=f"redmine refused the issue: {errors_text(body)}")
        raw = body.get("issue") if isinstance(body, Mapping) else None
        if not isinstance(raw, Mapping):
            raise MalformedResponseError(
                f"redmine: POST issues.json answered without an issue: {body!r:.200}"
            )
        try:
            item = self._to_item(raw)
        except MappingError as exc:  # created, but the echo is odd: report what we know
            ident = raw.get("id")
            if not isinstance(ident, int):
                raise MalformedResponseError(f"redmine: created issue without an id: {exc}") from exc
            item = BacklogItem(
                system=SYSTEM,
                id=str(ident),
                key=str(ident),
                updated_at=server_time(response),
                url=f"{self._site}/issues/{ident}",
                title=trim_subject(draft.title),
                body=draft.body,
                priority=draft.priority,
                marker=marker,
            )
        if item.marker is None:
            # the custom field is not enabled for this project/tracker: Redmine drops the value silently
            item = item.model_copy(update={"marker": marker})
            log.warning(
                "redmine.marker_dropped", system=SYSTEM, key=item.key, field=self._settings.marker_field_id
            )
        return WriteResult(ref=marker, item=item)

    def _to_item(self, raw: Mapping[str, Any]) -> BacklogItem:
        s = self._settings
        return to_backlog_item(
            raw, self._site, s.marker_field_id, s.priority_ids, s.done_statuses, s.wont_do_statuses
        )

    def _map_issues(self, raws: Sequence[Any]) -> tuple[tuple[BacklogItem, ...], tuple[Reject, ...]]:
        items: list[BacklogItem] = []
        rejects: list[Reject] = []
        for raw in raws:
            try:
                if not isinstance(raw, Mapping):
                    raise MappingError(f"issue is not an object: {type(raw).__name__}")
                items.append(self._to_item(raw))
            except MappingError as exc:
                ident = str(raw.get("id") or "?") if isinstance(raw, Mapping) else "?"
                rejects.append(Reject(ident, str(exc), json.dumps(raw, default=str)[:4000]))
        return tuple(items), tuple(rejects)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


__all__ = ["RATE_LIMITS", "RedmineSettings", "RedmineTracker"]
