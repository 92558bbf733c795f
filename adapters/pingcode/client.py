"""PingCode as a tracker: create 需求 work items carrying a marker property, update what we own, pull changes.

Endpoints (open API, JSON, Bearer enterprise token; api-notes §7):
`GET /v1/auth/token?grant_type=client_credentials&client_id&client_secret` (token, 30 days),
`GET /v1/project/work_items?project_ids=&updated_between=&page_index&page_size` (0-based pages, ≤ 100),
`POST /v1/project/work_items` (one item; no documented bulk create), `PATCH /v1/project/work_items/{id}`,
`GET /v1/project/projects/{pid}/versions` (发布). 200 requests/minute per identity; 429 +
`x-pc-retry-after` (seconds) + body code 100038.

Idempotency: nothing documented and `keywords` searches only identifier and title, so our marker lives
in a custom property (`properties.{marker_property}`) and `find_by_markers` lists the project's work
items updated within `marker_lookback` and matches the property locally.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Any

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError, TransientError
from adapters.http import HttpClient, RateLimit, json_body, server_time
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from adapters.pingcode.records import (
    CHINA,
    DEFAULT_DONE_STATE_TYPES,
    DEFAULT_PRIORITY_IDS,
    DEFAULT_WONT_DO_STATE_TYPES,
    SYSTEM,
    error_text,
    text_to_html,
    to_backlog_item,
    to_milestone,
    trim_title,
    unix,
)
from mappings.errors import MappingError
from mappings.models import BacklogDraft, BacklogItem, Cursor, Milestone, Priority, WriteResult

# 200 requests/minute per caller identity: stay under it at 3/s (180/min), bursts of 3.
RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType({"default": RateLimit(rate=3.0, burst=3)})
RETRY_AFTER_HEADERS = ("x-pc-retry-after", "Retry-After")

MAX_PAGE_SIZE = 100
WORK_ITEMS = "/v1/project/work_items"
TOKEN_PATH = "/v1/auth/token"  # noqa: S105 - a path, not a secret
_ABSOLUTE_EPOCH = 1_000_000_000  # an `expires_in` this large is a unix time, not a duration

log = structlog.get_logger("syncer.pingcode")


@dataclass(frozen=True, slots=True)
class PingCodeToken:
    access_token: str
    expires_at: datetime | None  # None: the answer did not say


def expiry_of(expires_in: Any, now: float) -> datetime | None:
    """`expires_in` as a duration in seconds or (as in the docs' example) an absolute unix time."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        return None
    seconds = float(expires_in)
    if seconds >= _ABSOLUTE_EPOCH:
        if seconds > 10_000_000_000:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    return datetime.fromtimestamp(now + seconds, UTC)


def fetch_token(
    http: HttpClient, client_id: str, client_secret: str, clock: Callable[[], float] = time.time
) -> PingCodeToken:
    """Exchange client credentials for an enterprise token (logged URLs have the secret redacted)."""
    body = http.get_json(
        TOKEN_PATH,
        params={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    token = body.get("access_token") if isinstance(body, Mapping) else None
    if not isinstance(token, str) or not token:
        raise AuthError(f"pingcode: the token endpoint answered without an access_token ({error_text(body)})")
    expires_at = expiry_of(body.get("expires_in"), clock())
    log.info("pingcode.token", expires_at=expires_at.isoformat() if expires_at else None)
    return PingCodeToken(token, expires_at)


@dataclass(frozen=True, slots=True)
class PingCodeSettings:
    project_id: str
    type_id: str  # the work item type for 需求 (requirement) in this project
    marker_property: str = "syncer_marker"  # custom property (text) holding our marker
    priority_ids: Mapping[Priority, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_IDS))
    done_state_types: frozenset[str] = DEFAULT_DONE_STATE_TYPES  # lower-case state types/names -> DONE
    wont_do_state_types: frozenset[str] = DEFAULT_WONT_DO_STATE_TYPES  # -> WONT_DO
    page_size: int = MAX_PAGE_SIZE
    site_url: str = ""  # the web app, e.g. https://acme.pingcode.com (links)
    marker_lookback: timedelta = timedelta(days=14)  # find_by_markers scans items updated this recently
    zone: tzinfo = CHINA  # release dates (end_at) are read as calendar days in this zone


class PingCodeTracker:
    """TrackerSink + TrackerSource for one PingCode project."""

    system = SYSTEM

    def __init__(
        self, http: HttpClient, settings: PingCodeSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self._http, self._settings, self._clock = http, settings, clock
        self._site = (settings.site_url or http.base_url).rstrip("/")
        self._size = max(1, min(settings.page_size, MAX_PAGE_SIZE))

    # -- TrackerSink ------------------------------------------------------------------------------
    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        """List the project's items updated within `marker_lookback` and match the marker property locally.

        PingCode cannot filter on a custom property (`keywords` searches identifier and title only), so
        this costs one listing (⌈n/100⌉ requests) however many markers are asked for.
        """
        wanted = set(markers)
        found: dict[str, BacklogItem] = {}
        if not wanted:
            return found
        since = int(self._clock() - self._settings.marker_lookback.total_seconds())
        for raws, _ in self._pages({"updated_between": f"{since},"}):
            items, _rejects = self._map_items(raws)
            for item in items:
                if item.marker in wanted and item.marker not in found:
                    found[item.marker] = item
            if len(found) == len(wanted):
                break
        return found

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        """One `POST /v1/project/work_items` per draft (no documented bulk create); results in input order.

        A timeout or 5xx raises: the item may exist, and the engine adopts it by marker next run.
        """
        return [self._create_one(marker, draft) for marker, draft in drafts]

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        """PATCH description and priority only (never title, state, assignee or version)."""
        body = {
            "description": text_to_html(draft.body),
            "priority_id": self._settings.priority_ids[draft.priority],
        }
        raw = self._http.patch_json(f"{WORK_ITEMS}/{key}", body)
        if not isinstance(raw, Mapping) or "id" not in raw:
            raw = self._http.get_json(f"{WORK_ITEMS}/{key}")
        if not isinstance(raw, Mapping):
            raise MalformedResponseError(f"pingcode: work_items/{key} answered without an item: {raw!r:.200}")
        return self._to_item(raw)

    # -- TrackerSource ----------------------------------------------------------------------------
    def iter_changed_items(self, since: Cursor) -> Iterator[Page[BacklogItem]]:
        """Work items with `updated_at >= since` (whole seconds), page by page (`page_index` 0-based).

        The list order is not documented, so the cursor (max `(updated_at, id)` seen) is proposed only
        on the last page: a crash mid-pull re-reads from the old cursor rather than skipping. The lower
        bound is one second early (inclusiveness is unverified); rows repeated across shifting pages are
        dropped. No upper bound: items updated mid-pull stay in the result set, so pages do not shift.
        """
        floor = unix(since.updated_at) - 1
        seen: set[tuple[str, datetime]] = set()
        cursor: Cursor | None = None
        pending: Page[BacklogItem] | None = None
        first = True
        for raws, total in self._pages({"updated_between": f"{max(floor, 0)},"}):
            items, rejects = self._map_items(raws)
            fresh = tuple(i for i in items if (i.id, i.updated_at) not in seen)
            seen.update((i.id, i.updated_at) for i in fresh)
            cursor = max_cursor(fresh, cursor)
            if pending is not None:
                yield pending
            pending = Page(fresh, cursor=None, rejects=rejects, total=total if first else None)
            first = False
        if pending is not None and (pending.items or pending.rejects or cursor is not None):
            yield Page(pending.items, cursor=cursor, rejects=pending.rejects, total=pending.total)

    def list_milestones(self) -> Sequence[Milestone]:
        """Every version (发布) of the project, all statuses; `published` = released, `end_at` = due."""
        path = f"/v1/project/projects/{self._settings.project_id}/versions"
        milestones: list[Milestone] = []
        check = guard_tokens()
        index = 0
        while True:
            response = self._http.request("GET", path, params={"page_index": index, "page_size": self._size})
            body = json_body(response, SYSTEM, "versions")
            values = body.get("values") if isinstance(body, Mapping) else None
            if not isinstance(values, list):
                raise MalformedResponseError(f"pingcode: versions answered without values: {body!r:.200}")
            seen_at = server_time(response)
            for raw in values:
                try:
                    if not isinstance(raw, Mapping):
                        raise MappingError(f"version is not an object: {type(raw).__name__}")
                    milestones.append(to_milestone(raw, self._site, seen_at, self._settings.zone))
                except MappingError as exc:
                    ident = str(raw.get("id") or "?") if isinstance(raw, Mapping) else "?"
                    log.warning("milestone.skipped", system=SYSTEM, version_id=ident, reason=str(exc))
            total = body.get("total")
            index += 1
            if len(values) < self._size or (isinstance(total, int) and index * self._size >= total):
                return tuple(milestones)
            check(index)

    # -- internals --------------------------------------------------------------------------------
    def _pages(self, filters: Mapping[str, Any]) -> Iterator[tuple[list[Any], int | None]]:
        """Raw `values` of the project's work items, page by page (0-based `page_index`), with `total`."""
        check = guard_tokens()
        index = 0
        while True:
            params = {
                "project_ids": self._settings.project_id,
                **filters,
                "page_index": index,
                "page_size": self._size,
            }
            body = self._http.get_json(WORK_ITEMS, params=params)
            values = body.get("values") if isinstance(body, Mapping) else None
            if not isinstance(values, list):
                raise MalformedResponseError(f"pingcode: work_items answered without values: {body!r:.200}")
            total = body.get("total")
            total = total if isinstance(total, int) and not isinstance(total, bool) else None
            yield values, total
            index += 1
            if len(values) < self._size or (total is not None and index * self._size >= total):
                return
            check(index)

    def _create_one(self, marker: str, draft: BacklogDraft) -> WriteResult:
        s = self._settings
        body: dict[str, Any] = {
            "project_id": s.project_id,
            "type_id": s.type_id,
            "title": trim_title(draft.title),
            "description": text_to_html(draft.body),
            "priority_id": s.priority_ids[draft.priority],
            "properties": {s.marker_property: marker},
        }
        try:
            response = self._http.request("POST", WORK_ITEMS, json_body=body, allow=(400, 422))
        except (AuthError, TransientError):
            raise  # fatal, or ambiguous (the item may exist): the engine keeps the intent open
        except PermanentError as exc:  # refused as a whole (404 project, 409): nothing was created
            return WriteResult(ref=marker, error=f"create refused: {exc}")
        raw = json_body(response, SYSTEM, "work_items")
        if response.status_code in (400, 422):
            return WriteResult(ref=marker, error=f"pingcode refused the work item: {error_text(raw)}")
        if not isinstance(raw, Mapping):
            raise MalformedResponseError(f"pingcode: create answered without an item: {raw!r:.200}")
        try:
            item = self._to_item(raw)
        except MappingError as exc:
            raise MalformedResponseError(f"pingcode: created item is unreadable: {exc}") from exc
        return WriteResult(ref=marker, remote_id=item.id, item=item)

    def _to_item(self, raw: Mapping[str, Any]) -> BacklogItem:
        s = self._settings
        return to_backlog_item(
            raw, self._site, s.marker_property, s.priority_ids, s.done_state_types, s.wont_do_state_types
        )

    def _map_items(self, raws: Sequence[Any]) -> tuple[tuple[BacklogItem, ...], tuple[Reject, ...]]:
        items: list[BacklogItem] = []
        rejects: list[Reject] = []
        for raw in raws:
            try:
                if not isinstance(raw, Mapping):
                    raise MappingError(f"work item is not an object: {type(raw).__name__}")
                items.append(self._to_item(raw))
            except MappingError as exc:
                ident = str(raw.get("id") or "?") if isinstance(raw, Mapping) else "?"
                rejects.append(Reject(ident, str(exc), json.dumps(raw, default=str)[:4000]))
        return tuple(items), tuple(rejects)


__all__ = [
    "MAX_PAGE_SIZE",
    "RATE_LIMITS",
    "RETRY_AFTER_HEADERS",
    "PingCodeSettings",
    "PingCodeToken",
    "PingCodeTracker",
    "expiry_of",
    "fetch_token",
]
