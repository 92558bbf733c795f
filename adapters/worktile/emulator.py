"""A Worktile open API emulator: tenant token, project task pages, tasks by ids, task update and create.

Shapes follow `adapters.worktile.client` (see its docstring for what is verified and what is assumed):
`POST /open-api/tenant-access-token` `{client_id, client_secret}` -> `{access_token, expires_in}`;
the token as the `access_token` query parameter (a `Bearer` header is accepted too); a bad token is
HTTP 200 `{"ok": false, "error_code": 1103}`; task lists are `{items, total, has_more}` with a 0-based
`page_index` and `page_size` capped at 100; tasks carry `updated_at` as epoch seconds and custom
properties under `properties`; `throttle` answers the next N calls with 429 + `Retry-After`.
Tracker side (shapes per `adapters.worktile.tracker`, all unverified): tasks carry `task_type {_id, name}`
(需求 / 任务 / 里程碑), `task_state {_id, name, type}` (type 3 for every finished state, 已关闭 included),
`priority {_id, name}`; creates take `task_type_id` and `priority` (id or name; unknown ones are refused)
and titles of at most 255 characters; updates take `description`, `priority` and `properties`.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, emulator_app
from adapters.worktile.settings import WorktileSettings

Task = dict[str, Any]
Handler = Callable[[Request, dict[str, Any]], Any]
PAGE_MAX = 100
TITLE_MAX = 255
TYPES = {"requirement": "需求", "task": "任务", "milestone": "里程碑"}
STATES: dict[str, tuple[str, int]] = {  # id -> (name, type)
    "s-todo": ("未开始", 1),
    "s-doing": ("进行中", 2),
    "s-done": ("已完成", 3),
    "s-closed": ("已关闭", 3),  # finished too: only its name says "won't do"
}
PRIORITIES = {"p-highest": "最高", "p-high": "较高", "p-medium": "普通", "p-low": "较低", "p-lowest": "最低"}


def _error(code: int, msg: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": code, "message": msg}, status)


class _Refused(Exception):
    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


class WorktileEmulator:
    """One team with a feedback project and a follow-up project, served as the open API."""

    def __init__(
        self,
        team: str = "demo",
        client_id: str = "demo",
        client_secret: str = "demo-secret",  # noqa: S107 (the emulator's demo credential)
        clock: Callable[[], float] = time.time,
        *,
        settings: WorktileSettings | None = None,
    ) -> None:
        self.team, self.client_id, self.client_secret, self.clock = team, client_id, client_secret, clock
        self.settings = settings or WorktileSettings(team=team)
        s = self.settings
        self.projects: dict[str, dict[str, Task]] = {s.project_id: {}, s.followup_project_id: {}}
        self.members: dict[str, str] = {}  # uid -> display name
        self.tokens: set[str] = set()
        self.throttle = 0  # answer the next N API calls with 429
        self.lock = threading.RLock()
        self._seq = itertools.count(1)
        self.log = RequestLog()
        self.faults = Faults()
        self.app: Starlette = emulator_app("worktile", self._routes(), self.log, self.faults, self.clock)

    # -- helpers for tests and the demo -----------------------------------------------------------
    def seed_demo(self, seed: int = 7, customers: int = 20, tasks: int = 120) -> None:
        """Members, Chinese customer names and feature-request tasks sharing grouped titles."""
        from adapters.worktile.emulator_seed import seed_demo

        seed_demo(self, seed, customers, tasks)

    def add_member(self, uid: str, name: str) -> None:
        self.members[uid] = name

    def add_task(
        self,
        project_id: str,
        title: str,
        *,
        description: str = "",
        assignee: str | None = None,
        priority: str | None = None,
        tags: list[str] | None = None,
        task_type: str = "task",
        state: str = "s-todo",
        **properties: Any,
    ) -> str:
        with self.lock:
            n = next(self._seq)
            ident = f"6{n:023x}"
            now = int(self.clock())
            task: Task = {
                "_id": ident,
                "identifier": f"FB-{n}",
                "project_id": project_id,
                "title": title,
                "description": description,
                "created_at": now,
                "updated_at": now,
                "task_type": {"_id": task_type, "name": TYPES.get(task_type, task_type)},
                "task_state": self._state(state),
                "state_type": STATES[state][1],
                "priority": _priority(priority),
                "assignee": self._member(assignee),
                "tags": [{"_id": f"tag-{t}", "name": t} for t in tags or []],
                "properties": {k: v for k, v in properties.items() if v is not None},
            }
            self.projects.setdefault(project_id, {})[ident] = task
            return ident

    def add_feedback(self, title: str, customer: str | None = None, **values: Any) -> str:
        s = self.settings
        return self.add_task(s.project_id, title, **{s.customer_property: customer, **values})

    def update_task(self, task_id: str, **changes: Any) -> None:
        """Change top-level fields (`title`, `description`, ...) or properties (any other key)."""
        with self.lock:
            task = self._find(task_id)
            for key, value in changes.items():
                if key in ("title", "description"):
                    task[key] = value
                elif key == "assignee":
                    task[key] = self._member(value)
                elif key == "priority":
                    task[key] = _priority(value)
                elif key == "state":
                    task["task_state"], task["state_type"] = self._state(value), STATES[value][1]
                elif value is None:
                    task["properties"].pop(key, None)
                else:
                    task["properties"][key] = value
            task["updated_at"] = int(self.clock())

    def task(self, task_id: str) -> Task:
        with self.lock:
            copy: Task = json.loads(json.dumps(self._find(task_id)))
            return copy

    def feedback_view(self) -> list[dict[str, Any]]:
        """Every feedback task as `{id, backlog_key}`: what the generic sync tests compare across CRMs."""
        key = self.settings.backlog_key_property
        with self.lock:
            return [
                {"id": i, "backlog_key": t["properties"].get(key) or None}
                for i, t in self.projects[self.settings.project_id].items()
            ]

    def alerts(self) -> list[Task]:
        """Every follow-up task (raw), plus `key` = its alert-key property."""
        s = self.settings
        with self.lock:
            return [
                {**t, "key": t["properties"].get(s.alert_key_property)}
                for t in self.projects[s.followup_project_id].values()
            ]

    def ids(self, project: str = "feedback") -> list[str]:
        """Task ids of a project; `project` is a project id or "feedback" / "followup"."""
        s = self.settings
        alias = {"feedback": s.project_id, "followup": s.followup_project_id}
        with self.lock:
            return list(self.projects[alias.get(project, project)])

    # -- HTTP -------------------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        return [
            Route("/open-api/tenant-access-token", self._token_endpoint, methods=["POST"]),
            Route("/open-api/mission/get-project-tasks-by-page", self._guarded(self._page), methods=["GET"]),
            Route("/open-api/mission/get-tasks-by-ids", self._guarded(self._by_ids), methods=["GET"]),
            Route("/open-api/mission/tasks", self._guarded(self._create), methods=["POST"]),
            Route("/open-api/mission/tasks/{task_id}", self._guarded(self._update), methods=["PUT"]),
        ]

    async def _token_endpoint(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            body = {}
        if (
            not isinstance(body, dict)
            or body.get("client_id") != self.client_id
            or body.get("client_secret") != self.client_secret
        ):
            return JSONResponse(
                {"ok": False, "error_code": 1101, "message": "client_id 或 client_secret 错误"}, 401
            )
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 7200})

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def _guarded(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            token = request.query_params.get("access_token") or request.headers.get(
                "authorization", ""
            ).removeprefix("Bearer ")
            with self.lock:
                known = token in self.tokens
                over = self.throttle > 0
                if over:
                    self.throttle -= 1
            if not known:
                return JSONResponse({"ok": False, "error_code": 1103, "message": "invalid access token"})
            if over:
                return JSONResponse(
                    {"ok": False, "message": "Too Many Requests"}, 429, headers={"Retry-After": "0"}
                )
            body: dict[str, Any] = {}
            if request.method in ("POST", "PUT"):
                try:
                    parsed = json.loads(await request.body() or b"{}")
                except json.JSONDecodeError:
                    parsed = None
                if not isinstance(parsed, dict):
                    return JSONResponse(
                        {"ok": False, "error_code": 4000, "message": "参数不是合法的 JSON"}, 400
                    )
                body = parsed
            try:
                with self.lock:
                    return JSONResponse(handler(request, body))
            except _Refused as exc:
                return JSONResponse({"ok": False, "error_code": exc.code, "message": exc.msg}, exc.status)

        return endpoint

    def _page(self, request: Request, body: dict[str, Any]) -> Any:
        q = request.query_params
        project = self.projects.get(q.get("project_id", ""))
        if project is None:
            raise _Refused(4004, "项目不存在", 404)
        try:
            index = max(0, int(q.get("page_index", "0")))
            size = max(1, min(PAGE_MAX, int(q.get("page_size", "20"))))
        except ValueError:
            raise _Refused(4000, "分页参数不合法", 400) from None
        tasks = list(project.values())
        chunk = tasks[index * size : (index + 1) * size]
        return {
            "items": json.loads(json.dumps(chunk)),
            "total": len(tasks),
            "page_index": index,
            "page_size": size,
            "has_more": (index + 1) * size < len(tasks),
        }

    def _by_ids(self, request: Request, body: dict[str, Any]) -> Any:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        found = []
        for ident in ids:
            try:
                found.append(self._find(ident))
            except _Refused:
                continue
        return {"items": json.loads(json.dumps(found))}

    def _update(self, request: Request, body: dict[str, Any]) -> Any:
        ident = request.path_params["task_id"]
        task = self._find(ident)
        props = body.get("properties", {})
        if not isinstance(props, dict) or not ({"properties", "description", "priority"} & body.keys()):
            raise _Refused(4000, "properties 参数不合法", 400)
        changes = {k: v for k, v in props.items() if k not in ("title", "assignee", "priority", "state")}
        if "description" in body:
            changes["description"] = str(body["description"] or "")
        if "priority" in body:
            changes["priority"] = self._known_priority(body["priority"])
        self.update_task(ident, **changes)
        return {"value": task}

    def _create(self, request: Request, body: dict[str, Any]) -> Any:
        project = body.get("project_id")
        title = body.get("title")
        if not isinstance(project, str) or project not in self.projects:
            raise _Refused(4004, "项目不存在", 404)
        if not isinstance(title, str) or not title.strip():
            raise _Refused(4000, "title 不能为空", 400)
        if len(title) > TITLE_MAX:
            raise _Refused(4000, f"title 不能超过 {TITLE_MAX} 个字符", 400)
        task_type = body.get("task_type_id") or "task"
        if task_type not in TYPES:
            raise _Refused(4000, f"任务类型 {task_type} 不存在", 400)
        priority = self._known_priority(body.get("priority"))
        assignee = body.get("assignee")
        if assignee is not None and assignee not in self.members:
            raise _Refused(4005, f"成员 {assignee} 不存在", 400)
        raw = body.get("properties")
        props: dict[str, Any] = raw if isinstance(raw, dict) else {}
        ident = self.add_task(
            project,
            title,
            description=str(body.get("description") or ""),
            assignee=assignee,
            priority=priority,
            task_type=str(task_type),
            **{k: v for k, v in props.items() if k not in ("state", "task_type", "priority")},
        )
        return {"value": self._find(ident)}

    def _find(self, task_id: str) -> Task:
        for project in self.projects.values():
            if task_id in project:
                return project[task_id]
        raise _Refused(4004, "任务不存在", 404)

    def _known_priority(self, value: object) -> str | None:
        if value in (None, ""):
            return None
        if value in PRIORITIES or value in PRIORITIES.values():
            return str(value)
        raise _Refused(4000, f"优先级 {value} 不存在", 400)

    @staticmethod
    def _state(state_id: str) -> dict[str, Any]:
        name, kind = STATES[state_id]
        return {"_id": state_id, "name": name, "type": kind}

    def _member(self, uid: str | None) -> dict[str, str] | None:
        if not uid:
            return None
        name = self.members.get(uid, uid)
        return {"uid": uid, "name": uid, "display_name": name}


def _priority(value: str | None) -> dict[str, Any] | None:
    """`{_id, name}` for a known priority id or name; other names (the CRM seed's) keep only the name."""
    if not value:
        return None
    if value in PRIORITIES:
        return {"_id": value, "name": PRIORITIES[value]}
    ident = next((k for k, v in PRIORITIES.items() if v == value), None)
    return {"_id": ident, "name": value} if ident else {"name": value}
