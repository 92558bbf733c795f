"""A Linear GraphQL emulator: `POST /graphql` answering exactly the operations `LinearTracker` sends.

Not a GraphQL engine: it dispatches on the operation name (`query SyncerFindIssues ...`) and reads the
variables. Faithful where it matters for sync: `Authorization: <api key>` (no Bearer) with 401
`AUTHENTICATION_ERROR`, client-supplied issue ids, `includeArchived`, `updatedAt >= since`, Relay paging
(`first` <= 250, `after` = an opaque end cursor, `pageInfo`), partial answers (`data` plus `errors[]`),
throttling as HTTP 400 with `extensions.code == "RATELIMITED"` and `X-RateLimit-Requests-*` headers
(reset in epoch ms). https://developers.linear.app/docs/graphql/working-with-the-graphql-api
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, emulator_app
from adapters.linear.emulator_store import (
    EmuIssue,
    EmuMilestone,
    EmuProject,
    gql_error,
    issue_json,
    project_json,
)

Handler = Callable[[dict[str, Any]], tuple[dict[str, Any], int]]
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")
MAX_FIRST = 250
_SITE = "https://linear.app"


class LinearEmulator:
    """One workspace with one team; state lives in memory, guarded by a lock."""

    def __init__(
        self,
        *,
        api_key: str = "demo-token",
        team_id: str = "team-eng",
        team_key: str = "ENG",
        workspace: str = "acme",
        clock: Callable[[], float] = time.time,
        rate_limit: int = 1500,
    ) -> None:
        self.team_id, self.team_key, self.clock = team_id, team_key, clock
        self._api_key, self._site = api_key, f"{_SITE}/{workspace}"
        self.log, self.faults = RequestLog(), Faults()
        self.rate_limit = rate_limit
        self._used, self._window_start = 0, clock()
        self._throttle = 0
        self._refuse: list[str] = []  # titles whose next issueCreate answers 200 with errors[]
        self._lock = threading.Lock()
        self._issues: dict[str, EmuIssue] = {}
        self._projects: dict[str, EmuProject] = {}
        self._milestones: dict[str, EmuMilestone] = {}
        self._next_number = 1
        self._handlers: dict[str, Handler] = {
            "SyncerFindIssues": self._find_issues,
            "SyncerCreateIssue": self._create_issue,
            "SyncerUpdateIssue": self._update_issue,
            "SyncerChangedIssues": self._changed_issues,
            "SyncerMilestones": self._list_milestones,
        }
        self.app: Starlette = emulator_app(
            "linear", [Route("/graphql", self._endpoint, methods=["POST"])], self.log, self.faults, clock
        )

    # -- test helpers -----------------------------------------------------------------------------
    def seed_demo(self, seed: int = 7) -> None:
        """Project milestones "2.4" (due in two to three weeks) and "2.5" (no date), one project each."""
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        self.add_milestone("2.4", due=today + timedelta(days=14 + seed % 7))
        self.add_milestone("2.5")

    def add_milestone(self, name: str, due: date | None = None, project: str | None = None) -> str:
        """A project milestone, in a new project named `project` (default "Release {name}")."""
        with self._lock:
            now = self.clock()
            pname = project or f"Release {name}"
            proj = next((p for p in self._projects.values() if p.name == pname), None)
            if proj is None:
                proj = EmuProject(str(uuid.uuid4()), pname, now)
                self._projects[proj.id] = proj
            ms = EmuMilestone(str(uuid.uuid4()), name, proj.id, now, target=due)
            self._milestones[ms.id] = ms
            return ms.id

    def issues(self) -> list[dict[str, Any]]:
        """Every issue as the API renders it, by number."""
        with self._lock:
            return [issue_json(i, self._milestones, self._site) for i in self._sorted()]

    def issue(self, key: str) -> dict[str, Any]:
        with self._lock:
            return issue_json(self._issue(key), self._milestones, self._site)

    def items_view(self) -> list[dict[str, Any]]:
        """Issues as `{key, title, body, priority, state}` for generic matrix tests."""
        with self._lock:
            return [
                {
                    "key": i.identifier,
                    "title": i.title,
                    "body": i.description,
                    "priority": i.priority,
                    "state": i.state_type,
                }
                for i in self._sorted()
            ]

    def set_milestone(self, key: str, name: str | None) -> None:
        with self._lock:
            issue = self._issue(key)
            issue.milestone_id = self._milestone_named(name).id if name is not None else None
            issue.updated = self.clock()

    def set_due(self, name: str, due: date | None) -> None:
        with self._lock:
            ms = self._milestone_named(name)
            ms.target, ms.updated = due, self.clock()

    def release(self, name: str) -> None:
        """Complete the project holding milestone `name` (Linear has no "released" flag)."""
        with self._lock:
            proj = self._projects[self._milestone_named(name).project_id]
            proj.completed = proj.updated = self.clock()

    def complete(self, key: str) -> None:
        self._set_state(key, "completed")

    def cancel(self, key: str) -> None:
        self._set_state(key, "canceled")

    def archive(self, key: str) -> None:
        with self._lock:
            issue = self._issue(key)
            issue.archived = issue.updated = self.clock()

    def throttle(self, count: int = 1) -> None:
        """Answer the next `count` requests with HTTP 400 `RATELIMITED`."""
        with self._lock:
            self._throttle += count

    def refuse_create(self, title: str) -> None:
        """The next `issueCreate` with this title answers 200 with `data: {issueCreate: null}` + errors[]."""
        with self._lock:
            self._refuse.append(title)

    # -- internals --------------------------------------------------------------------------------
    def _sorted(self) -> list[EmuIssue]:
        return sorted(self._issues.values(), key=lambda i: i.number)

    def _issue(self, key: str) -> EmuIssue:
        """By UUID or by identifier (`ENG-12`), as Linear's `issue(id:)` accepts both."""
        found = self._issues.get(key) or next((i for i in self._issues.values() if i.identifier == key), None)
        if found is None:
            raise KeyError(f"no issue {key!r}")
        return found

    def _milestone_named(self, name: str) -> EmuMilestone:
        for ms in self._milestones.values():
            if ms.name == name:
                return ms
        raise KeyError(f"no project milestone named {name!r}")

    def _set_state(self, key: str, state_type: str) -> None:
        with self._lock:
            issue = self._issue(key)
            issue.state_type, issue.updated = state_type, self.clock()

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Requests-Limit": str(self.rate_limit),
            "X-RateLimit-Requests-Remaining": str(max(0, self.rate_limit - self._used)),
            "X-RateLimit-Requests-Reset": str(int((self._window_start + 3600) * 1000)),
        }

    async def _endpoint(self, request: Request) -> Response:
        raw = await request.body()
        with self._lock:
            body, status, headers = self._dispatch(request.headers.get("authorization", ""), raw)
        return JSONResponse(body, status, headers=headers)

    def _dispatch(self, auth: str, raw: bytes) -> tuple[dict[str, Any], int, dict[str, str]]:
        if auth != self._api_key:
            msg = "Authentication required, not authenticated"
            return {"errors": [gql_error(msg, "AUTHENTICATION_ERROR")]}, 401, {}
        if self.clock() - self._window_start >= 3600:
            self._used, self._window_start = 0, self.clock()
        if self._throttle or self._used >= self.rate_limit:
            self._throttle = max(0, self._throttle - 1)
            headers = {
                **self._rate_headers(),
                "X-RateLimit-Requests-Remaining": "0",
                "X-RateLimit-Requests-Reset": str(int((self.clock() + 1) * 1000)),
            }
            return {"errors": [gql_error("Rate limit exceeded", "RATELIMITED")]}, 400, headers
        self._used += 1
        try:
            req = json.loads(raw)
            match = _OPERATION.match(str(req.get("query", "")))
            variables = req.get("variables") or {}
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            return {"errors": [gql_error("Unable to parse the request", "GRAPHQL_PARSE_FAILED")]}, 400, {}
        handler = self._handlers.get(match.group(1)) if match else None
        if handler is None:
            msg = "The emulator does not know this operation"
            return {"errors": [gql_error(msg, "GRAPHQL_VALIDATION_FAILED")]}, 400, self._rate_headers()
        body, status = handler(variables)
        return body, status, {**self._rate_headers(), "X-Complexity": str(_complexity(variables))}

    # -- operations (called with the lock held) ---------------------------------------------------
    def _find_issues(self, v: dict[str, Any]) -> tuple[dict[str, Any], int]:
        first, problem = _first(v)
        if problem:
            return problem, 400
        wanted = set(v.get("ids") or ())
        rows = [i for i in self._sorted() if i.id in wanted][:first]
        return {
            "data": {"issues": {"nodes": [issue_json(i, self._milestones, self._site) for i in rows]}}
        }, 200

    def _create_issue(self, v: dict[str, Any]) -> tuple[dict[str, Any], int]:
        data = v.get("input")
        if not isinstance(data, dict) or not data.get("title") or data.get("teamId") != self.team_id:
            return {"errors": [gql_error("Argument Validation Error", "INVALID_INPUT")]}, 400
        ident = str(data.get("id") or uuid.uuid4())
        # what Linear answers to a duplicate id is unverified; here: a partial answer, nothing created
        if ident in self._issues or data["title"] in self._refuse:
            if data["title"] in self._refuse:
                self._refuse.remove(data["title"])
            err = gql_error("Entity already exists" if ident in self._issues else "Refused", "INVALID_INPUT")
            return {"data": {"issueCreate": None}, "errors": [{**err, "path": ["issueCreate"]}]}, 200
        now = self.clock()
        issue = EmuIssue(
            ident,
            self._next_number,
            f"{self.team_key}-{self._next_number}",
            str(data["title"]),
            str(data.get("description") or ""),
            int(data.get("priority") or 0),
            now,
            now,
        )
        self._next_number += 1
        self._issues[issue.id] = issue
        out = {"success": True, "issue": issue_json(issue, self._milestones, self._site)}
        return {"data": {"issueCreate": out}}, 200

    def _update_issue(self, v: dict[str, Any]) -> tuple[dict[str, Any], int]:
        data = v.get("input")
        try:
            issue = self._issue(str(v.get("id")))
        except KeyError:
            err = {**gql_error("Entity not found: Issue", "ENTITY_NOT_FOUND"), "path": ["issueUpdate"]}
            return {"data": None, "errors": [err]}, 200
        if not isinstance(data, dict):
            return {"errors": [gql_error("Argument Validation Error", "INVALID_INPUT")]}, 400
        for field, attr in (("title", "title"), ("description", "description"), ("priority", "priority")):
            if field in data:
                setattr(issue, attr, data[field])
        issue.updated = self.clock()
        out = {"success": True, "issue": issue_json(issue, self._milestones, self._site)}
        return {"data": {"issueUpdate": out}}, 200

    def _changed_issues(self, v: dict[str, Any]) -> tuple[dict[str, Any], int]:
        first, problem = _first(v)
        if problem:
            return problem, 400
        try:
            since = datetime.fromisoformat(str(v.get("since")).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return {"errors": [gql_error("Invalid DateTimeOrDuration", "INVALID_INPUT")]}, 400
        rows = [i for i in self._issues.values() if v.get("teamId") == self.team_id and i.updated >= since]
        # most recently updated first: how Linear orders `orderBy: updatedAt` is unverified
        rows.sort(key=lambda i: (i.updated, i.id), reverse=True)
        nodes = [issue_json(i, self._milestones, self._site) for i in rows]
        return {"data": {"issues": _page(nodes, first, v.get("after"))}}, 200

    def _list_milestones(self, v: dict[str, Any]) -> tuple[dict[str, Any], int]:
        first, problem = _first(v)
        if problem:
            return problem, 400
        if v.get("teamId") != self.team_id:
            err = {**gql_error("Entity not found: Team", "ENTITY_NOT_FOUND"), "path": ["team"]}
            return {"data": None, "errors": [err]}, 200
        projects = [
            project_json(p, [m for m in self._milestones.values() if m.project_id == p.id], self._site)
            for p in self._projects.values()
        ]
        return {"data": {"team": {"projects": _page(projects, first, v.get("after"))}}}, 200


def _first(v: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    first = v.get("first", 50)
    if not isinstance(first, int) or not 0 < first <= MAX_FIRST:
        return 0, {"errors": [gql_error(f"first must be between 1 and {MAX_FIRST}", "INVALID_INPUT")]}
    return first, None


def _cursor(node_id: str) -> str:
    return base64.b64encode(node_id.encode()).decode()


def _page(nodes: list[dict[str, Any]], first: int, after: Any) -> dict[str, Any]:
    """A Relay connection slice; `after` is the opaque cursor of the last node seen."""
    start = 0
    if isinstance(after, str):
        ids = [_cursor(n["id"]) for n in nodes]
        start = ids.index(after) + 1 if after in ids else len(nodes)
    chunk = nodes[start : start + first]
    more = start + first < len(nodes)
    end = _cursor(chunk[-1]["id"]) if chunk else None
    return {"nodes": chunk, "pageInfo": {"hasNextPage": more, "endCursor": end}}


def _complexity(v: dict[str, Any]) -> int:
    first = v.get("first", 1)
    return int(first) * 2 if isinstance(first, int) else 1
