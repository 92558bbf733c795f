"""GitHub Issues as a tracker: create issues with a marker, update the parts we own, pull changes.

Endpoints (REST, API version 2022-11-28): `GET/POST /repos/{o}/{r}/issues`, `PATCH /repos/{o}/{r}/issues/{n}`,
`POST|DELETE /repos/{o}/{r}/issues/{n}/labels`, `GET /repos/{o}/{r}/milestones`.
https://docs.github.com/en/rest/issues/issues  https://docs.github.com/en/rest/issues/milestones
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError, TransientError
from adapters.github.records import (
    PRIORITY_PREFIX,
    SYSTEM,
    format_github_time,
    is_pull_request,
    label_names,
    next_link,
    priority_label,
    relative_to,
    render_body,
    to_backlog_item,
    to_milestone,
    trim_title,
    unique,
)
from adapters.http import HttpClient, RateLimit
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from mappings.errors import MappingError
from mappings.models import BacklogDraft, BacklogItem, Cursor, Milestone, WriteResult

# Primary: 5,000 requests/h for a PAT or an App installation (~1.4/s). Secondary: at most 80
# content-creating requests a minute and 500 an hour; creates are one POST each, so they get their
# own budget under that ceiling. https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType(
    {
        "default": RateLimit(rate=1.3, burst=10),
        "create": RateLimit(rate=0.13, burst=10),  # ~8/min sustained, ~470/h: under 80/min and 500/h
    }
)

log = structlog.get_logger("syncer.github")


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    owner: str
    repo: str
    site_url: str = "https://github.com"
    marker_prefix: str = "syncer-"  # the marker label is `{marker_prefix}{marker}`
    labels: tuple[str, ...] = ()  # added to every issue we create, besides the draft's labels
    page_size: int = 100  # per_page is capped at 100


class GitHubTracker:
    """TrackerSink + TrackerSource for one GitHub repository.

    Conditional pulls need the HttpClient built on `GitHubTransport` (see `syncer/systems/github.py`);
    without it every pull is a full read, which is still correct.
    """

    system = SYSTEM

    def __init__(self, http: HttpClient, settings: GitHubSettings) -> None:
        self._http, self._settings = http, settings
        self._repo_path = f"/repos/{quote(settings.owner, safe='')}/{quote(settings.repo, safe='')}"
        self._per_page = max(1, min(settings.page_size, 100))  # GitHub caps per_page at 100

    # -- TrackerSink ------------------------------------------------------------------------------
    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        """Issues carrying a marker label, by marker; one labelled list request per marker.

        The labelled issue list reads the database (unlike /search), so a just-created issue shows up.
        """
        found: dict[str, BacklogItem] = {}
        for marker in sorted(set(markers)):
            params = {"labels": self._label(marker), "state": "all", "per_page": self._per_page}
            for body in self._issue_pages(params):
                items, _ = self._map_issues(body)
                match = next((i for i in items if i.marker == marker), None)
                if match is not None:
                    found[marker] = match
                    break
        return found

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        """One POST per draft (GitHub has no bulk create), in order; ref = marker.

        A refused issue (422 and the like) becomes an error result; an ambiguous failure (timeout, 5xx)
        or an auth failure raises: the issue may exist, and the engine adopts it by marker next run.
        """
        results: list[WriteResult] = []
        for marker, draft in drafts:
            body = {
                "title": trim_title(draft.title),
                "body": render_body(draft.body, marker),
                "labels": list(self._labels(draft, marker)),
            }
            try:
                raw = self._http.post_json(f"{self._repo_path}/issues", body, bucket="create")
            except (AuthError, TransientError):
                raise
            except PermanentError as exc:
                results.append(WriteResult(ref=marker, error=f"create refused: {exc}"))
                continue
            results.append(WriteResult(ref=marker, item=self._to_item(raw, "POST issues")))
        return results

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        """Set the body and add labels; never title, state, milestone or assignees.

        `labels` on PATCH replaces the whole set (racing with people editing labels), so labels are
        added with POST .../labels, whose answer (all the issue's labels) also gives the marker to keep
        in the body, and a stale priority label is removed with DELETE. Then PATCH sends the body only.
        """
        path = f"{self._repo_path}/issues/{quote(key, safe='')}"
        wanted = self._labels(draft, None)
        have = label_names(self._http.post_json(f"{path}/labels", {"labels": list(wanted)}, idempotent=True))
        prefix = self._settings.marker_prefix
        marker = next((lb[len(prefix) :] for lb in have if lb.startswith(prefix)), None)
        for stale in [lb for lb in have if lb.startswith(PRIORITY_PREFIX) and lb not in wanted]:
            self._http.request("DELETE", f"{path}/labels/{quote(stale, safe='')}", allow=(404,))
        raw = self._http.patch_json(path, {"body": render_body(draft.body, marker)})
        return self._to_item(raw, "PATCH issue")

    # -- TrackerSource ----------------------------------------------------------------------------
    def iter_changed_items(self, since: Cursor) -> Iterator[Page[BacklogItem]]:
        """Issues (not pull requests) updated at or after the cursor's second, ascending by `updated_at`.

        GitHub sorts on a mutable field, so an issue edited mid-scan moves to the end: expect repeats
        (the engine dedupes). An unchanged first page answers 304: nothing changed, nothing yielded.
        """
        params = {
            "state": "all",
            "sort": "updated",
            "direction": "asc",
            "since": format_github_time(since.updated_at),
            "per_page": self._per_page,
        }
        seen: Cursor | None = None
        for body in self._issue_pages(params, conditional=True):
            items, rejects = self._map_issues(body)
            seen = max_cursor(items, seen)  # running max: a proposed cursor never steps back
            if items or rejects:
                yield Page(items, cursor=seen, rejects=rejects)

    def list_milestones(self) -> Sequence[Milestone]:
        """Every milestone, open and closed; `id` is the milestone number."""
        milestones: list[Milestone] = []
        params = {"state": "all", "per_page": self._per_page}
        for body in self._pages(f"{self._repo_path}/milestones", params):
            for raw in body:
                try:
                    if not isinstance(raw, Mapping):
                        raise MappingError(f"milestone is not an object: {type(raw).__name__}")
                    milestones.append(to_milestone(raw))
                except MappingError as exc:
                    ident = str(raw.get("number") or "?") if isinstance(raw, Mapping) else "?"
                    log.warning("milestone.skipped", system=SYSTEM, number=ident, reason=str(exc))
        return tuple(milestones)

    # -- internals --------------------------------------------------------------------------------
    def _issue_pages(self, params: Mapping[str, Any], conditional: bool = False) -> Iterator[list[Any]]:
        return self._pages(f"{self._repo_path}/issues", params, conditional)

    def _pages(self, path: str, params: Mapping[str, Any], conditional: bool = False) -> Iterator[list[Any]]:
        """Raw JSON arrays page by page, following `Link: rel="next"` until it is absent."""
        check = guard_tokens()
        allow = (304,) if conditional else ()
        while True:
            response = self._http.request("GET", path, params=params, allow=allow)
            if response.status_code == 304:  # If-None-Match matched: the first page did not change
                return
            body = _json(response, path)
            if not isinstance(body, list):
                raise MalformedResponseError(f"github: {path} answered without a JSON array: {body!r:.200}")
            yield body
            link = next_link(response.headers.get("link"))
            if not body or link is None:
                return
            check(link)
            try:
                path, params = relative_to(self._http.base_url, link)
            except MappingError as exc:
                raise MalformedResponseError(f"github: {exc}") from exc
            allow = ()

    def _map_issues(self, body: list[Any]) -> tuple[tuple[BacklogItem, ...], tuple[Reject, ...]]:
        items: list[BacklogItem] = []
        rejects: list[Reject] = []
        for raw in body:
            if isinstance(raw, Mapping) and is_pull_request(raw):
                continue
            try:
                if not isinstance(raw, Mapping):
                    raise MappingError(f"issue is not an object: {type(raw).__name__}")
                items.append(to_backlog_item(raw, self._settings.marker_prefix))
            except MappingError as exc:
                ident = str(raw.get("number") or raw.get("id") or "?") if isinstance(raw, Mapping) else "?"
                rejects.append(Reject(ident, str(exc), json.dumps(raw, default=str)[:4000]))
        return tuple(items), tuple(rejects)

    def _labels(self, draft: BacklogDraft, marker: str | None) -> tuple[str, ...]:
        extra = (self._label(marker),) if marker is not None else ()
        return unique((*self._settings.labels, *draft.labels, priority_label(draft.priority), *extra))

    def _label(self, marker: str) -> str:
        return f"{self._settings.marker_prefix}{marker}"

    def _to_item(self, raw: Any, what: str) -> BacklogItem:
        if not isinstance(raw, Mapping):
            raise MalformedResponseError(f"github: {what} answered {raw!r:.200}")
        try:
            return to_backlog_item(raw, self._settings.marker_prefix)
        except MappingError as exc:
            raise MalformedResponseError(f"github: {what}: {exc}") from exc


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponseError(f"github: {what}: body is not JSON") from exc
