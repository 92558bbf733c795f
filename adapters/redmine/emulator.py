"""A Redmine emulator: the REST endpoints the adapter uses, faithful to a real Redmine 5.0.

Faithful where it matters for sync: `X-Redmine-API-Key` (or `key=`) auth with "login required" on (401
otherwise), `limit` default 25 and capped at 100, `total_count`/`offset`/`limit` in lists, whole-second
timestamps rendered with `Z` while rows sort by the stored sub-second time, `updated_on=>=T` read as
"later than T minus one second", `status_id` open by default (`*` for all), `cf_N=value` filters,
422 `{"errors": [...]}` on validation, 204 on update, no bulk create.
https://www.redmine.org/projects/redmine/wiki/Rest_api
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, emulator_app

STATUSES: dict[int, tuple[str, bool]] = {
    1: ("New", False),
    2: ("In Progress", False),
    3: ("Resolved", False),
    4: ("Feedback", False),
    5: ("Closed", True),
    6: ("Rejected", True),
}
PRIORITIES: dict[int, str] = {1: "Low", 2: "Normal", 3: "High", 4: "Urgent", 5: "Immediate"}
TRACKERS: dict[int, str] = {1: "Bug", 2: "Feature", 3: "Support"}
PROJECT_ID = 1
MARKER_FIELD_ID = 1
DEFAULT_LIMIT, MAX_LIMIT = 25, 100


@dataclass
class EmuIssue:
    id: int
    subject: str
    description: str
    tracker_id: int
    status_id: int
    priority_id: int
    created: float
    updated: float
    custom: dict[int, str] = field(default_factory=dict)
    version_id: int | None = None
    closed: float | None = None


@dataclass
class EmuVersion:
    id: int
    name: str
    status: str = "open"  # open | locked | closed
    due_date: str | None = None
    description: str = ""
    created: float = 0.0
    updated: float = 0.0


def _stamp(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _errors(status: int, messages: list[str]) -> JSONResponse:
    return JSONResponse({"errors": messages}, status)


class RedmineEmulator:
    """One Redmine site with one project and one marker custom field; state in memory, under a lock."""

    def __init__(
        self,
        *,
        api_key: str = "demo-token",
        project: str = "product",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key, self.project, self.clock = api_key, project, clock
        self.log, self.faults = RequestLog(), Faults()
        self.custom_fields: dict[int, str] = {MARKER_FIELD_ID: "Syncer marker"}
        self._lock = threading.Lock()
        self._issues: dict[int, EmuIssue] = {}
        self._versions: dict[int, EmuVersion] = {}
        self._next_issue, self._next_version = 1, 1
        self.app: Starlette = emulator_app("redmine", self._routes(), self.log, self.faults, self.clock)

    # -- test helpers -----------------------------------------------------------------------------
    def seed_demo(self, seed: int = 7) -> None:
        """Versions "2.4" (due in 2-3 weeks) and "2.5" (no date); the marker custom field has id 1."""
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        with self._lock:
            self._add_version("2.4", due=(today + timedelta(days=14 + seed % 7)).isoformat())
            self._add_version("2.5", description="Next minor")

    def add_version(self, name: str, due: date | None = None) -> str:
        with self._lock:
            return str(self._add_version(name, due.isoformat() if due else None).id)

    def issues(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._render(i) for i in self._issues.values()]

    def issue(self, ident: int | str) -> dict[str, Any]:
        with self._lock:
            return self._render(self._issues[int(ident)])

    def close(self, ident: int | str, rejected: bool = False) -> None:
        with self._lock:
            issue = self._issues[int(ident)]
            issue.status_id = 6 if rejected else 5
            self._touch(issue)
            issue.closed = issue.updated

    def set_version(self, ident: int | str, name: str | None) -> None:
        with self._lock:
            issue = self._issues[int(ident)]
            issue.version_id = self._named(name).id if name is not None else None
            self._touch(issue)

    def set_status(self, ident: int | str, status_id: int) -> None:
        with self._lock:
            issue = self._issues[int(ident)]
            issue.status_id = status_id
            self._touch(issue)

    # Version edits do not touch issues: Redmine does not bump an issue's updated_on for them.
    def set_due(self, name: str, when: date | None) -> None:
        with self._lock:
            version = self._named(name)
            version.due_date = when.isoformat() if when else None
            version.updated = self.clock()

    def release(self, name: str) -> None:
        self.set_version_status(name, "closed")

    def set_version_status(self, name: str, status: str) -> None:
        if status not in ("open", "locked", "closed"):
            raise ValueError(f"unknown version status {status!r}")
        with self._lock:
            version = self._named(name)
            version.status = status
            version.updated = self.clock()

    def items_view(self) -> list[dict[str, Any]]:
        """What a person sees: key, title, body and the markers (the marker field's value, if any)."""
        with self._lock:
            return [
                {
                    "key": str(i.id),
                    "title": i.subject,
                    "body": i.description,
                    "markers": [i.custom[MARKER_FIELD_ID]] if i.custom.get(MARKER_FIELD_ID) else [],
                }
                for i in sorted(self._issues.values(), key=lambda i: i.id)
            ]

    # -- plumbing ---------------------------------------------------------------------------------
    def _add_version(self, name: str, due: str | None = None, description: str = "") -> EmuVersion:
        now = self.clock()
        version = EmuVersion(self._next_version, name, "open", due, description, now, now)
        self._versions[version.id] = version
        self._next_version += 1
        return version

    def _named(self, name: str) -> EmuVersion:
        found = next((v for v in self._versions.values() if v.name == name), None)
        if found is None:
            raise KeyError(f"no version named {name!r}")
        return found

    def _touch(self, issue: EmuIssue) -> None:
        issue.updated = max(self.clock(), issue.updated)

    def _render(self, issue: EmuIssue, *, listing: bool = False) -> dict[str, Any]:
        status_name, is_closed = STATUSES[issue.status_id]
        out: dict[str, Any] = {
            "id": issue.id,
            "project": {"id": PROJECT_ID, "name": self.project.title()},
            "tracker": {"id": issue.tracker_id, "name": TRACKERS[issue.tracker_id]},
            "status": {"id": issue.status_id, "name": status_name, "is_closed": is_closed},
            "priority": {"id": issue.priority_id, "name": PRIORITIES[issue.priority_id]},
            "author": {"id": 1, "name": "Redmine Admin"},
        }
        if issue.version_id is not None:
            out["fixed_version"] = {"id": issue.version_id, "name": self._versions[issue.version_id].name}
        out |= {
            "subject": issue.subject,
            "description": issue.description or None,
            "start_date": datetime.fromtimestamp(issue.created, UTC).date().isoformat(),
            "due_date": None,
            "done_ratio": 0,
            "is_private": False,
            "estimated_hours": None,
            "total_estimated_hours": None,
        }
        if listing:
            out |= {"spent_hours": 0.0, "total_spent_hours": 0.0}
        out["custom_fields"] = [
            {"id": cf, "name": name, "value": issue.custom.get(cf, "")}
            for cf, name in self.custom_fields.items()
        ]
        out |= {
            "created_on": _stamp(issue.created),
            "updated_on": _stamp(issue.updated),
            "closed_on": _stamp(issue.closed),
        }
        return out

    def _render_version(self, version: EmuVersion) -> dict[str, Any]:
        return {
            "id": version.id,
            "project": {"id": PROJECT_ID, "name": self.project.title()},
            "name": version.name,
            "description": version.description,
            "status": version.status,
            "due_date": version.due_date,
            "sharing": "none",
            "wiki_page_title": None,
            "created_on": _stamp(version.created),
            "updated_on": _stamp(version.updated),
        }

    def _endpoint(self, handler: Callable[[Request, Any], Response]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            key = request.headers.get("x-redmine-api-key") or request.query_params.get("key")
            if key != self.api_key:  # "login required" is on: anonymous and wrong keys alike get 401
                return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="Redmine API"'})
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _errors(400, ["Invalid JSON"])
            with self._lock:
                return handler(request, body)

        return run

    def _routes(self) -> list[Route]:
        table: list[tuple[str, Callable[[Request, Any], Response], list[str]]] = [
            ("/issues.json", self._issues_list_or_create, ["GET", "POST"]),
            ("/issues/{id:int}.json", self._issue_one, ["GET", "PUT"]),
            ("/projects/{project}/versions.json", self._versions_view, ["GET", "POST"]),
            ("/issue_statuses.json", self._statuses, ["GET"]),
            ("/enumerations/issue_priorities.json", self._priorities, ["GET"]),
        ]
        return [Route(path, self._endpoint(fn), methods=methods) for path, fn, methods in table]

    def _project_ok(self, value: Any) -> bool:
        return str(value) in (self.project, str(PROJECT_ID))

    # -- issues -----------------------------------------------------------------------------------
    def _issues_list_or_create(self, request: Request, body: Any) -> Response:
        if request.method == "POST":
            return self._create(body)
        q = request.query_params
        if "project_id" in q and not self._project_ok(q["project_id"]):
            return Response(status_code=404)
        try:
            offset = max(0, int(q.get("offset", "0")))
            limit = max(1, min(int(q.get("limit", str(DEFAULT_LIMIT))), MAX_LIMIT))
        except ValueError:
            offset, limit = 0, DEFAULT_LIMIT
        rows = list(self._issues.values())
        status = q.get("status_id", "open")
        if status == "open":
            rows = [i for i in rows if not STATUSES[i.status_id][1]]
        elif status == "closed":
            rows = [i for i in rows if STATUSES[i.status_id][1]]
        elif status != "*":
            wanted = {int(s) for s in status.split("|") if s.isdigit()}
            rows = [i for i in rows if i.status_id in wanted]
        for name, value in q.items():
            if name.startswith("cf_") and name[3:].isdigit():
                cf = int(name[3:])
                if cf not in self.custom_fields:
                    continue  # Redmine ignores filters on unknown fields
                rows = [i for i in rows if i.custom.get(cf, "") == value]
        if "updated_on" in q:
            bounds = _time_filter(q["updated_on"])
            if bounds is None:
                return _errors(422, ["Updated is invalid"])
            low, high = bounds
            # Redmine reads `>=T` as "later than T minus one second" (and `<=T` as "before T plus one")
            rows = [
                i
                for i in rows
                if (low is None or i.updated > low - 1) and (high is None or i.updated < high + 1)
            ]
        rows.sort(key=_sorter(q.get("sort", "id:desc")))
        page = rows[offset : offset + limit]
        return JSONResponse(
            {
                "issues": [self._render(i, listing=True) for i in page],
                "total_count": len(rows),
                "offset": offset,
                "limit": limit,
            }
        )

    def _create(self, body: Any) -> Response:
        data = body.get("issue") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return _errors(422, ["Project cannot be blank", "Subject cannot be blank"])
        errors: list[str] = []
        if not self._project_ok(data.get("project_id")):
            errors.append("Project cannot be blank")
        subject = data.get("subject")
        subject = subject.strip() if isinstance(subject, str) else ""
        if not subject:
            errors.append("Subject cannot be blank")
        elif len(subject) > 255:
            errors.append("Subject is too long (maximum is 255 characters)")
        tracker = data.get("tracker_id", 1)
        if _as_int(tracker) not in TRACKERS:
            errors.append("Tracker cannot be blank")
        priority = data.get("priority_id", 2)
        if _as_int(priority) not in PRIORITIES:
            errors.append("Priority cannot be blank")
        version_id = _as_int(data.get("fixed_version_id")) if data.get("fixed_version_id") else None
        if version_id is not None and (
            version_id not in self._versions or self._versions[version_id].status != "open"
        ):
            errors.append("Target version is not included in the list")
        custom = _custom_values(data.get("custom_fields"), self.custom_fields)
        if errors:
            return _errors(422, errors)
        now = self.clock()
        issue = EmuIssue(
            id=self._next_issue,
            subject=subject,
            description=str(data.get("description") or ""),
            tracker_id=_as_int(tracker) or 1,
            status_id=1,
            priority_id=_as_int(priority) or 2,
            created=now,
            updated=now,
            custom=custom,
            version_id=version_id,
        )
        self._issues[issue.id] = issue
        self._next_issue += 1
        return JSONResponse({"issue": self._render(issue)}, 201)

    def _issue_one(self, request: Request, body: Any) -> Response:
        issue = self._issues.get(int(request.path_params["id"]))
        if issue is None:
            return Response(status_code=404)
        if request.method == "GET":
            return JSONResponse({"issue": self._render(issue)})
        data = body.get("issue") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return Response(status_code=204)  # Redmine accepts an empty update
        errors: list[str] = []
        if "subject" in data and not str(data["subject"] or "").strip():
            errors.append("Subject cannot be blank")
        if "priority_id" in data and _as_int(data["priority_id"]) not in PRIORITIES:
            errors.append("Priority cannot be blank")
        if errors:
            return _errors(422, errors)
        changed = False
        if "subject" in data and str(data["subject"]).strip() != issue.subject:
            issue.subject, changed = str(data["subject"]).strip(), True
        if "description" in data and str(data["description"] or "") != issue.description:
            issue.description, changed = str(data["description"] or ""), True
        if "priority_id" in data and _as_int(data["priority_id"]) != issue.priority_id:
            issue.priority_id, changed = _as_int(data["priority_id"]) or 2, True
        custom = _custom_values(data.get("custom_fields"), self.custom_fields)
        if custom and any(issue.custom.get(k) != v for k, v in custom.items()):
            issue.custom |= custom
            changed = True
        if changed:  # a no-op update writes no journal and keeps updated_on
            self._touch(issue)
        return Response(status_code=204)

    # -- versions & enumerations ------------------------------------------------------------------
    def _versions_view(self, request: Request, body: Any) -> Response:
        if not self._project_ok(request.path_params["project"]):
            return Response(status_code=404)
        if request.method == "GET":
            versions = [self._render_version(v) for v in self._versions.values()]
            return JSONResponse({"versions": versions, "total_count": len(versions)})
        data = body.get("version") if isinstance(body, dict) else None
        name = str(data.get("name") or "").strip() if isinstance(data, dict) else ""
        if not name:
            return _errors(422, ["Name cannot be blank"])
        if any(v.name == name for v in self._versions.values()):
            return _errors(422, ["Name has already been taken"])
        assert isinstance(data, dict)
        due = data.get("due_date") or data.get("effective_date")
        if due is not None and not _is_date(due):
            return _errors(422, ["Due date is not a valid date"])
        version = self._add_version(name, due, str(data.get("description") or ""))
        status = data.get("status")
        if status in ("open", "locked", "closed"):
            version.status = status
        return JSONResponse({"version": self._render_version(version)}, 201)

    def _statuses(self, request: Request, body: Any) -> Response:
        rows = [{"id": k, "name": n, "is_closed": c} for k, (n, c) in STATUSES.items()]
        return JSONResponse({"issue_statuses": rows})

    def _priorities(self, request: Request, body: Any) -> Response:
        rows = [{"id": k, "name": n, "is_default": k == 2, "active": True} for k, n in PRIORITIES.items()]
        return JSONResponse({"issue_priorities": rows})


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def _custom_values(raw: Any, known: dict[int, str]) -> dict[int, str]:
    """`[{id, value}]` -> {id: value} for known fields; unknown ids are silently ignored, like Redmine."""
    out: dict[int, str] = {}
    for entry in raw if isinstance(raw, list) else ():
        if isinstance(entry, dict) and _as_int(entry.get("id")) in known:
            out[int(entry["id"])] = str(entry.get("value") or "")
    return out


def _parse_stamp(text: str) -> float | None:
    try:
        if len(text) == 10:
            parsed = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                return None
    except ValueError:
        return None
    return parsed.timestamp()


def _time_filter(value: str) -> tuple[float | None, float | None] | None:
    """`>=T`, `<=T`, `><T1|T2` (ISO 8601 with seconds, or a date) -> (low, high); None when invalid."""
    if value.startswith(">="):
        low = _parse_stamp(value[2:])
        return None if low is None else (low, None)
    if value.startswith("<="):
        high = _parse_stamp(value[2:])
        return None if high is None else (None, high)
    if value.startswith("><") and "|" in value:
        first, second = value[2:].split("|", 1)
        low, high = _parse_stamp(first), _parse_stamp(second)
        return None if low is None or high is None else (low, high)
    return None


def _sorter(spec: str) -> Callable[[EmuIssue], tuple[Any, ...]]:
    """`sort=updated_on,id` (each optionally `:desc`); rows sort by the stored sub-second time."""
    columns: list[tuple[str, bool]] = []
    for part in spec.split(","):
        name, _, direction = part.strip().partition(":")
        if name in ("id", "updated_on", "created_on", "priority"):
            columns.append((name, direction == "desc"))
    if not columns:
        columns = [("id", True)]
    if all(name != "id" for name, _ in columns):
        columns.append(("id", columns[0][1]))

    def key(issue: EmuIssue) -> tuple[Any, ...]:
        values = {"id": issue.id, "updated_on": issue.updated, "created_on": issue.created,
                  "priority": issue.priority_id}  # fmt: skip
        return tuple(-values[name] if desc else values[name] for name, desc in columns)

    return key
