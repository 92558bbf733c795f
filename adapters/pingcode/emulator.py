"""A PingCode open-API emulator: token exchange, work items (list/create/patch/get), versions.

Faithful where it matters for sync: client-credentials token at `GET /v1/auth/token` (401 for bad
credentials), `Authorization: Bearer` on everything else (401 otherwise), lists as
`{page_size, page_index, total, values}` with 0-based `page_index`, default size 30 and a cap of 100,
10-digit unix-second times while rows keep sub-second order, `updated_between=a,b` (`a` alone: after,
`,b`: before; inclusive here), HTML descriptions stored as sent, custom `properties`, versions with
`stage {name, type}` and `status` pending | in_progress | published, and a 200/minute window answered
with 429 + `x-pc-retry-after` + `{"code": "100038"}` (`rate_limit` knob; off by default).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, SlidingWindow, emulator_app
from adapters.pingcode.records import CHINA

PROJECT_ID = "5f1b2c3d4e5f60718293a4b5"
REQUIREMENT_TYPE_ID = "requirement"  # 需求
STATES: dict[str, tuple[str, str]] = {  # id -> (name, type)
    "s-new": ("新建", "pending"),
    "s-doing": ("进行中", "in_progress"),
    "s-done": ("已完成", "completed"),
    "s-closed": ("已关闭", "closed"),
}
PRIORITIES: dict[str, str] = {
    "highest": "最高", "high": "较高", "medium": "普通", "low": "较低", "lowest": "最低"
}  # fmt: skip
TYPES: dict[str, str] = {"requirement": "需求", "task": "任务", "bug": "缺陷"}
STAGES: dict[str, tuple[str, str]] = {  # version status -> (stage name, stage type)
    "pending": ("未开始", "pending"),
    "in_progress": ("进行中", "in_progress"),
    "published": ("已发布", "published"),
}
DEFAULT_SIZE, MAX_SIZE = 30, 100
TOKEN_TTL = 30 * 86400


@dataclass
class EmuItem:
    id: str
    number: int
    title: str
    description: str
    type_id: str
    state_id: str
    priority_id: str | None
    created: float
    updated: float
    properties: dict[str, Any] = field(default_factory=dict)
    version_id: str | None = None


@dataclass
class EmuVersion:
    id: str
    name: str
    status: str = "pending"
    start_at: float | None = None
    end_at: float | None = None
    created: float = 0.0
    updated: float = 0.0
    operate_at: float | None = None


def _oid(prefix: int, n: int) -> str:
    """A 24-hex id like PingCode's (Mongo ObjectId-shaped), deterministic."""
    return f"{prefix:08x}{n:016x}"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status, headers=headers)


