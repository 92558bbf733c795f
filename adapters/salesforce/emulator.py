"""A Salesforce REST emulator: SOQL query (+ `nextRecordsUrl`), sObject Collections update and upsert.

Faithful where sync depends on it: SystemModstamp at whole-second resolution, query batches that are a
snapshot paged by locator, 200-record collections with per-record results in input order,
`allOrNone`, upsert by External ID with `created`, error bodies as `[{"message", "errorCode"}]`,
401 INVALID_SESSION_ID, and the API allocation answered with 403 REQUEST_LIMIT_EXCEEDED.
The SOQL it understands is the subset `emulator_soql` parses; anything else is 400 MALFORMED_QUERY.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, emulator_app
from adapters.salesforce.emulator_seed import seed_org
from adapters.salesforce.emulator_soql import SoqlError, parse
from adapters.salesforce.emulator_store import EXTERNAL_IDS, ID_PATTERN, SCHEMA, Row, Store

COLLECTION_LIMIT = 200
Endpoint = Callable[[Request], Awaitable[Response]]


def sf_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status, headers=headers)


class SalesforceEmulator:
    """An org with Users, Accounts, Opportunities, Cases and Tasks, served as Salesforce REST."""

    def __init__(
        self,
        token: str = "demo-token",  # noqa: S107 (the emulator's fixed demo credential)
        clock: Callable[[], float] = time.time,
        *,
        api_version: str = "v61.0",
        page_size: int = 2000,
        api_limit: int = 100_000,
    ) -> None:
        self.token, self.page_size, self.api_limit = token, page_size, api_limit
        self.api_used = 0
        self.limit_exceeded = 0  # answer the next N API calls with 403 REQUEST_LIMIT_EXCEEDED
        self.store = Store(clock, api_version)
        self.log = RequestLog()
        self.faults = Faults()
        self._locators: dict[str, list[Row]] = {}
        self._locator_seq = itertools.count(1)
        self._lock = threading.Lock()
        self.app: Starlette = emulator_app("salesforce", self._routes(), self.log, self.faults, clock)

    # -- helpers for tests and the demo -----------------------------------------------------------
    def seed_demo(self, seed: int = 7, accounts: int = 40, cases: int = 300) -> None:
        """Owners, accounts (tier/ARR), open and closed deals, feature-request Cases sharing subjects."""
        seed_org(self, seed, accounts, cases)

    def add_user(self, email: str, name: str = "") -> str:
        return self.store.write("User", None, {"Email": email, "Name": name or email})

    def add_account(self, name: str, owner_id: str | None = None, **fields: Any) -> str:
        return self.store.write("Account", None, {"Name": name, "OwnerId": owner_id, **fields})

    def add_opportunity(self, account_id: str, amount: float, stage: str = "Prospecting") -> str:
        values = {"Name": f"Deal {amount:g}", "AccountId": account_id, "Amount": amount, "StageName": stage}
        return self.store.write("Opportunity", None, values)

    def add_case(self, subject: str, account_id: str | None = None, **fields: Any) -> str:
        values = {"Subject": subject, "AccountId": account_id, "Type": "Feature Request", **fields}
        return self.store.write("Case", None, values)

    def update_case(self, case_id: str, **fields: Any) -> None:
        self.store.write("Case", case_id, fields)

    def update_account(self, account_id: str, **fields: Any) -> None:
        self.store.write("Account", account_id, fields)

    def update_opportunity(self, opportunity_id: str, **fields: Any) -> None:
        self.store.write("Opportunity", opportunity_id, fields)

    def set_promised_date(self, case_id: str, promised: date | None) -> None:
        self.update_case(case_id, Syncer_Promised_Date__c=promised.isoformat() if promised else None)

    def case(self, case_id: str) -> dict[str, Any]:
        with self.store.lock:
            return dict(self.store.objects["Case"][case_id])

    def tasks(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [dict(t) for t in self.store.objects["Task"].values()]

    def ids(self, obj: str) -> list[str]:
        with self.store.lock:
            return list(self.store.objects[obj])

    def feedback_view(self) -> list[dict[str, Any]]:
        """Every Case as `{id, backlog_key}`: what the generic sync tests compare across CRMs."""
        with self.store.lock:
            return [
                {"id": i, "backlog_key": c.get("Syncer_Backlog_Key__c")}
                for i, c in self.store.objects["Case"].items()
            ]

    # -- HTTP -------------------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        base = "/services/data/{version}"
        table: list[tuple[str, Endpoint, str]] = [
            (f"{base}/query", self._query, "GET"),
            (f"{base}/query/{{locator}}", self._more, "GET"),
            (f"{base}/composite/sobjects", self._collection_update, "PATCH"),
            (f"{base}/composite/sobjects/{{sobject}}/{{field}}", self._collection_upsert, "PATCH"),
        ]
        return [Route(path, self._guarded(fn), methods=[method]) for path, fn, method in table]

    def _guarded(self, handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            with self._lock:
                over = self.limit_exceeded > 0 or self.api_used >= self.api_limit
                if self.limit_exceeded > 0:
                    self.limit_exceeded -= 1
                if not over:
                    self.api_used += 1
                usage = {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_limit}"}
            if over:
                return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", usage)
            try:
                response = await handler(request)
            except SoqlError as exc:
                return sf_error(400, exc.code, str(exc), usage)
            response.headers.update(usage)
            return response

        return endpoint

    async def _query(self, request: Request) -> Response:
        text = request.query_params.get("q")
        if not text:
            return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
        rows = self.store.run(parse(text))
        with self._lock:
            locator = f"01g5g00000{next(self._locator_seq):08d}"
            self._locators[locator] = rows  # a snapshot, as Salesforce's query cursors are
        return self._batch(request, locator, 0)

    async def _more(self, request: Request) -> Response:
        locator, _, offset = request.path_params["locator"].rpartition("-")
        if locator not in self._locators or not offset.isdigit():
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._batch(request, locator, int(offset))

    def _batch(self, request: Request, locator: str, offset: int) -> Response:
        rows = self._locators[locator]
        end = offset + self.page_size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if end < len(rows):
            version = request.path_params["version"]
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        else:
            self._locators.pop(locator, None)
        return JSONResponse(body)

    async def _collection_update(self, request: Request) -> Response:
        records, all_or_none = await self._collection_body(request)
        if isinstance(records, Response):
            return records

        def one(record: dict[str, Any]) -> dict[str, Any]:
            obj = (record.get("attributes") or {}).get("type")
            ident = record.get("id") or record.get("Id")
            if obj not in SCHEMA:
                return _failed(ident, "INVALID_TYPE", f"sObject type '{obj}' is not supported")
            if not isinstance(ident, str) or not ID_PATTERN.fullmatch(ident):
                return _failed(ident, "MALFORMED_ID", f"malformed id {ident}")
            if ident not in self.store.objects[obj]:
                return _failed(ident, "ENTITY_IS_DELETED", "entity is deleted")
            self.store.write(obj, ident, _fields(record))
            return {"id": ident, "success": True, "errors": []}

        return self._apply(records, all_or_none, one)

    async def _collection_upsert(self, request: Request) -> Response:
        obj, key_field = request.path_params["sobject"], request.path_params["field"]
        if obj not in SCHEMA:
            return sf_error(404, "NOT_FOUND", f"The requested resource does not exist: {obj}")
        if (obj, key_field) not in EXTERNAL_IDS:
            return sf_error(400, "INVALID_FIELD", f"Field {key_field} is not an external id field on {obj}")
        records, all_or_none = await self._collection_body(request)
        if isinstance(records, Response):
            return records

        def one(record: dict[str, Any]) -> dict[str, Any]:
            if "Id" in record or "id" in record:
                return _failed(None, "INVALID_FIELD", "Id not allowed when upserting by an external id")
            key = record.get(key_field)
            if not isinstance(key, str) or not key:
                return _failed(None, "MISSING_ARGUMENT", f"{key_field} not specified")
            matches = [i for i, r in self.store.objects[obj].items() if r.get(key_field) == key]
            if len(matches) > 1:
                return _failed(None, "DUPLICATE_EXTERNAL_ID", f"{key_field}: more than one record")
            ident = self.store.write(obj, matches[0] if matches else None, _fields(record))
            return {"id": ident, "success": True, "errors": [], "created": not matches}

        return self._apply(records, all_or_none, one)

    async def _collection_body(self, request: Request) -> tuple[Any, bool]:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return sf_error(400, "JSON_PARSER_ERROR", "could not parse the request body"), False
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            return sf_error(400, "INVALID_FIELD", "records must be a list of sObjects"), False
        if len(records) > COLLECTION_LIMIT:
            message = "record limit reached. cannot submit more than 200 records into this call"
            return sf_error(400, "EXCEEDED_ID_LIMIT", message), False
        for record in records:  # an unknown field refuses the whole call, as Salesforce does
            obj = (record.get("attributes") or {}).get("type")
            if isinstance(obj, str) and obj in SCHEMA:
                for name in _fields(record):
                    self.store.check_field(obj, name)
        return records, bool(body.get("allOrNone", False))

    def _apply(
        self,
        records: list[dict[str, Any]],
        all_or_none: bool,
        one: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Response:
        with self.store.lock:
            snapshot = {o: {i: dict(r) for i, r in rows.items()} for o, rows in self.store.objects.items()}
            results = []
            for record in records:
                try:
                    results.append(one(record))
                except SoqlError as exc:
                    results.append(_failed(record.get("id"), exc.code, str(exc)))
            if all_or_none and any(not r["success"] for r in results):
                self.store.objects = snapshot
                results = [
                    r
                    if not r["success"]
                    else _failed(r["id"], "ALL_OR_NONE_OPERATION_ROLLED_BACK", "rolled back")
                    for r in results
                ]
        return JSONResponse(results)


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("attributes", "id")}


def _failed(ident: object, code: str, message: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": []}],
    }
    if isinstance(ident, str):
        result["id"] = ident
    return result
