"""Jira Cloud as a tracker: bulk-create issues with a marker, update the fields we own, pull changes.

Endpoints (REST v3): `POST /rest/api/3/issue/bulk`, `PUT /rest/api/3/issue/{key}`,
`GET /rest/api/3/search/jql` (enhanced search, `nextPageToken` paging, eventually consistent),
`GET /rest/api/3/project/{key}/versions` (versions = milestones, all in one answer; or the paged
`/version` when `version_page_size` is set).
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-project-versions/
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError, TransientError
from adapters.http import HttpClient, RateLimit, json_body, server_time
from adapters.jira.records import (
    DEFAULT_PRIORITY_NAMES,
    SYSTEM,
    adf_from_text,
    element_error_text,
    sanitise_label,
    sanitise_labels,
    to_backlog_item,
    to_milestone,
    trim_summary,
)
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from mappings.errors import MappingError
from mappings.models import BacklogDraft, BacklogItem, Cursor, Milestone, Priority, WriteResult

# API-token traffic is subject to Jira's burst limits (per tenant, endpoint and method); they are not
# published as numbers, so stay well under what sites report and let 429 + Retry-After do the rest.
# A bucket allows `burst + rate * t` requests in any t seconds: burst 1 + 9/s keeps to 10 in any second
# (burst 10 + 10/s let 20 through in the first second, and a 10/s site answered 429).
RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType({"default": RateLimit(rate=9.0, burst=1)})

BULK_LIMIT = 50  # POST /issue/bulk takes at most 50 issueUpdates
JQL_IN_LIMIT = 50  # markers per `labels in (...)` query, to keep the JQL short
# no `description`: the engine renders bodies and never reads one back (items found by search carry an
# empty body), and a description runs to 32,767 characters — at 100k tickets the changed-items search
# of 80 items answered megabytes of them, for nothing (issue 9: bandwidth and peak memory)
SEARCH_FIELDS = (
    "summary",
    "labels",
    "status",
    "priority",
    "updated",
    "fixVersions",
    "resolution",
)
_API = "/rest/api/3"

log = structlog.get_logger("syncer.jira")


@dataclass(frozen=True, slots=True)
class JiraSettings:
    project_key: str
    site_url: str = ""
    issue_type: str = "Story"
    priority_names: Mapping[Priority, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_NAMES))
    accounts_field: str | None = None
    arr_field: str | None = None
    open_deals_field: str | None = None  # e.g. "customfield_10052": open deal value of the requesters
    marker_label_prefix: str = "syncer-"
    marker_property: str = "syncer.marker"
    jql_time_zone: str = "UTC"
    page_size: int = 100
    # None: `GET /project/{key}/versions`, every version in one request (documented as not paginated),
    # so a quiet run costs one request for them however many there are; a number: the paged
    # `GET /project/{key}/version` with that many per page (Jira's default is 50)
    version_page_size: int | None = None


class JiraTracker:
    """TrackerSink + TrackerSource for one Jira Cloud project."""

    system = SYSTEM

    def __init__(self, http: HttpClient, settings: JiraSettings) -> None:
        self._http, self._settings = http, settings
        # browse links need the site; fall back to the client's base URL (the same host for API tokens)
        self._site = (settings.site_url or http.base_url).rstrip("/")
        self._zone = ZoneInfo(settings.jql_time_zone)

    # -- TrackerSink ------------------------------------------------------------------------------
    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        """Items carrying one of the markers' labels, by marker. Search lags writes (eventual consistency)."""
        requested = {self._label(m): m for m in markers}
        wanted = sorted(requested)
        found: dict[str, BacklogItem] = {}
        for start in range(0, len(wanted), JQL_IN_LIMIT):
            chunk = ", ".join(_jql_string(label) for label in wanted[start : start + JQL_IN_LIMIT])
            jql = f"project = {_jql_string(self._settings.project_key)} AND labels in ({chunk})"
            for body in self._search(jql):
                items, _ = self._map_issues(body)
                for item in items:
                    label = self._label(item.marker or "")
                    if item.marker and label in requested:
                        found[requested[label]] = item
        return found

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        """Bulk-create in chunks of 50; one WriteResult per draft, in input order, ref = marker."""
        results: list[WriteResult] = []
        for start in range(0, len(drafts), BULK_LIMIT):
            results.extend(self._create_chunk(drafts[start : start + BULK_LIMIT]))
        return results

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        """Update description, priority and our custom fields; add labels. Never summary/status/versions."""
        fields: dict[str, Any] = {
            "description": adf_from_text(draft.body),
            "priority": {"name": self._settings.priority_names[draft.priority]},
            **self._custom_fields(draft),
        }
        labels = sanitise_labels(draft.labels)
        body: dict[str, Any] = {"fields": fields}
        if labels:
            body["update"] = {"labels": [{"add": label} for label in labels]}
        response = self._http.request("PUT", f"{_API}/issue/{key}", json_body=body)
        return self._item(key, draft, labels, None, server_time(response))

    # -- TrackerSource ----------------------------------------------------------------------------
    def iter_changed_items(self, since: Cursor) -> Iterator[Page[BacklogItem]]:
        """Issues updated at or after the cursor's minute, ascending by (updated, key), page by page.

        JQL reads datetimes at minute resolution in the integration user's zone, so the bound is
        floored to the minute in `jql_time_zone`; the engine's overlap window and dedupe absorb repeats.
        """
        floor = since.updated_at.astimezone(self._zone).strftime("%Y/%m/%d %H:%M")
        jql = (
            f'project = {_jql_string(self._settings.project_key)} AND updated >= "{floor}"'
            " ORDER BY updated ASC, key ASC"
        )
        seen: Cursor | None = None
        for body in self._search(jql):
            items, rejects = self._map_issues(body)
            # the running max over the whole pull, so a proposed cursor never steps backwards
            seen = max_cursor(items, seen)
            if items or rejects:
                yield Page(items, cursor=seen, rejects=rejects)

    def list_milestones(self) -> Sequence[Milestone]:
        """Every version of the project (archived included) in Jira's order; unmappable ones are skipped.

        Versions have no modified time, so each one's `updated_at` is the server time of its page.
        """
        key = self._settings.project_key
        milestones: list[Milestone] = []
        for values, seen_at in self._version_pages():
            for raw in values:
                try:
                    if not isinstance(raw, Mapping):
                        raise MappingError(f"version is not an object: {type(raw).__name__}")
                    milestones.append(to_milestone(raw, self._site, key, seen_at))
                except MappingError as exc:
                    ident = str(raw.get("id") or "?") if isinstance(raw, Mapping) else "?"
                    log.warning("milestone.skipped", system=SYSTEM, version_id=ident, reason=str(exc))
        return tuple(milestones)

    # -- internals --------------------------------------------------------------------------------
    def _version_pages(self) -> Iterator[tuple[list[Any], datetime]]:
        """Raw `values` of each PageBeanVersion with its `Date`; ends on `isLast` (or `total`, or empty).
        Without a page size: the unpaged list, as one page."""
        size = self._settings.version_page_size
        if size is None:
            response = self._http.request("GET", f"{_API}/project/{self._settings.project_key}/versions")
            body = json_body(response, "jira", "project/versions")
            if not isinstance(body, list):
                raise MalformedResponseError(f"jira: project/versions answered without a list: {body!r:.200}")
            yield body, server_time(response)
            return
        check = guard_tokens()
        path = f"{_API}/project/{self._settings.project_key}/version"
        start = 0
        while True:
            params = {"startAt": start, "maxResults": size}
            response = self._http.request("GET", path, params=params)
            body = json_body(response, "jira", "project/version")
            values = body.get("values") if isinstance(body, Mapping) else None
            if not isinstance(body, Mapping) or not isinstance(values, list):
                raise MalformedResponseError(
                    f"jira: project/version answered without a values list: {body!r:.200}"
                )
            yield values, server_time(response)
            # the server's own startAt, so a server stuck on one page trips the loop guard
            at = body.get("startAt")
            start = (at if isinstance(at, int) and not isinstance(at, bool) else start) + len(values)
            last = body.get("isLast")
            total = body.get("total")
            if last is True or not values or (last is None and isinstance(total, int) and start >= total):
                return
            check(start)

    def _search(self, jql: str) -> Iterator[Mapping[str, Any]]:
        """Raw enhanced-search pages; the last page omits `nextPageToken` (JRACLOUD-92184)."""
        check = guard_tokens()
        params: dict[str, Any] = {
            "jql": jql,
            "maxResults": self._settings.page_size,
            "fields": ",".join(SEARCH_FIELDS),
        }
        while True:
            body = self._http.get_json(f"{_API}/search/jql", params=params)
            if not isinstance(body, Mapping) or not isinstance(body.get("issues"), list):
                raise MalformedResponseError(
                    f"jira: search/jql answered without an issues list: {body!r:.200}"
                )
            yield body
            token = body.get("nextPageToken")
            if body.get("isLast") is True or not token:
                return
            check(token)
            params = {**params, "nextPageToken": token}

    def _map_issues(self, body: Mapping[str, Any]) -> tuple[tuple[BacklogItem, ...], tuple[Reject, ...]]:
        items: list[BacklogItem] = []
        rejects: list[Reject] = []
        for raw in body["issues"]:
            try:
                if not isinstance(raw, Mapping):
                    raise MappingError(f"issue is not an object: {type(raw).__name__}")
                items.append(
                    to_backlog_item(
                        raw, self._site, self._settings.marker_label_prefix, self._settings.priority_names
                    )
                )
            except MappingError as exc:
                ident = str(raw.get("key") or raw.get("id") or "?") if isinstance(raw, Mapping) else "?"
                rejects.append(Reject(ident, str(exc), json.dumps(raw, default=str)[:4000]))
        return tuple(items), tuple(rejects)

    def _create_chunk(self, chunk: Sequence[tuple[str, BacklogDraft]]) -> list[WriteResult]:
        body = {"issueUpdates": [self._issue_update(marker, draft) for marker, draft in chunk]}
        try:
            # 201 when at least one issue was created; 400 (same body shape) when all were rejected
            response = self._http.request("POST", f"{_API}/issue/bulk", json_body=body, allow=(400,))
        except (AuthError, TransientError):
            # ambiguous (timeout, 5xx: the issues may exist) or fatal: the engine keeps its intents open
            # and adopts by marker next run, so never report these as definite refusals
            raise
        except PermanentError as exc:  # the request as a whole was refused: nothing was created
            return [WriteResult(ref=marker, error=f"bulk create refused: {exc}") for marker, _ in chunk]
        created, failed = _bulk_outcome(response, len(chunk))
        stamp = server_time(response)
        results: list[WriteResult] = []
        successes = iter(created)
        for index, (marker, draft) in enumerate(chunk):
            if index in failed:
                results.append(WriteResult(ref=marker, error=failed[index]))
                continue
            issue = next(successes, None)
            if issue is None:
                results.append(
                    WriteResult(ref=marker, error="bulk create returned no issue for this element")
                )
                continue
            labels = (*sanitise_labels(draft.labels), self._label(marker))
            item = self._item(str(issue["key"]), draft, sanitise_labels(labels), marker, stamp)
            results.append(WriteResult(ref=marker, item=item))
        return results

    def _issue_update(self, marker: str, draft: BacklogDraft) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "project": {"key": self._settings.project_key},
            "summary": trim_summary(draft.title),
            "description": adf_from_text(draft.body),
            "issuetype": {"name": self._settings.issue_type},
            "labels": list(sanitise_labels((*draft.labels, self._label(marker)))),
            "priority": {"name": self._settings.priority_names[draft.priority]},
            **self._custom_fields(draft),
        }
        return {
            "fields": fields,
            "properties": [{"key": self._settings.marker_property, "value": {"marker": marker}}],
        }

    def _custom_fields(self, draft: BacklogDraft) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self._settings.accounts_field:
            fields[self._settings.accounts_field] = draft.account_count
        if self._settings.arr_field:
            fields[self._settings.arr_field] = round(draft.total_arr, 2)
        if self._settings.open_deals_field:
            fields[self._settings.open_deals_field] = round(draft.open_deal_value, 2)
        return fields

    def _label(self, marker: str) -> str:
        return sanitise_label(self._settings.marker_label_prefix + marker)

    def _item(
        self, key: str, draft: BacklogDraft, labels: tuple[str, ...], marker: str | None, stamp: datetime
    ) -> BacklogItem:
        return BacklogItem(
            system=SYSTEM,
            id=key,
            key=key,
            updated_at=stamp,
            url=f"{self._site}/browse/{key}",
            title=trim_summary(draft.title),
            body=draft.body,
            labels=labels,
            priority=draft.priority,
            marker=marker,
        )


def _jql_string(value: str) -> str:
    """A JQL string literal; quoting sidesteps JQL's reserved words and characters."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bulk_outcome(response: httpx.Response, size: int) -> tuple[list[Mapping[str, Any]], dict[int, str]]:
    """(created issues in order, {element index: error text}) from a CreatedIssues body."""
    body = json_body(response, "jira", "issue/bulk")
    if not isinstance(body, Mapping):
        raise MalformedResponseError(f"jira: issue/bulk answered with {type(body).__name__}")
    failed: dict[int, str] = {}
    for error in body.get("errors") or ():
        index = error.get("failedElementNumber") if isinstance(error, Mapping) else None
        if isinstance(index, int) and 0 <= index < size:
            failed[index] = element_error_text(error.get("elementErrors"))
    created = [issue for issue in body.get("issues") or () if isinstance(issue, Mapping) and issue.get("key")]
    if response.status_code == 400 and not failed:
        # a 400 that is not a per-element report (e.g. a malformed request): the whole call was refused
        raise PermanentError(f"jira: issue/bulk refused: {element_error_text(body)}", 400)
    return created, failed
