"""A Jiandaoyun (简道云) open API v5 emulator: `data/list`, `get`, `create`, `update`, `batch_create`.

Faithful where sync depends on it: POST-only JSON endpoints under `/api/v5/app/entry/data/`, Bearer API
key (a bad key is HTTP 401 `{"code": 8301, "msg": ...}`, code unverified), `data/list` ordered by data id
ascending with the `data_id` cursor and `limit` capped at 100, filters `{rel, cond:[{field, type, method,
value}]}` with eq/ne/in/nin/range/empty/not_empty/like, `createTime`/`updateTime` as ISO UTC with ms,
write values wrapped as `{"value": ...}`, member widgets written as a username and read as
`{username, name}`, `batch_create` idempotent by `transaction_id`, throttling as HTTP 400 code 8303
(50 req/s global, 10 req/s on batch endpoints, plus the `throttle` knob).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, SlidingWindow, emulator_app
from adapters.jiandaoyun.emulator_seed import seed_demo
from adapters.jiandaoyun.settings import JiandaoyunSettings

Endpoint = Callable[[Request], Awaitable[Response]]
Row = dict[str, Any]
API = "/api/v5/app/entry/data"
LIMIT_MAX = 100
BATCH_MAX = 100
IN_MAX = 200


def jdy_error(status: int, code: int, msg: str) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg}, status)


class _Refused(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _stamp(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _as_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class JiandaoyunEmulator:
    """One app with a feedback form, a customer form and a follow-up form, served as the v5 API."""

    def __init__(
        self,
        api_key: str = "demo-token",
        clock: Callable[[], float] = time.time,
        *,
        settings: JiandaoyunSettings | None = None,
        global_rate: int = 50,
        batch_rate: int = 10,
    ) -> None:
        self.api_key, self.clock = api_key, clock
        self.settings = settings or JiandaoyunSettings()
        s = self.settings
        self.entries: dict[str, dict[str, Row]] = {
            s.feedback_entry_id: {},
            s.customer_entry_id: {},
            s.followup_entry_id: {},
        }
        self.members: dict[str, str] = {}  # username -> name
        self.throttle = 0  # answer the next N API calls with 400 {"code": 8303}
        self.transactions: dict[str, list[str]] = {}
        self.lock = threading.RLock()
        self._seq = itertools.count(1)
        self._global = SlidingWindow(global_rate, 1.0)
        self._batch = SlidingWindow(batch_rate, 1.0)
        self.log = RequestLog()
        self.faults = Faults()
        self.app: Starlette = emulator_app("jiandaoyun", self._routes(), self.log, self.faults, self.clock)

    # -- helpers for tests and the demo -----------------------------------------------------------
    def seed_demo(self, seed: int = 7, customers: int = 30, feedback: int = 200) -> None:
        """Members, Chinese customers (owner/tier/ARR/open deals) and feature requests sharing titles."""
        seed_demo(self, seed, customers, feedback)

    def add_member(self, username: str, name: str) -> None:
        self.members[username] = name

    def add_entry(self, entry_id: str, values: Row) -> str:
        """A new row of form `entry_id` from plain (unwrapped) values; member widgets take a username."""
        with self.lock:
            ident = f"65f{next(self._seq):021x}"  # ObjectId-like: ascending with creation
            now = _stamp(self.clock())
            row: Row = {"_id": ident, "createTime": now, "updateTime": now, "appId": self.settings.app_id}
            row.update(self._resolve(entry_id, values))
            self.entries[entry_id][ident] = row
            return ident

    def add_customer(self, name: str, owner: str | None = None, **values: Any) -> str:
        s = self.settings
        return self.add_entry(
            s.customer_entry_id, {s.customer_name_field: name, s.customer_owner_field: owner, **values}
        )

    def add_feedback(self, title: str, customer: str | None = None, **values: Any) -> str:
        s = self.settings
        base = {s.title_field: title, s.customer_field: customer or "", s.category_field: "功能需求"}
        return self.add_entry(s.feedback_entry_id, {**base, **values})

    def update_entry(self, entry_id: str, data_id: str, **values: Any) -> None:
        with self.lock:
            row = self.entries[entry_id][data_id]
            row.update(self._resolve(entry_id, values))
            row["updateTime"] = _stamp(self.clock())

    def update_feedback(self, data_id: str, **values: Any) -> None:
        """Change widgets of one feedback row (keys are widget ids); bumps its updateTime."""
        self.update_entry(self.settings.feedback_entry_id, data_id, **values)

    def update_customer(self, data_id: str, **values: Any) -> None:
        self.update_entry(self.settings.customer_entry_id, data_id, **values)

    def feedback(self, data_id: str) -> Row:
        with self.lock:
            return dict(self.entries[self.settings.feedback_entry_id][data_id])

    def feedback_view(self) -> list[dict[str, Any]]:
        """Every feedback row as `{id, backlog_key}`: what the generic sync tests compare across CRMs."""
        key = self.settings.backlog_key_field
        with self.lock:
            return [
                {"id": i, "backlog_key": r.get(key) or None}
                for i, r in self.entries[self.settings.feedback_entry_id].items()
            ]

    def alerts(self) -> list[Row]:
        """Every follow-up entry (raw widget values, plus `key` = the alert key widget)."""
        s = self.settings
        with self.lock:
            return [
                {**r, "key": r.get(s.alert_key_field)} for r in self.entries[s.followup_entry_id].values()
            ]

    def ids(self, entry: str) -> list[str]:
        """Data ids of a form; `entry` is an entry id or one of "feedback", "customer", "followup"."""
        s = self.settings
        alias = {
            "feedback": s.feedback_entry_id,
            "customer": s.customer_entry_id,
            "followup": s.followup_entry_id,
        }
        with self.lock:
            return list(self.entries[alias.get(entry, entry)])

    # -- HTTP -------------------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        table: list[tuple[str, Callable[[Row], Row], bool]] = [
            ("list", self._list, False),
            ("get", self._get, False),
            ("create", self._create, False),
            ("update", self._update, False),
            ("batch_create", self._batch_create, True),
        ]
        return [
            Route(f"{API}/{verb}", self._guarded(fn, batch), methods=["POST"]) for verb, fn, batch in table
        ]

    def _guarded(self, handler: Callable[[Row], Row], batch: bool) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                return jdy_error(401, 8301, "Authorization 无效：API Key 不存在或已失效")
            with self.lock:
                over = self.throttle > 0
                if over:
                    self.throttle -= 1
            if over or self._global.hit() is not None or (batch and self._batch.hit() is not None):
                return jdy_error(400, 8303, "超出请求频率限制")
            try:
                body = json.loads(await request.body() or b"{}")
            except json.JSONDecodeError:
                return jdy_error(400, 4000, "请求参数不是合法的 JSON")
            if not isinstance(body, dict):
                return jdy_error(400, 4000, "请求参数不是合法的 JSON")
            try:
                with self.lock:
                    return JSONResponse(handler(body))
            except _Refused as exc:
                return jdy_error(exc.status, exc.code, exc.msg)

        return endpoint

    def _form(self, body: Row) -> dict[str, Row]:
        if body.get("app_id") != self.settings.app_id:
            raise _Refused(4001, "应用不存在", 400)
        entry = self.entries.get(str(body.get("entry_id")))
        if entry is None:
            raise _Refused(4002, "表单不存在", 400)
        return entry

    def _list(self, body: Row) -> Row:
        entry = self._form(body)
        try:
            limit = max(1, min(LIMIT_MAX, int(body.get("limit", 10))))
        except (TypeError, ValueError):
            raise _Refused(4000, "limit 参数不合法") from None
        after = str(body.get("data_id") or "")
        match = _compile(body.get("filter"))
        fields = body.get("fields")
        out: list[Row] = []
        for ident in sorted(entry):
            if after and ident <= after:
                continue
            row = entry[ident]
            if match(row):
                out.append(_project(row, fields))
                if len(out) >= limit:
                    break
        return {"data": out}

    def _get(self, body: Row) -> Row:
        entry = self._form(body)
        row = entry.get(str(body.get("data_id")))
        if row is None:
            raise _Refused(4003, "数据不存在")
        return {"data": dict(row)}

    def _create(self, body: Row) -> Row:
        entry_id = str(body.get("entry_id"))
        self._form(body)
        ident = self.add_entry(entry_id, _unwrap(body.get("data")))
        return {"data": dict(self.entries[entry_id][ident])}

    def _update(self, body: Row) -> Row:
        entry = self._form(body)
        ident = str(body.get("data_id"))
        if ident not in entry:
            raise _Refused(4003, "数据不存在")
        self.update_entry(str(body.get("entry_id")), ident, **_unwrap(body.get("data")))
        return {"data": dict(entry[ident])}

    def _batch_create(self, body: Row) -> Row:
        entry_id = str(body.get("entry_id"))
        self._form(body)
        rows = body.get("data_list")
        if not isinstance(rows, list) or not rows or len(rows) > BATCH_MAX:
            raise _Refused(4000, f"data_list 必须为 1-{BATCH_MAX} 条")
        txn = body.get("transaction_id")
        if isinstance(txn, str) and txn in self.transactions:  # a retried batch: nothing new is created
            ids = self.transactions[txn]
            return {"status": "success", "success_count": len(ids), "success_ids": ids}
        ids = [self.add_entry(entry_id, _unwrap(r)) for r in rows]
        if isinstance(txn, str) and txn:
            self.transactions[txn] = ids
        return {"status": "success", "success_count": len(ids), "success_ids": ids}

    def _resolve(self, entry_id: str, values: Row) -> Row:
        """Member widgets are written as a username and stored as `{username, name}`."""
        s = self.settings
        members = {s.customer_owner_field, s.alert_owner_field}
        out: Row = {}
        for name, value in values.items():
            if name in members and isinstance(value, str) and value:
                if value not in self.members:
                    raise _Refused(4004, f"成员 {value} 不存在")
                out[name] = {"username": value, "name": self.members[value], "status": 1, "type": 0}
            else:
                out[name] = value
        return out


def _unwrap(data: object) -> Row:
    if not isinstance(data, dict):
        raise _Refused(4000, "data 参数不合法")
    out: Row = {}
    for name, cell in data.items():
        if not isinstance(cell, dict) or "value" not in cell:
            raise _Refused(4000, f'字段 {name} 的值必须为 {{"value": ...}}')
        out[name] = cell["value"]
    return out


def _project(row: Row, fields: object) -> Row:
    if not isinstance(fields, list) or not fields:
        return dict(row)
    keep = {"_id", "appId", "createTime", "updateTime", *(str(f) for f in fields)}
    return {k: v for k, v in row.items() if k in keep}


def _cell(row: Row, field: str) -> Any:
    value = row.get(field)
    if isinstance(value, dict) and "username" in value:
        return value["username"]
    return value


def _comparable(value: Any, type_: str) -> Any:
    if type_ in ("datetime", "date") or isinstance(value, str) and value[:2] in ("19", "20") and "T" in value:
        return _as_time(value)
    return value


def _compile(spec: object) -> Callable[[Row], bool]:
    if spec is None:
        return lambda row: True
    if not isinstance(spec, dict) or not isinstance(spec.get("cond", []), list):
        raise _Refused(4000, "filter 参数不合法")
    rel = spec.get("rel", "and")
    if rel not in ("and", "or"):
        raise _Refused(4000, f"filter.rel 不支持 {rel}")
    tests = [_condition(c) for c in spec.get("cond", [])]
    if rel == "and":
        return lambda row: all(t(row) for t in tests)
    return lambda row: any(t(row) for t in tests) if tests else True


def _condition(cond: object) -> Callable[[Row], bool]:
    if not isinstance(cond, dict) or not isinstance(cond.get("field"), str):
        raise _Refused(4000, "filter.cond 参数不合法")
    field, method, type_ = cond["field"], cond.get("method"), str(cond.get("type") or "")
    raw = cond.get("value")
    values = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if method in ("in", "nin") and len(values) > IN_MAX:
        raise _Refused(4000, f"in/nin 最多 {IN_MAX} 个值")

    def blank(row: Row) -> bool:
        value = _cell(row, field)
        return value is None or value in ("", [])

    if method == "eq":
        return lambda row: bool(values) and _cell(row, field) == values[0]
    if method == "ne":
        return lambda row: not values or _cell(row, field) != values[0]
    if method == "in":
        return lambda row: _cell(row, field) in values
    if method == "nin":
        return lambda row: _cell(row, field) not in values
    if method == "empty":
        return blank
    if method == "not_empty":
        return lambda row: not blank(row)
    if method == "like":
        return lambda row: bool(values) and str(values[0]) in str(_cell(row, field) or "")
    if method == "range":
        lo = _comparable(values[0], type_) if len(values) > 0 and values[0] not in (None, "") else None
        hi = _comparable(values[1], type_) if len(values) > 1 and values[1] not in (None, "") else None

        def in_range(row: Row) -> bool:
            value = _comparable(_cell(row, field), type_)
            if value is None:
                return False
            return (lo is None or value >= lo) and (hi is None or value <= hi)

        return in_range
    raise _Refused(4000, f"不支持的筛选方法 {method}")
