"""Linear issues as a tracker: idempotent creates (client-supplied UUIDs), updates of what we own, pulls.

One endpoint, `POST /graphql`; every operation is named (`Syncer*`) so logs and the emulator can tell
them apart. https://developers.linear.app/docs/graphql/working-with-the-graphql-api
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError, TransientError
from adapters.http import HttpClient, RateLimit
from adapters.linear.records import (
    ISSUE_FIELDS,
    SYSTEM,
    error_text,
    format_linear_time,
    issue_id,
    to_backlog_item,
    to_linear_priority,
    to_milestone,
    trim_title,
)
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from mappings.errors import MappingError
from mappings.models import BacklogDraft, BacklogItem, Cursor, Milestone, WriteResult

# API keys: 1,500 requests/h and 250k complexity points/h in the older published numbers (newer
# copies cite more); stay under the lower one. Each query here is far below the 10,000-point cap.
# https://developers.linear.app/docs/graphql/working-with-the-graphql-api/rate-limiting
RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType({"default": RateLimit(rate=0.4, burst=10)})
PATH = "/graphql"
FIND_CHUNK = 50  # ids per `id: {in: [...]}` lookup; connections cost `first` x fields

log = structlog.get_logger("syncer.linear")

FIND_ISSUES = f"""query SyncerFindIssues($ids: [ID!], $first: Int!) {{
  issues(first: $first, includeArchived: true, filter: {{ id: {{ in: $ids }} }}) {{
    nodes {{ {ISSUE_FIELDS} }}
  }}
}}"""
CREATE_ISSUE = f"""mutation SyncerCreateIssue($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}"""
UPDATE_ISSUE = f"""mutation SyncerUpdateIssue($id: String!, $input: IssueUpdateInput!) {{
  issueUpdate(id: $id, input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}"""
CHANGED_ISSUES = f"""query SyncerChangedIssues(
  $teamId: ID!, $since: DateTimeOrDuration!, $first: Int!, $after: String
) {{
  issues(first: $first, after: $after, orderBy: updatedAt, includeArchived: true,
         filter: {{ team: {{ id: {{ eq: $teamId }} }}, updatedAt: {{ gte: $since }} }}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ISSUE_FIELDS} }}
  }}
}}"""
MILESTONES = """query SyncerMilestones($teamId: String!, $first: Int!, $after: String) {
  team(id: $teamId) {
    projects(first: $first, after: $after, includeArchived: true) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id name url updatedAt completedAt canceledAt archivedAt
        projectMilestones(first: 50) { nodes { id name description targetDate updatedAt } }
      }
    }
  }
}"""


@dataclass(frozen=True, slots=True)
class LinearSettings:
    team_id: str
    site_url: str = "https://linear.app"
    workspace: str = "acme"
    label_ids: tuple[str, ...] = ()  # label UUIDs added to every issue we create
    page_size: int = 100  # `first`; Linear's default is 50, keep well under the complexity cap


class LinearTracker:
    """TrackerSink + TrackerSource for one Linear team.

    The marker is not stored on the issue: the issue's own UUID is `uuid5(MARKER_NAMESPACE, marker)`,
    so finding by marker is a lookup by id, and a retried create cannot make a second issue.
    """

    system = SYSTEM

    def __init__(self, http: HttpClient, settings: LinearSettings) -> None:
        self._http, self._settings = http, settings
        self._first = max(1, min(settings.page_size, 250))

    # -- TrackerSink ------------------------------------------------------------------------------
    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        """Issues whose id derives from a marker (archived included), by marker; 50 ids per query."""
        by_id = {issue_id(m): m for m in sorted(set(markers))}
        found: dict[str, BacklogItem] = {}
        ids = list(by_id)
        for start in range(0, len(ids), FIND_CHUNK):
            chunk = ids[start : start + FIND_CHUNK]
            data = self._query(FIND_ISSUES, {"ids": chunk, "first": len(chunk)}, "SyncerFindIssues")
            for raw in _nodes(data, "issues"):
                marker = by_id.get(str(raw.get("id")))
                if marker is not None:
                    found[marker] = self._to_item(raw, "SyncerFindIssues", marker)
        return found

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        """One `issueCreate` per draft with the derived id, in order; ref = marker.

        Because the id is deterministic the request is safe to retry; a refusal (duplicate id on a
        retry, or a 200 carrying `errors[]`) is checked against the id: an existing issue is adopted.
        """
        results: list[WriteResult] = []
        for marker, draft in drafts:
            variables = {"input": self._create_input(marker, draft)}
            try:
                body = self._post(CREATE_ISSUE, variables)
            except (AuthError, TransientError):
                raise
            except PermanentError as exc:
                results.append(self._adopt_or_fail(marker, f"create refused: {exc}"))
                continue
            payload = _payload(body, "issueCreate")
            if payload is None or not payload.get("success") or not isinstance(payload.get("issue"), Mapping):
                results.append(self._adopt_or_fail(marker, f"create refused: {error_text(body)}"))
                continue
            results.append(
                WriteResult(ref=marker, item=self._to_item(payload["issue"], "issueCreate", marker))
            )
        return results

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        """Set description and priority; never title, state, assignee, project or milestone."""
        variables = {
            "id": key,
            "input": {"description": draft.body, "priority": to_linear_priority(draft.priority)},
        }
        body = self._post(UPDATE_ISSUE, variables)
        payload = _payload(body, "issueUpdate")
        if payload is None or not payload.get("success") or not isinstance(payload.get("issue"), Mapping):
            raise PermanentError(f"linear: issueUpdate {key} refused: {error_text(body)}")
        return self._to_item(payload["issue"], "issueUpdate")

    # -- TrackerSource ----------------------------------------------------------------------------
    def iter_changed_items(self, since: Cursor) -> Iterator[Page[BacklogItem]]:
        """Team issues (archived included) with `updatedAt >= since`, page by page.

        Which way `orderBy: updatedAt` sorts is not documented, so pages are not trusted to be
        ascending: only the last page proposes a cursor (the max seen over the whole pull).
        """
        check = guard_tokens()
        after: str | None = None
        seen: Cursor | None = None
        while True:
            variables = {
                "teamId": self._settings.team_id,
                "since": format_linear_time(since.updated_at),
                "first": self._first,
                "after": after,
            }
            data = self._query(CHANGED_ISSUES, variables, "SyncerChangedIssues")
            items, rejects = self._map_issues(_nodes(data, "issues"))
            seen = max_cursor(items, seen)
            info = _page_info(data, "issues")
            token = info.get("endCursor")
            more = bool(info.get("hasNextPage")) and bool(items or rejects) and isinstance(token, str)
            if items or rejects or not more:
                yield Page(items, cursor=None if more else seen, rejects=rejects)
            if not more:
                return
            check(token)
            after = str(token)

    def list_milestones(self) -> Sequence[Milestone]:
        """Project milestones of every project of the team (archived projects included)."""
        milestones: list[Milestone] = []
        check = guard_tokens()
        after: str | None = None
        while True:
            variables = {"teamId": self._settings.team_id, "first": min(self._first, 50), "after": after}
            data = self._query(MILESTONES, variables, "SyncerMilestones")
            team = data.get("team")
            if not isinstance(team, Mapping):
                raise MalformedResponseError(f"linear: team {self._settings.team_id} not in the answer")
            for project in _nodes(team, "projects"):
                for raw in _nodes(project, "projectMilestones"):
                    try:
                        milestones.append(to_milestone(raw, project))
                    except MappingError as exc:
                        log.warning(
                            "milestone.skipped", system=SYSTEM, id=str(raw.get("id")), reason=str(exc)
                        )
            info = _page_info(team, "projects")
            token = info.get("endCursor")
            if not info.get("hasNextPage") or not isinstance(token, str):
                return tuple(milestones)
            check(token)
            after = token

    # -- internals --------------------------------------------------------------------------------
    def _create_input(self, marker: str, draft: BacklogDraft) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": issue_id(marker),
            "teamId": self._settings.team_id,
            "title": trim_title(draft.title),
            "description": draft.body,
            "priority": to_linear_priority(draft.priority),
        }
        if self._settings.label_ids:
            data["labelIds"] = list(self._settings.label_ids)
        return data

    def _adopt_or_fail(self, marker: str, error: str) -> WriteResult:
        existing = self.find_by_markers([marker]).get(marker)
        if existing is not None:
            log.info("item.adopted", system=SYSTEM, marker=marker, key=existing.key)
            return WriteResult(ref=marker, item=existing)
        return WriteResult(ref=marker, error=error)

    def _post(self, query: str, variables: Mapping[str, Any]) -> Any:
        # every operation here is a read or an idempotent write (ids are client-chosen): safe to retry
        return self._http.post_json(PATH, {"query": query, "variables": dict(variables)}, idempotent=True)

    def _query(self, query: str, variables: Mapping[str, Any], what: str) -> Mapping[str, Any]:
        """A read: `data` or an error. A partial answer (`errors[]` next to `data`) of a read is refused."""
        body = self._post(query, variables)
        data = body.get("data") if isinstance(body, Mapping) else None
        if isinstance(body, Mapping) and body.get("errors"):
            raise PermanentError(f"linear: {what}: {error_text(body)}")
        if not isinstance(data, Mapping):
            raise MalformedResponseError(f"linear: {what} answered without data: {body!r:.200}")
        return data

    def _map_issues(self, nodes: Sequence[Any]) -> tuple[tuple[BacklogItem, ...], tuple[Reject, ...]]:
        items: list[BacklogItem] = []
        rejects: list[Reject] = []
        for raw in nodes:
            try:
                items.append(to_backlog_item(raw))
            except MappingError as exc:
                rejects.append(
                    Reject(str(raw.get("id") or "?"), str(exc), json.dumps(raw, default=str)[:4000])
                )
        return tuple(items), tuple(rejects)

    def _to_item(self, raw: Any, what: str, marker: str | None = None) -> BacklogItem:
        if not isinstance(raw, Mapping):
            raise MalformedResponseError(f"linear: {what} answered {raw!r:.200}")
        try:
            return to_backlog_item(raw, marker)
        except MappingError as exc:
            raise MalformedResponseError(f"linear: {what}: {exc}") from exc


def _payload(body: Any, field: str) -> Mapping[str, Any] | None:
    data = body.get("data") if isinstance(body, Mapping) else None
    payload = data.get(field) if isinstance(data, Mapping) else None
    return payload if isinstance(payload, Mapping) else None


def _connection(parent: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    conn = parent.get(field)
    if not isinstance(conn, Mapping) or not isinstance(conn.get("nodes"), list):
        raise MalformedResponseError(f"linear: `{field}` is not a connection: {conn!r:.200}")
    return conn


def _nodes(parent: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    return [n for n in _connection(parent, field)["nodes"] if isinstance(n, Mapping)]


def _page_info(parent: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    info = _connection(parent, field).get("pageInfo")
    return info if isinstance(info, Mapping) else {}