class PingCodeEmulator:
    """One PingCode enterprise with one project; state in memory, under a lock."""

    def __init__(
        self,
        *,
        client_id: str = "demo",
        client_secret: str = "demo-secret",  # noqa: S107 - the emulator's demo credential
        clock: Callable[[], float] = time.time,
        site_url: str = "https://demo.pingcode.com",
        expires_absolute: bool = True,
    ) -> None:
        self.client_id, self.client_secret, self.clock = client_id, client_secret, clock
        self.site_url = site_url.rstrip("/")
        self.expires_absolute = expires_absolute  # the docs' example reads like an absolute time
        self.log, self.faults = RequestLog(), Faults()
        self.rate_limit: SlidingWindow | None = None  # e.g. SlidingWindow(200, 60) to enforce 200/min
        self.retry_after = 2  # x-pc-retry-after seconds for the next injected/enforced 429
        self.throttle_next = 0  # answer the next N API calls with 429 code 100038
        self.tokens: set[str] = set()
        self._lock = threading.Lock()
        self._items: dict[str, EmuItem] = {}
        self._versions: dict[str, EmuVersion] = {}
        self._next_item, self._next_version = 1, 1
        self.app: Starlette = emulator_app("pingcode", self._routes(), self.log, self.faults, self.clock)

    # -- test helpers -----------------------------------------------------------------------------
    def seed_demo(self, seed: int = 7) -> None:
        """Versions "2.4" (release in 2-3 weeks) and "2.5" (no date), both pending."""
        today = datetime.fromtimestamp(self.clock(), CHINA).date()
        with self._lock:
            self._add_version("2.4", end=_end_of(date.fromordinal(today.toordinal() + 14 + seed % 7)))
            self._add_version("2.5")

    def add_version(self, name: str, due: date | None = None) -> str:
        with self._lock:
            return self._add_version(name, _end_of(due) if due else None).id

    def items_view(self) -> list[dict[str, Any]]:
        """What a person sees: key (work item id), identifier, title, body (HTML) and markers."""
        with self._lock:
            return [
                {
                    "key": i.id,
                    "identifier": f"DEMO-{i.number}",
                    "title": i.title,
                    "body": i.description,
                    "markers": [v for v in i.properties.values() if isinstance(v, str) and v][:1],
                    "properties": dict(i.properties),
                    "state": STATES[i.state_id][0],
                    "version": self._versions[i.version_id].name if i.version_id else None,
                }
                for i in sorted(self._items.values(), key=lambda i: i.number)
            ]

    def item(self, key: str) -> dict[str, Any]:
        with self._lock:
            return self._render(self._items[key])

    def set_milestone(self, key: str, name: str | None) -> None:
        """Plan the item into a version (its `version_id`), or out of any with None; bumps updated_at."""
        with self._lock:
            item = self._items[key]
            item.version_id = self._named(name).id if name is not None else None
            self._touch(item)

    def set_state(self, key: str, state_id: str) -> None:
        with self._lock:
            item = self._items[key]
            item.state_id = state_id
            self._touch(item)

    def complete(self, key: str) -> None:
        self.set_state(key, "s-done")

    def close(self, key: str) -> None:
        self.set_state(key, "s-closed")

    # Version edits do not touch work items.
    def set_due(self, name: str, when: date | None) -> None:
        """Set the version's planned release time (`end_at`, 18:00 China time that day) or clear it."""
        with self._lock:
            version = self._named(name)
            version.end_at = _end_of(when) if when else None
            version.updated = self.clock()

    def release(self, name: str) -> None:
        self.set_version_status(name, "published")

    def set_version_status(self, name: str, status: str) -> None:
        if status not in STAGES:
            raise ValueError(f"unknown version status {status!r}")
        with self._lock:
            version = self._named(name)
            version.status = status
            version.updated = version.operate_at = self.clock()

    # -- plumbing ---------------------------------------------------------------------------------
    def _add_version(self, name: str, end: float | None = None) -> EmuVersion:
        now = self.clock()
        version = EmuVersion(_oid(0x6A000000, self._next_version), name, "pending", now, end, now, now)
        self._versions[version.id] = version
        self._next_version += 1
        return version

    def _named(self, name: str) -> EmuVersion:
        found = next((v for v in self._versions.values() if v.name == name), None)
        if found is None:
            raise KeyError(f"no version named {name!r}")
        return found

    def _touch(self, item: EmuItem) -> None:
        item.updated = max(self.clock(), item.updated)

    def _render(self, item: EmuItem) -> dict[str, Any]:
        state_name, state_type = STATES[item.state_id]
        project = {"id": PROJECT_ID, "identifier": "DEMO", "name": "演示项目", "type": "scrum"}
        version = self._versions.get(item.version_id) if item.version_id else None
        return {
            "id": item.id,
            "url": f"{self.site_url}/open/v1/project/work_items/{item.id}",
            "project": project,
            "identifier": f"DEMO-{item.number}",
            "short_id": str(item.number),
            "title": item.title,
            "type": {"id": item.type_id, "name": TYPES[item.type_id]},
            "html_url": f"{self.site_url}/pjm/workitems/DEMO-{item.number}",
            "description": item.description,
            "state": {"id": item.state_id, "name": state_name, "type": state_type},
            "priority": (
                {"id": item.priority_id, "name": PRIORITIES[item.priority_id]} if item.priority_id else None
            ),
            "version": {"id": version.id, "name": version.name} if version else None,
            "assignee": None,
            "start_at": None,
            "end_at": None,
            "properties": dict(item.properties),
            "created_at": int(item.created),
            "updated_at": int(item.updated),
            "is_archived": 0,
            "is_deleted": 0,
        }

    def _render_version(self, version: EmuVersion) -> dict[str, Any]:
        stage_name, stage_type = STAGES[version.status]
        return {
            "id": version.id,
            "url": f"{self.site_url}/open/v1/project/projects/{PROJECT_ID}/versions/{version.id}",
            "project": {"id": PROJECT_ID, "identifier": "DEMO", "name": "演示项目"},
            "name": version.name,
            "start_at": int(version.start_at) if version.start_at else None,
            "end_at": int(version.end_at) if version.end_at else None,
            "stage": {"id": f"stage-{stage_type}", "name": stage_name, "type": stage_type},
            "status": version.status,
            "progress": 1 if version.status == "published" else 0,
            "operate_at": int(version.operate_at) if version.operate_at else None,
            "created_at": int(version.created),
            "updated_at": int(version.updated),
        }

    def _throttled(self) -> Response | None:
        wait: float | None = None
        if self.throttle_next > 0:
            self.throttle_next -= 1
            wait = float(self.retry_after)
        elif self.rate_limit is not None:
            wait = self.rate_limit.hit()
        if wait is None:
            return None
        return _error(
            429, "100038", "请求过于频繁 (rate limit exceeded)",
            {"x-pc-retry-after": str(max(1, math.ceil(wait)))},
        )  # fmt: skip

    def _endpoint(self, handler: Callable[[Request, Any], Response]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            throttled = self._throttled()
            if throttled is not None:
                return throttled
            header = request.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else ""
            if token not in self.tokens:
                return _error(401, "100006", "access_token 无效 (invalid token)")
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _error(400, "100001", "invalid JSON")
            with self._lock:
                return handler(request, body)

        return run

    async def _token(self, request: Request) -> Response:
        q = request.query_params
        if q.get("grant_type") != "client_credentials":
            return _error(400, "100001", "grant_type must be client_credentials")
        if q.get("client_id") != self.client_id or q.get("client_secret") != self.client_secret:
            return _error(401, "100005", "client_id 或 client_secret 无效")
        token = secrets.token_hex(16)
        with self._lock:
            self.tokens.add(token)
        expires = int(self.clock()) + TOKEN_TTL if self.expires_absolute else TOKEN_TTL
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": expires})

    def _routes(self) -> list[Route]:
        table: list[tuple[str, Callable[[Request, Any], Response], list[str]]] = [
            ("/v1/project/work_items", self._items_list_or_create, ["GET", "POST"]),
            ("/v1/project/work_items/{id}", self._item_one, ["GET", "PATCH"]),
            ("/v1/project/projects/{pid}/versions", self._versions_list, ["GET"]),
        ]
        return [
            Route("/v1/auth/token", self._token, methods=["GET"]),
            *(Route(path, self._endpoint(fn), methods=methods) for path, fn, methods in table),
        ]

    # -- work items -------------------------------------------------------------------------------
    def _items_list_or_create(self, request: Request, body: Any) -> Response:
        if request.method == "POST":
            return self._create(body)
        q = request.query_params
        rows = list(self._items.values())
        if "project_ids" in q:
            wanted = {p for p in q["project_ids"].split(",") if p}
            if len(wanted) > 20:
                return _error(400, "100001", "project_ids accepts at most 20 values")
            rows = [i for i in rows if PROJECT_ID in wanted]
        if "updated_between" in q:
            bounds = _between(q["updated_between"])
            if bounds is None:
                return _error(400, "100001", "updated_between is invalid")
            low, high = bounds  # whole seconds, both inclusive
            rows = [
                i for i in rows
                if (low is None or int(i.updated) >= low) and (high is None or int(i.updated) <= high)
            ]  # fmt: skip
        rows.sort(key=lambda i: (-i.created, -i.number))  # newest first; not by updated_at
        return _paged(q, [self._render(i) for i in rows])

    def _create(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return _error(400, "100001", "body must be an object")
        if body.get("project_id") != PROJECT_ID:
            return _error(404, "100004", "project not found")
        type_id = body.get("type_id")
        if type_id not in TYPES:
            return _error(400, "100001", "type_id is invalid")
        title = body.get("title")
        title = title.strip() if isinstance(title, str) else ""
        if not title:
            return _error(400, "100001", "title is required")
        if len(title) > 255:
            return _error(400, "100001", "title is too long")
        priority = body.get("priority_id")
        if priority is not None and priority not in PRIORITIES:
            return _error(400, "100001", "priority_id is invalid")
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            return _error(400, "100001", "properties must be an object")
        now = self.clock()
        number = self._next_item
        item = EmuItem(
            id=_oid(0x5E000000, number),
            number=number,
            title=title,
            description=str(body.get("description") or ""),
            type_id=str(type_id),
            state_id="s-new",
            priority_id=priority,
            created=now,
            updated=now,
            properties=dict(props),
        )
        self._items[item.id] = item
        self._next_item += 1
        return JSONResponse(self._render(item), 201)

    def _item_one(self, request: Request, body: Any) -> Response:
        item = self._items.get(request.path_params["id"])
        if item is None:
            return _error(404, "100004", "work item not found")
        if request.method == "GET":
            return JSONResponse(self._render(item))
        if not isinstance(body, dict):
            return _error(400, "100001", "body must be an object")
        if "priority_id" in body and body["priority_id"] not in PRIORITIES:
            return _error(400, "100001", "priority_id is invalid")
        if "title" in body and not str(body["title"] or "").strip():
            return _error(400, "100001", "title is required")
        changed = False
        for attr, key in (("title", "title"), ("description", "description"), ("priority_id", "priority_id")):
            if key in body and body[key] != getattr(item, attr):
                setattr(item, attr, body[key])
                changed = True
        if isinstance(body.get("properties"), dict):
            merged = item.properties | body["properties"]
            changed = changed or merged != item.properties
            item.properties = merged
        if changed:
            self._touch(item)
        return JSONResponse(self._render(item))

    # -- versions ---------------------------------------------------------------------------------
    def _versions_list(self, request: Request, body: Any) -> Response:
        if request.path_params["pid"] != PROJECT_ID:
            return _error(404, "100004", "project not found")
        q = request.query_params
        rows = sorted(self._versions.values(), key=lambda v: v.created)
        if "status" in q:
            rows = [v for v in rows if v.status == q["status"]]
        return _paged(q, [self._render_version(v) for v in rows])


def _end_of(day: date) -> float:
    return datetime.combine(day, dtime(18, 0), CHINA).timestamp()


def _paged(q: Any, rows: list[dict[str, Any]]) -> Response:
    try:
        index = max(0, int(q.get("page_index", "0")))
        size = max(1, min(int(q.get("page_size", str(DEFAULT_SIZE))), MAX_SIZE))
    except ValueError:
        return _error(400, "100001", "page_index/page_size must be numbers")
    values = rows[index * size : (index + 1) * size]
    return JSONResponse({"page_size": size, "page_index": index, "total": len(rows), "values": values})


def _between(value: str) -> tuple[int | None, int | None] | None:
    """`a,b` between, `a` (or `a,`) after, `,b` before; 10-digit unix seconds; None when invalid."""
    first, _, second = value.partition(",")
    try:
        low = int(first) if first.strip() else None
        high = int(second) if second.strip() else None
    except ValueError:
        return None
    if (low is not None and low > 10_000_000_000) or (high is not None and high > 10_000_000_000):
        return None  # milliseconds are refused
    return low, high


__all__ = ["MAX_SIZE", "PROJECT_ID", "REQUIREMENT_TYPE_ID", "PingCodeEmulator"]
