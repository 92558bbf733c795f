"""A GitHub REST emulator: the issue and milestone endpoints the adapter uses, faithful to the docs.

Faithful where it matters for sync: the issues list (`state`, `labels`, `sort`, `direction`, `since`
on `updated_at`, pull requests included), `per_page` capped at 100 with RFC 8288 `Link` headers on the
request's own path, weak ETags with 304 on `If-None-Match` that do not count against the primary
limit, `x-ratelimit-*` headers, 403 on an exhausted primary limit, 403/429 secondary limits with
`retry-after`, GitHub's JSON errors (401 Bad credentials, 404 Not Found, 422 Validation Failed).
https://docs.github.com/en/rest/issues/issues  https://docs.github.com/en/rest/issues/milestones
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, SlidingWindow, emulator_app
from adapters.github.emulator_query import (
    int_param,
    invalid,
    label_list,
    links,
    origin,
    parse_since,
    validation,
)
from adapters.github.emulator_store import (
    EmuIssue,
    EmuMilestone,
    error,
    issue_json,
    label_json,
    milestone_json,
)

Handler = Callable[[Request, Any], Response]
# test helpers render like the real API; served answers use the request's own origin
_API_ORIGIN = "https://api.github.com"
_SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)


class GitHubEmulator:
    """One repository `owner/repo` on api.github.com; state lives in memory, guarded by a lock."""

    def __init__(
        self,
        *,
        token: str = "demo-token",  # noqa: S107 - the emulator's fixed demo credential
        owner: str = "acme",
        repo: str = "product",
        clock: Callable[[], float] = time.time,
        rate_limit: int = 5000,
        creates_per_minute: int = 80,
    ) -> None:
        self.owner, self.repo, self.clock = owner, repo, clock
        self._token = token
        self.log, self.faults = RequestLog(), Faults()
        self.rate_limit = rate_limit
        self._used, self._window_start = 0, clock()
        self._creates = SlidingWindow(creates_per_minute, 60.0)  # wall-clock, like GitHub's
        self._secondary: list[tuple[int, str]] = []  # queued (status, retry-after) answers
        self._lock = threading.Lock()
        self._issues: dict[int, EmuIssue] = {}
        self._milestones: dict[int, EmuMilestone] = {}
        self._next_number = 1  # issues and pull requests share one sequence
        self._next_milestone = 1
        self.app: Starlette = emulator_app("github", self._routes(), self.log, self.faults, self.clock)

    # -- test helpers -----------------------------------------------------------------------------
    def seed_demo(self, seed: int = 7) -> None:
        """Two open milestones: "2.4" due in two to three weeks, "2.5" without a due date; no issues."""
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        self.add_milestone("2.4", due=today + timedelta(days=14 + seed % 7))
        self.add_milestone("2.5")

    def add_milestone(self, title: str, due: date | None = None, description: str | None = None) -> int:
        with self._lock:
            now = self.clock()
            number = self._next_milestone
            self._next_milestone += 1
            self._milestones[number] = EmuMilestone(number, title, now, now, due=due, description=description)
            return number

    def add_pull_request(self, title: str) -> int:
        """A pull request: it shows up in the issues list with a `pull_request` key."""
        with self._lock:
            return self._new_issue(title, "", [], None, pull_request=True).number

    def issues(self) -> list[dict[str, Any]]:
        """Every issue and pull request as the REST API renders it, by number."""
        with self._lock:
            return [self._render(i, _API_ORIGIN) for i in sorted(self._issues.values(), key=_num)]

    def issue(self, number: int) -> dict[str, Any]:
        with self._lock:
            return self._render(self._issues[number], _API_ORIGIN)

    def items_view(self) -> list[dict[str, Any]]:
        """Issues (no pull requests) as `{key, title, body, labels, state}` for generic matrix tests."""
        with self._lock:
            return [
                {
                    "key": str(i.number),
                    "title": i.title,
                    "body": i.body or "",
                    "labels": list(i.labels),
                    "state": i.state,
                }
                for i in sorted(self._issues.values(), key=_num)
                if not i.pull_request
            ]

    def close(self, number: int, reason: str = "completed") -> None:
        """Close an issue as `completed` or `not_planned`, as a person would."""
        if reason not in ("completed", "not_planned"):
            raise ValueError(f"unknown state_reason {reason!r}")
        with self._lock:
            issue = self._issues[number]
            issue.state, issue.state_reason, issue.closed = "closed", reason, self.clock()
            issue.updated = self.clock()

    def set_milestone(self, number: int, title: str | None) -> None:
        with self._lock:
            issue = self._issues[number]
            issue.milestone = self._milestone_named(title).number if title is not None else None
            issue.updated = self.clock()

    def set_due(self, title: str, due: date | None) -> None:
        with self._lock:
            ms = self._milestone_named(title)
            ms.due, ms.updated = due, self.clock()

    def release(self, title: str) -> None:
        """Close the milestone (GitHub's way of saying it shipped)."""
        with self._lock:
            ms = self._milestone_named(title)
            ms.state, ms.closed, ms.updated = "closed", self.clock(), self.clock()

    def secondary_limit(self, count: int = 1, status: int = 403, retry_after: str = "1") -> None:
        """Answer the next `count` API requests with a secondary rate limit (403 or 429 + retry-after)."""
        with self._lock:
            self._secondary.extend([(status, retry_after)] * count)

    def milestone_id(self, title: str) -> str:
        with self._lock:
            return str(self._milestone_named(title).number)

    # -- internals --------------------------------------------------------------------------------
    def _milestone_named(self, title: str) -> EmuMilestone:
        for ms in self._milestones.values():
            if ms.title == title:
                return ms
        raise KeyError(f"no milestone titled {title!r}")

    def _new_issue(
        self,
        title: str,
        body: str | None,
        labels: list[str],
        milestone: int | None,
        pull_request: bool = False,
    ) -> EmuIssue:
        now = self.clock()
        issue = EmuIssue(self._next_number, title, body, now, now, labels, milestone=milestone)
        issue.pull_request = pull_request
        self._issues[issue.number] = issue
        self._next_number += 1
        return issue

    def _render(self, issue: EmuIssue, base: str) -> dict[str, Any]:
        api = f"{base}/repos/{self.owner}/{self.repo}"
        site = f"https://github.com/{self.owner}/{self.repo}"
        return issue_json(api, site, issue, self._milestones, list(self._issues.values()))

    def _rate_headers(self) -> dict[str, str]:
        reset = int(self._window_start + 3600)
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(0, self.rate_limit - self._used)),
            "x-ratelimit-used": str(self._used),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def _endpoint(self, handler: Handler, *, repo_scoped: bool = True) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            raw = await request.body()
            with self._lock:
                return self._dispatch(request, raw, handler, repo_scoped)

        return run

    def _dispatch(self, request: Request, raw: bytes, handler: Handler, repo_scoped: bool) -> Response:
        auth = request.headers.get("authorization", "")
        if auth not in (f"Bearer {self._token}", f"token {self._token}"):
            return JSONResponse(error("Bad credentials", 401), 401)
        if self.clock() - self._window_start >= 3600:
            self._used, self._window_start = 0, self.clock()
        if self._secondary:
            status, retry_after = self._secondary.pop(0)
            headers = {**self._rate_headers(), "retry-after": retry_after}
            return JSONResponse(error(_SECONDARY, status), status, headers=headers)
        if self._used >= self.rate_limit:
            return JSONResponse(
                error("API rate limit exceeded for user ID 1.", 403), 403, headers=self._rate_headers()
            )
        if repo_scoped and (request.path_params.get("owner"), request.path_params.get("repo")) != (
            self.owner,
            self.repo,
        ):
            return JSONResponse(error("Not Found", 404), 404, headers=self._rate_headers())
        try:
            body = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse(error("Problems parsing JSON", 400), 400, headers=self._rate_headers())
        response = handler(request, body)
        if response.status_code != 304 and request.url.path != "/rate_limit":
            self._used += 1  # an authorized 304 does not count against the primary limit
        response.headers.update(self._rate_headers())
        return response

    def _routes(self) -> list[Route]:
        repo = "/repos/{owner}/{repo}"
        return [
            Route(f"{repo}/issues", self._endpoint(self._list_issues), methods=["GET"]),
            Route(f"{repo}/issues", self._endpoint(self._create_issue), methods=["POST"]),
            Route(f"{repo}/issues/{{number:int}}", self._endpoint(self._one_issue), methods=["GET", "PATCH"]),
            Route(f"{repo}/issues/{{number:int}}/labels", self._endpoint(self._add_labels), methods=["POST"]),
            Route(
                f"{repo}/issues/{{number:int}}/labels/{{name}}",
                self._endpoint(self._remove_label),
                methods=["DELETE"],
            ),
            Route(f"{repo}/milestones", self._endpoint(self._list_milestones), methods=["GET"]),
            Route("/rate_limit", self._endpoint(self._rate_limit, repo_scoped=False), methods=["GET"]),
        ]

    # -- handlers (called with the lock held) -----------------------------------------------------
    def _list_issues(self, request: Request, body: Any) -> Response:
        q = request.query_params
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            return invalid("state")
        rows = [i for i in self._issues.values() if state == "all" or i.state == state]
        if q.get("labels"):
            wanted = {name.strip() for name in q["labels"].split(",") if name.strip()}
            rows = [i for i in rows if wanted <= set(i.labels)]
        if q.get("milestone") not in (None, "*"):
            rows = [
                i
                for i in rows
                if str(i.milestone) == q["milestone"] or (q["milestone"] == "none" and i.milestone is None)
            ]
        if "since" in q:
            since = parse_since(q["since"])
            if since is None:
                return invalid("since")
            rows = [i for i in rows if int(i.updated) >= since]
        sort = q.get("sort", "created")
        if sort not in ("created", "updated", "comments"):
            return invalid("sort")
        rows.sort(key=lambda i: (i.updated if sort == "updated" else i.created, i.number))
        if q.get("direction", "desc") == "desc":
            rows.reverse()
        here = origin(request)
        return self._paged(request, [self._render(i, here) for i in rows])

    def _list_milestones(self, request: Request, body: Any) -> Response:
        q = request.query_params
        state = q.get("state", "open")
        rows = [m for m in self._milestones.values() if state == "all" or m.state == state]
        far = date.max
        rows.sort(key=lambda m: (m.due or far, m.number))
        if q.get("direction", "asc") == "desc":
            rows.reverse()
        here = origin(request)
        api = f"{here}/repos/{self.owner}/{self.repo}"
        site = f"https://github.com/{self.owner}/{self.repo}"
        issues = list(self._issues.values())
        return self._paged(request, [milestone_json(api, site, m, issues) for m in rows])

    def _paged(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        """One page, `Link` on the request path, a weak ETag; 304 when If-None-Match matches."""
        q = request.query_params
        per_page = min(100, max(1, int_param(q.get("per_page"), 30)))
        page = max(1, int_param(q.get("page"), 1))
        last = max(1, -(-len(rows) // per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        content = json.dumps(chunk).encode()
        etag = 'W/"' + hashlib.sha256(content).hexdigest() + '"'
        link = links(request, page, last)
        headers = {
            "ETag": etag,
            "Cache-Control": "private, max-age=60, s-maxage=60",
            "Vary": "Accept, Authorization",
        }
        if link:
            headers["Link"] = link
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(content, 200, media_type="application/json; charset=utf-8", headers=headers)

    def _create_issue(self, request: Request, body: Any) -> Response:
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("title"), str | int)
            or body.get("title") == ""
        ):
            return validation("Issue", "title", "missing_field")
        if self._creates.hit() is not None:
            retry = {"retry-after": "60"}
            return JSONResponse(error(_SECONDARY, 403), 403, headers={**self._rate_headers(), **retry})
        labels = label_list(body.get("labels"))
        milestone = body.get("milestone")
        if milestone is not None and milestone not in self._milestones:
            return validation("Issue", "milestone", "invalid")
        if labels is None:
            return validation("Issue", "labels", "invalid")
        issue = self._new_issue(str(body["title"]), body.get("body"), labels, milestone)
        rendered = self._render(issue, origin(request))
        return JSONResponse(rendered, 201, headers={"Location": rendered["url"]})

    def _one_issue(self, request: Request, body: Any) -> Response:
        issue = self._issues.get(int(request.path_params["number"]))
        if issue is None:
            return JSONResponse(error("Not Found", 404), 404)
        if request.method == "PATCH":
            problem = self._patch(issue, body)
            if problem is not None:
                return problem
        return JSONResponse(self._render(issue, origin(request)))

    def _patch(self, issue: EmuIssue, body: Any) -> Response | None:
        if not isinstance(body, dict):
            return validation("Issue", "body", "invalid")
        if (
            "milestone" in body
            and body["milestone"] is not None
            and body["milestone"] not in self._milestones
        ):
            return validation("Issue", "milestone", "invalid")
        if "labels" in body:
            labels = label_list(body["labels"])
            if labels is None:
                return validation("Issue", "labels", "invalid")
            issue.labels = labels
        if "title" in body:
            issue.title = str(body["title"])
        if "body" in body:
            issue.body = body["body"]
        if "milestone" in body:
            issue.milestone = body["milestone"]
        state = body.get("state")
        if state == "closed" and issue.state != "closed":
            issue.state, issue.closed = "closed", self.clock()
            issue.state_reason = body.get("state_reason") or "completed"
        elif state == "open" and issue.state != "open":
            issue.state, issue.closed, issue.state_reason = "open", None, "reopened"
        issue.updated = self.clock()
        return None

    def _add_labels(self, request: Request, body: Any) -> Response:
        issue = self._issues.get(int(request.path_params["number"]))
        if issue is None:
            return JSONResponse(error("Not Found", 404), 404)
        names = label_list(body.get("labels") if isinstance(body, dict) else body)
        if not names:
            return validation("Label", "labels", "missing_field")
        added = [n for n in names if n not in issue.labels]
        if added:
            issue.labels.extend(added)
            issue.updated = self.clock()
        api = f"{origin(request)}/repos/{self.owner}/{self.repo}"
        return JSONResponse([label_json(api, n) for n in issue.labels])

    def _remove_label(self, request: Request, body: Any) -> Response:
        issue = self._issues.get(int(request.path_params["number"]))
        name = request.path_params["name"]
        if issue is None or name not in issue.labels:
            return JSONResponse(error("Label does not exist", 404), 404)
        issue.labels.remove(name)
        issue.updated = self.clock()
        api = f"{origin(request)}/repos/{self.owner}/{self.repo}"
        return JSONResponse([label_json(api, n) for n in issue.labels])

    def _rate_limit(self, request: Request, body: Any) -> Response:
        headers = self._rate_headers()
        core = {
            "limit": self.rate_limit,
            "remaining": int(headers["x-ratelimit-remaining"]),
            "reset": int(headers["x-ratelimit-reset"]),
            "used": self._used,
            "resource": "core",
        }
        return JSONResponse({"resources": {"core": core}, "rate": core})


def _num(issue: EmuIssue) -> int:
    return issue.number
