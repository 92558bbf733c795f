"""A Jira Cloud emulator: the REST v2/v3 endpoints the adapter and the `jira` SDK use, faithful to the docs.

Faithful where it matters for sync: enhanced search with `nextPageToken` (omitted on the last page),
page-size caps, an eventually consistent index (`search_lag_s`, `reconcileIssues`), minute-resolution
JQL datetimes, bulk create of at most 50 with partial failure, ADF descriptions, burst rate limits.
https://developer.atlassian.com/cloud/jira/platform/rest/v3/
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.emulation import Faults, ORJSONResponse, RequestLog, SlidingWindow, emulator_app
from adapters.jira.emulator_fields import (
    FIELDS,
    ISSUE_TYPES,
    PROJECT_ID,
    EmuIssue,
    EmuVersion,
    apply_update,
    error_body,
    render_issue,
    set_fields,
    stamp,
)
from adapters.jira.emulator_search import make_token, read_token, search_args, throttled, wanted_fields
from adapters.jira.emulator_versions import VersionBook
from adapters.jira.jql import JqlError, parse_jql
from adapters.responses import loads_json

_API = "/rest/api/{v}"


class JiraEmulator:
    """One Jira Cloud site with one project; state lives in memory, guarded by a lock."""

    def __init__(
        self,
        *,
        email: str = "bot@example.com",
        token: str = "demo-token",  # noqa: S107 - the emulator's fixed demo credential
        project_key: str = "PROD",
        clock: Callable[[], float] = time.time,
        search_lag_s: float = 0.0,
        burst_per_second: int = 100,
    ) -> None:
        self._auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.project_key, self.clock, self.search_lag_s = project_key, clock, search_lag_s
        self.log, self.faults = RequestLog(), Faults()
        self.window = SlidingWindow(burst_per_second, 1.0)  # real time: the burst limit is wall-clock
        self.reject_bulk_elements: set[int] = set()  # fault knob: bulk element indices to refuse
        self._lock = threading.Lock()
        self._issues: dict[str, EmuIssue] = {}
        self._index: dict[str, list[tuple[float, EmuIssue]]] = {}  # key -> (visible from, snapshot)
        self.book = VersionBook(project_key, clock)
        self.versions: dict[int, EmuVersion] = self.book.by_id  # the same dict, by id
        self._next_issue = 10001
        self.app: Starlette = emulator_app("jira", self._routes(), self.log, self.faults, self.clock)

    # -- test helpers -----------------------------------------------------------------------------
    def seed_demo(self, seed: int = 7) -> None:
        """Three versions: one scheduled, one without a date, one unscheduled; no issues."""
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        with self._lock:
            self.book.add("2.4", release_date=(today + timedelta(days=14 + seed % 7)).isoformat())
            self.book.add("2.5", description="Next minor")
            self.book.add("3.0 (unscheduled)", description="Ideas")

    def issues(self) -> list[dict[str, Any]]:
        """Every issue as v3 JSON with all fields, plus `properties` (live state, no search lag)."""
        with self._lock:
            return [self._snapshot(i) for i in self._issues.values()]

    def issue(self, key: str) -> dict[str, Any]:
        with self._lock:
            return self._snapshot(self._issues[key])

    def _snapshot(self, issue: EmuIssue) -> dict[str, Any]:
        out = self._render(issue, "http://emulator", "3", None)
        out["properties"] = copy.deepcopy(issue.properties)
        return out

    def transition(self, key: str, status: str, resolution: str | None = None) -> None:
        if status not in ("To Do", "In Progress", "Done"):
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            issue = self._issues[key]
            issue.status = status
            issue.resolution = (resolution or "Done") if status == "Done" else None
            self._touch(issue)

    def set_fix_version(self, key: str, version_name: str) -> None:
        with self._lock:
            version = self.book.named(version_name)
            issue = self._issues[key]
            issue.fix_versions = [version.id]
            self._touch(issue)

    # Version edits as an R&D user makes them in the UI. None of them touches issues: Jira does not
    # bump an issue's `updated` when its fix version is released, rescheduled or renamed.
    def add_version(self, name: str, release_date: date | None = None) -> str:
        """Create a version (unreleased); returns its id."""
        with self._lock:
            if not name.strip() or any(v.name == name for v in self.versions.values()):
                raise ValueError(f"version name {name!r} is empty or already taken")
            version = self.book.add(name)
            version.release_date = release_date.isoformat() if release_date else None
            return str(version.id)

    def version_id(self, name: str) -> str:
        with self._lock:
            return str(self.book.named(name).id)

    def release_version(self, name: str, release_date: date | None = None) -> None:
        body: dict[str, Any] = {"released": True}
        if release_date is not None:
            body["releaseDate"] = release_date.isoformat()
        self._change_version(name, body)

    def unrelease_version(self, name: str) -> None:
        self._change_version(name, {"released": False})

    def archive_version(self, name: str) -> None:
        self._change_version(name, {"archived": True})

    def set_release_date(self, name: str, when: date | None) -> None:
        self._change_version(name, {"releaseDate": when.isoformat() if when else None})

    def rename_version(self, old: str, new: str) -> None:
        self._change_version(old, {"name": new})

    def _change_version(self, name: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.book.change(name, body)

    # -- plumbing ---------------------------------------------------------------------------------
    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _touch(self, issue: EmuIssue) -> None:
        """Every write bumps `updated` and is indexed for search only after the lag."""
        issue.updated_ms = max(self._now_ms(), issue.updated_ms)
        snapshots = self._index.setdefault(issue.key, [])
        snapshots.append((self.clock() + self.search_lag_s, issue.snapshot()))

    def _searchable(self, reconcile: set[int]) -> list[EmuIssue]:
        now, out = self.clock(), []
        for key, snapshots in self._index.items():
            live = self._issues[key]
            if live.id in reconcile:
                out.append(live)
                continue
            visible = [snap for at, snap in snapshots if at <= now]
            if visible:
                out.append(visible[-1])
                self._index[key] = [(at, s) for at, s in snapshots if at > now or s is visible[-1]]
        return out

    def _render(self, issue: EmuIssue, base: str, v: str, wanted: set[str] | None) -> dict[str, Any]:
        return render_issue(issue, self.versions, base=base, v=v, wanted=wanted, project_id=PROJECT_ID)

    def _find(self, key_or_id: str) -> EmuIssue | None:
        hit = self._issues.get(key_or_id.upper())
        return hit or next((i for i in self._issues.values() if str(i.id) == key_or_id), None)

    def _endpoint(self, handler: Callable[[Request, Any], Response]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            wait = self.window.hit()
            if wait is not None:
                return throttled(self.window.limit, wait)
            if request.headers.get("authorization") != self._auth:
                return error_body(
                    401, ["You are not authenticated. Authentication required to perform this operation."]
                )
            if request.path_params.get("v") not in ("2", "3", "latest"):
                return error_body(404, ["No REST API version found."])
            raw = await request.body()
            try:
                body = loads_json(raw) if raw else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                return error_body(400, ["Unexpected character in the request body: not valid JSON."])
            with self._lock:
                return handler(request, body)

        return run

    def _routes(self) -> list[Route]:
        table: list[tuple[str, Callable[[Request, Any], Response], list[str]]] = [
            ("/serverInfo", self._server_info, ["GET"]),
            ("/field", self._fields, ["GET"]),
            ("/project/{key}", self._project, ["GET"]),
            ("/project/{key}/versions", self.book.list_all, ["GET"]),
            ("/project/{key}/version", self.book.page, ["GET"]),
            ("/version", self.book.create, ["POST"]),
            ("/version/{id}", self.book.one, ["GET", "PUT"]),
            ("/issue/bulk", self._create_bulk, ["POST"]),
            ("/issue", self._create_one, ["POST"]),
            ("/issue/{key}", self._issue, ["GET", "PUT"]),
            ("/issue/{key}/properties/{prop}", self._property, ["GET", "PUT"]),
            ("/search/jql", self._search, ["GET", "POST"]),
        ]
        return [Route(_API + path, self._endpoint(fn), methods=methods) for path, fn, methods in table]

    # -- metadata ---------------------------------------------------------------------------------
    def _server_info(self, request: Request, body: Any) -> Response:
        base = _base(request)
        info: dict[str, Any] = {"baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT"}
        info |= {"versionNumbers": [1001, 0, 0], "deploymentType": "Cloud", "buildNumber": 100_000}
        info |= {"serverTime": stamp(self._now_ms()), "scmInfo": "emulator", "serverTitle": "Jira"}
        return ORJSONResponse(info)

    def _fields(self, request: Request, body: Any) -> Response:
        return ORJSONResponse(FIELDS)

    def _project(self, request: Request, body: Any) -> Response:
        key = request.path_params["key"]
        if key.upper() != self.project_key and key != str(PROJECT_ID):
            return error_body(404, [f"No project could be found with key '{key}'."])
        base, v = _base(request), request.path_params["v"]
        versions = [self.book.render(request, x) for x in self.versions.values()]
        project: dict[str, Any] = {"self": f"{base}/rest/api/{v}/project/{PROJECT_ID}", "id": str(PROJECT_ID)}
        project |= {
            "key": self.project_key,
            "name": f"{self.project_key} product",
            "projectTypeKey": "software",
        }
        project |= {"simplified": False, "style": "classic", "issueTypes": ISSUE_TYPES, "versions": versions}
        return ORJSONResponse(project)

    # -- issues -----------------------------------------------------------------------------------
    def _create(self, data: Any, v: str) -> tuple[EmuIssue | None, dict[str, str]]:
        if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
            return None, {"fields": "Field 'fields' is required."}
        now = self._now_ms()
        issue = EmuIssue(self._next_issue, "", self.project_key, now, now)
        errors = set_fields(issue, data["fields"], v, self.versions, creating=True)
        props = data.get("properties") or []
        if not isinstance(props, list) or any(not isinstance(p, dict) or not p.get("key") for p in props):
            errors["properties"] = "Properties must be a list of key/value objects."
        if errors:
            return None, errors
        issue.properties = {str(p["key"]): p.get("value") for p in props}
        self._next_issue += 1
        issue.key = f"{self.project_key}-{len(self._issues) + 1}"
        self._issues[issue.key] = issue
        self._touch(issue)
        return issue, {}

    def _created_ref(self, request: Request, issue: EmuIssue) -> dict[str, Any]:
        base, v = _base(request), request.path_params["v"]
        return {"id": str(issue.id), "key": issue.key, "self": f"{base}/rest/api/{v}/issue/{issue.id}"}

    def _create_one(self, request: Request, body: Any) -> Response:
        issue, errors = self._create(body, request.path_params["v"])
        if issue is None:
            return error_body(400, errors=errors)
        return ORJSONResponse(self._created_ref(request, issue), 201)

    def _create_bulk(self, request: Request, body: Any) -> Response:
        updates = body.get("issueUpdates") if isinstance(body, dict) else None
        if not isinstance(updates, list):
            return error_body(400, ["Field 'issueUpdates' is required."])
        if len(updates) > 50:
            return error_body(
                400, ["The number of issues in the bulk create request exceeds the limit of 50."]
            )
        created: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for index, data in enumerate(updates):
            if index in self.reject_bulk_elements:
                issue, errors = None, {"summary": "Rejected by the emulator's fault knob."}
            else:
                issue, errors = self._create(data, request.path_params["v"])
            if issue is None:
                element = {"errorMessages": [], "errors": errors}
                failed.append({"status": 400, "elementErrors": element, "failedElementNumber": index})
            else:
                created.append(self._created_ref(request, issue))
        # 201 if any issue was created, 400 (same body) if none was
        return ORJSONResponse({"issues": created, "errors": failed}, 201 if created or not updates else 400)

    def _issue(self, request: Request, body: Any) -> Response:
        issue = self._find(request.path_params["key"])
        if issue is None:
            return error_body(404, ["Issue does not exist or you do not have permission to see it."])
        v = request.path_params["v"]
        if request.method == "GET":
            wanted = wanted_fields(request.query_params.getlist("fields"), default_all=True)
            out = self._render(issue, _base(request), v, wanted)
            if request.query_params.get("properties"):
                names = request.query_params["properties"].split(",")
                out["properties"] = {
                    k: val for k, val in issue.properties.items() if "*all" in names or k in names
                }
            return ORJSONResponse(out)
        candidate = issue.snapshot()
        errors = apply_update(candidate, body if isinstance(body, dict) else {}, v, self.versions)
        if errors:
            return error_body(400, errors=errors)
        self._issues[issue.key] = candidate
        self._touch(candidate)
        return Response(status_code=204)

    def _property(self, request: Request, body: Any) -> Response:
        issue, prop = self._find(request.path_params["key"]), request.path_params["prop"]
        if issue is None:
            return error_body(404, ["Issue does not exist or you do not have permission to see it."])
        if request.method == "PUT":
            if len(prop) > 255 or len(json.dumps(body)) > 32_768:
                return error_body(400, ["The property key or value is too long."])
            existed = prop in issue.properties
            issue.properties[prop] = body  # entity properties do not bump `updated`
            return Response(status_code=200 if existed else 201)
        if prop not in issue.properties:
            return error_body(404, [f"The property with key '{prop}' does not exist."])
        return ORJSONResponse({"key": prop, "value": issue.properties[prop]})

    # -- search -----------------------------------------------------------------------------------
    def _search(self, request: Request, body: Any) -> Response:
        args = search_args(request, body)
        if isinstance(args, Response):
            return args
        jql, token, max_results, fields, reconcile = args
        try:
            query = parse_jql(jql, UTC)  # the emulated integration user's profile zone is UTC
        except JqlError as exc:
            return error_body(400, [str(exc)])
        if len(reconcile) > 50:
            return error_body(400, ["reconcileIssues accepts at most 50 issue ids."])
        wanted = wanted_fields(fields, default_all=False)
        ids_only = wanted is not None and wanted <= {"id", "key"}
        limit = max(1, min(max_results or 50, 5000 if ids_only else 100))
        digest = hashlib.sha1(jql.encode()).hexdigest()[:12]  # noqa: S324 - an identifier, not security
        offset = read_token(token, digest) if token else 0
        if offset is None:
            return error_body(400, ["The provided next page token is invalid or expired."])
        records = [
            {"project": i.project, "key": i.key, "labels": i.labels, "updated": i.updated_ms,
             "created": i.created_ms, "issue": i}
            for i in self._searchable(reconcile)
        ]  # fmt: skip
        hits = query.sort([r for r in records if query.matches(r)])
        page = hits[offset : offset + limit]
        base, v = _base(request), request.path_params["v"]
        out: dict[str, Any] = {"issues": [self._render(r["issue"], base, v, wanted) for r in page]}
        if offset + limit < len(hits):
            out["nextPageToken"] = make_token(offset + limit, digest)
        out["isLast"] = "nextPageToken" not in out
        return ORJSONResponse(out)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")
