"""A HubSpot CRM emulator: the v3 objects/search/owners and v4 associations endpoints the client uses.

Faithful to the documented behaviour that matters for sync (https://developers.hubspot.com/docs/api/crm/search):
search caps `limit` at 200 and a query at 10,000 results (HTTP 400 beyond), pages with an offset `after`
that is absent on the last page, filters on datetimes in epoch ms, answers from an index that lags
writes, and is limited to a few requests per second on top of the 10-second burst limit.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.emulation import Faults, ORJSONResponse, RequestLog, emulator_app
from adapters.hubspot.emulator_objects import (
    ASSOCIATION_TYPES,
    OBJECT_TYPES,
    CreateError,
    NewObject,
    association_read_body,
    parse_create_inputs,
    public_object,
)
from adapters.hubspot.emulator_search import (
    SearchError,
    SearchIndex,
    index_entry,
    run_search,
)
from adapters.hubspot.emulator_v4 import HubSpotV4Views
from adapters.hubspot.emulator_wire import (
    AUTH_MESSAGE,
    BATCH_LIMIT,
    CountingWindow,
    batch_response,
    batch_too_large,
    error_response,
    input_ids,
    iso_ms,
    multi_status,
    normalise,
    not_found,
    paged,
    paging_params,
    read_body,
    requested_properties,
    throttled,
    unknown_type,
)
from adapters.hubspot.records import parse_timestamp

Props = dict[str, str | None]
Endpoint = Callable[[Request], Awaitable[Response]]
ASSOCIATION_BATCH_LIMIT = 1000


class HubSpotEmulator:
    """In-memory HubSpot portal served over HTTP; tests use the Python methods to seed and inspect."""

    def __init__(
        self,
        *,
        token: str = "demo-token",  # noqa: S107 - the emulator's own demo credential, not a secret
        clock: Callable[[], float] = time.time,
        search_lag_s: float = 0.0,
        search_per_second: int = 5,
        burst_per_10s: int = 100,
        send_retry_after: bool = True,
    ) -> None:
        self.token, self.clock, self.search_lag_s = token, clock, search_lag_s
        self.send_retry_after = send_retry_after
        self.log, self.faults = RequestLog(), Faults()
        self.refuse_updates: set[str] = set()  # fault knob: batch updates report these ids as failed (207)
        # fault hook, called with (object type, searches of that type answered so far) after each search
        self.after_search: Callable[[str, int], None] | None = None
        self._searches: dict[str, int] = {}
        self._secondly = CountingWindow(search_per_second, 1.0)
        self._burst = CountingWindow(burst_per_10s, 10.0)
        self._lock = threading.RLock()
        self._ids = itertools.count(10_001)
        self._objects: dict[str, dict[str, Props]] = {t: {} for t in OBJECT_TYPES}
        self._index: dict[str, SearchIndex] = {t: SearchIndex() for t in OBJECT_TYPES}
        self._pending: list[tuple[float, int, str, str, Props]] = []
        self._seq = itertools.count()
        self._assoc: dict[tuple[str, str], dict[str, list[str]]] = {pair: {} for pair in ASSOCIATION_TYPES}
        self._owners: dict[str, dict[str, Any]] = {}
        self.app: Starlette = emulator_app("hubspot", self._routes(), self.log, self.faults, self.clock)

    # -- seeding and inspection (Python side) -----------------------------------------------------
    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def seed_demo(self, seed: int = 7, companies: int = 60, tickets: int = 600) -> None:
        """A deterministic demo portal: owners, companies, open deals and feedback-heavy tickets."""
        from adapters.hubspot.seed import seed_portal

        seed_portal(self, seed=seed, companies=companies, tickets=tickets)
        with self._lock:  # the history is already searchable: index it now, not on the first search
            self._refresh_index()

    def add_owner(self, email: str, first_name: str = "", last_name: str = "") -> str:
        with self._lock:
            owner_id = str(next(self._ids))
            stamp = iso_ms(self.now_ms())
            self._owners[owner_id] = {
                "id": owner_id,
                "email": email,
                "type": "PERSON",
                "firstName": first_name,
                "lastName": last_name,
                "userId": int(owner_id) + 1_000_000,
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "teams": [],
            }
            return owner_id

    def add_company(self, name: str, properties: Mapping[str, str] | None = None) -> str:
        return self._create("companies", {"name": name, **(properties or {})})

    def add_deal(self, company_id: str, properties: Mapping[str, str]) -> str:
        deal_id = self._create("deals", dict(properties))
        self._associate("deals", deal_id, "companies", company_id)
        return deal_id

    def add_ticket(self, properties: Mapping[str, str], company_id: str | None = None) -> str:
        """A ticket as a UI or import would create it; `hs_lastmodifieddate`/`createdate` may be given."""
        ticket_id = self._create("tickets", {"hs_pipeline": "0", "hs_pipeline_stage": "1", **properties})
        if company_id is not None:
            self._associate("tickets", ticket_id, "companies", company_id)
        return ticket_id

    def update_ticket(self, ticket_id: str, **properties: str) -> None:
        """Edit a ticket like a user in the UI would: bumps `hs_lastmodifieddate` to now."""
        with self._lock:
            if ticket_id not in self._objects["tickets"]:
                raise KeyError(ticket_id)
            self._write("tickets", ticket_id, properties)

    def update_company(self, company_id: str, **properties: str) -> None:
        """Edit a company like a user would: bumps `hs_lastmodifieddate` to now."""
        self._update("companies", company_id, properties)

    def update_deal(self, deal_id: str, **properties: str) -> None:
        """Edit a deal (amount, dealstage, hs_is_closed...): bumps `hs_lastmodifieddate` to now."""
        self._update("deals", deal_id, properties)

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Associate two records like the UI does; like HubSpot, this does NOT bump either's modified time."""
        self._associate(from_type, from_id, to_type, to_id)

    def set_promised_date(self, ticket_id: str, promised: date | None) -> None:
        """Sales records (or clears) the date promised to the customer on a ticket."""
        self.update_ticket(ticket_id, syncer_promised_date=promised.isoformat() if promised else "")

    def delete(self, object_type: str, object_id: str, *, keep_associations: bool = False) -> None:
        """Archive a record (gone from reads and search). `keep_associations` leaves the links of other
        records pointing at it, like an association read served before the delete reached it."""
        with self._lock:
            del self._objects[object_type][object_id]
            self._index[object_type].discard(object_id)
            self._pending = [p for p in self._pending if (p[2], p[3]) != (object_type, object_id)]
            heapq.heapify(self._pending)
            if keep_associations:
                return
            for (from_type, to_type), links in self._assoc.items():
                if from_type == object_type:
                    links.pop(object_id, None)
                elif to_type == object_type:
                    for targets in links.values():
                        while object_id in targets:
                            targets.remove(object_id)

    def tasks(self) -> list[dict[str, Any]]:
        """Every task: `{"id", "properties", "companies": [ids], "tickets": [ids]}`, by ascending id."""
        return self._engagements("tasks")

    def notes(self) -> list[dict[str, Any]]:
        """Every note, shaped like `tasks()`."""
        return self._engagements("notes")

    def ticket(self, ticket_id: str) -> dict[str, str | None]:
        with self._lock:
            return dict(self._objects["tickets"][ticket_id])

    def company(self, company_id: str) -> dict[str, str | None]:
        with self._lock:
            return dict(self._objects["companies"][company_id])

    def ids(self, object_type: str) -> list[str]:
        with self._lock:
            return list(self._objects[object_type])

    def associated(self, from_type: str, to_type: str) -> dict[str, list[str]]:
        """Every association from one object type to another: from id -> to ids (a copy)."""
        with self._lock:
            return {k: list(v) for k, v in self._assoc[(from_type, to_type)].items()}

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {**{t: len(objs) for t, objs in self._objects.items()}, "owners": len(self._owners)}

    # -- storage ----------------------------------------------------------------------------------
    def _update(self, object_type: str, object_id: str, properties: Mapping[str, str]) -> None:
        with self._lock:
            if object_id not in self._objects[object_type]:
                raise KeyError(object_id)
            self._write(object_type, object_id, properties)

    def _engagements(self, object_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "id": object_id,
                    "properties": dict(props),
                    "companies": list(self._assoc[(object_type, "companies")].get(object_id, [])),
                    "tickets": list(self._assoc[(object_type, "tickets")].get(object_id, [])),
                }
                for object_id, props in sorted(self._objects[object_type].items(), key=lambda kv: int(kv[0]))
            ]

    def _create(self, object_type: str, properties: Mapping[str, str | None]) -> str:
        with self._lock:
            object_id = str(next(self._ids))
            now = self.now_ms()
            props: Props = {k: normalise(k, v) for k, v in properties.items()}
            props.setdefault("createdate", iso_ms(now))
            props.setdefault("hs_lastmodifieddate", props["createdate"])
            props["hs_object_id"] = object_id
            self._objects[object_type][object_id] = props
            self._queue_index(object_type, object_id, props)
            return object_id

    def _write(self, object_type: str, object_id: str, properties: Mapping[str, Any]) -> Props:
        props = self._objects[object_type][object_id]
        for key, value in properties.items():
            if key not in ("hs_object_id", "createdate", "hs_lastmodifieddate"):
                props[key] = None if value is None else str(value)
        modified_ms = self.now_ms()
        props["hs_lastmodifieddate"] = iso_ms(modified_ms)
        self._queue_index(object_type, object_id, props, modified_ms / 1000)
        return props

    def _queue_index(
        self, object_type: str, object_id: str, props: Props, modified: float | None = None
    ) -> None:
        """Search sees a write only `search_lag_s` after it happened (the index is fed asynchronously).
        `modified` is the write's stamp in seconds when the caller has it (else read from `props`).

        Seeded history (a modification time in the past) is therefore already indexed.
        """
        now = self.clock()
        if modified is None:
            stamp = props.get("hs_lastmodifieddate")
            modified = parse_timestamp(stamp).timestamp() if stamp else now
        visible_at = min(now, modified) + self.search_lag_s
        heapq.heappush(self._pending, (visible_at, next(self._seq), object_type, object_id, dict(props)))

    def _refresh_index(self) -> None:
        now = self.clock()
        while self._pending and self._pending[0][0] <= now:
            _, _, object_type, object_id, snapshot = heapq.heappop(self._pending)
            self._index[object_type].put(index_entry(object_id, snapshot))

    def _associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        with self._lock:
            self._assoc[(from_type, to_type)].setdefault(from_id, []).append(to_id)
            self._assoc[(to_type, from_type)].setdefault(to_id, []).append(from_id)

    # -- HTTP -------------------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        objects = "/crm/v3/objects/{object_type}"
        table: list[tuple[str, Endpoint, str, bool]] = [
            (f"{objects}/search", self._search, "POST", True),
            (f"{objects}/batch/read", self._batch_read, "POST", False),
            (f"{objects}/batch/update", self._batch_update, "POST", False),
            (f"{objects}/batch/create", self._batch_create, "POST", False),
            (f"{objects}/{{object_id}}", self._get_one, "GET", False),
            (f"{objects}/{{object_id}}", self._patch_one, "PATCH", False),
            (objects, self._list, "GET", False),
            (objects, self._create_one, "POST", False),
            ("/crm/v3/owners", self._list_owners, "GET", False),
            ("/crm/v3/owners/", self._list_owners, "GET", False),
            ("/crm/v4/associations/{from_type}/{to_type}/batch/read", self._association_read, "POST", False),
        ]
        return [
            Route(path, self._guarded(fn, search), methods=[method]) for path, fn, method, search in table
        ] + HubSpotV4Views(self).routes(self._guarded)  # what tap-hubspot reads (bench/compare.py)

    def _guarded(self, handler: Endpoint, search: bool) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if request.headers.get("authorization", "") != f"Bearer {self.token}":
                return error_response(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            over = self._burst.hit()
            limits = {
                "X-HubSpot-RateLimit-Max": str(self._burst.limit),
                "X-HubSpot-RateLimit-Remaining": str(self._burst.remaining()),
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            }
            if over is not None:
                return throttled(self.send_retry_after, "TEN_SECONDLY_ROLLING", over, limits)
            if search:
                over = self._secondly.hit()
                if over is not None:
                    return throttled(
                        self.send_retry_after, "SECONDLY", over, {}
                    )  # search answers carry no limit headers
            response = await handler(request)
            if not search:
                response.headers.update(limits)
            return response

        return endpoint

    async def _search(self, request: Request) -> Response:
        object_type, body = request.path_params["object_type"], await read_body(request)
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        if not isinstance(body, dict):
            return error_response(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        with self._lock:
            self._refresh_index()
            try:
                total, rows, next_after = run_search(self._index[object_type], body)
            except SearchError as exc:
                return error_response(400, str(exc), "VALIDATION_ERROR")
        wanted = body.get("properties") or None
        out: dict[str, Any] = {
            "total": total,
            "results": [public_object(object_type, row.object_id, row.props, wanted) for row in rows],
        }
        if next_after is not None:
            out["paging"] = {"next": {"after": next_after, "link": f"?after={next_after}"}}
        if self.after_search is not None:
            with self._lock:
                self._searches[object_type] = nth = self._searches.get(object_type, 0) + 1
            self.after_search(object_type, nth)
        return ORJSONResponse(out)

    async def _batch_read(self, request: Request) -> Response:
        object_type, body = request.path_params["object_type"], await read_body(request)
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        inputs = input_ids(body)
        if inputs is None or len(inputs) > BATCH_LIMIT:
            return batch_too_large(inputs)
        wanted = body.get("properties") or None
        with self._lock:
            store = self._objects[object_type]
            results = [public_object(object_type, i, store[i], wanted) for i in inputs if i in store]
            missing = [i for i in inputs if i not in store]
        return batch_response(object_type, results, missing, "Could not get some {} objects")

    async def _batch_update(self, request: Request) -> Response:
        object_type, body = request.path_params["object_type"], await read_body(request)
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or len(inputs) > BATCH_LIMIT:
            return batch_too_large(inputs)
        ids = [str(item.get("id")) for item in inputs if isinstance(item, dict)]
        if len(set(ids)) != len(ids):
            return error_response(400, "Duplicate IDs found in batch input", "VALIDATION_ERROR")
        with self._lock:
            store = self._objects[object_type]
            results, missing = [], []
            for item in inputs:
                object_id = str(item.get("id"))
                if object_id not in store or object_id in self.refuse_updates:
                    missing.append(object_id)
                    continue
                written = item.get("properties") or {}
                props = self._write(object_type, object_id, written)
                # the answer shows what was written (and the system properties), as HubSpot's
                # documented example does, not every property of the object
                results.append(public_object(object_type, object_id, props, list(written) or None))
        return batch_response(object_type, results, missing, "Could not update some {} objects")

    async def _batch_create(self, request: Request) -> Response:
        object_type, body = request.path_params["object_type"], await read_body(request)
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        with self._lock:
            try:
                new = parse_create_inputs(object_type, body, self._exists, BATCH_LIMIT)
            except CreateError as exc:
                return error_response(400, str(exc), "VALIDATION_ERROR")
            results = [self._create_new(object_type, item) for item in new]
        stamp = iso_ms(self.now_ms())
        return ORJSONResponse(
            {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}, 201
        )

    def _create_new(self, object_type: str, item: NewObject) -> dict[str, Any]:
        object_id = self._create(object_type, item.properties)
        for to_type, target in item.links:
            self._associate(object_type, object_id, to_type, target)
        props = self._objects[object_type][object_id]
        result = public_object(object_type, object_id, props, list(props))
        if item.trace_id is not None:
            result["objectWriteTraceId"] = item.trace_id
        return result

    def _exists(self, object_type: str, object_id: str) -> bool:
        return object_id in self._objects.get(object_type, {})

    async def _get_one(self, request: Request) -> Response:
        object_type, object_id = request.path_params["object_type"], request.path_params["object_id"]
        wanted = requested_properties(request)
        with self._lock:
            props = self._objects.get(object_type, {}).get(object_id)
            if props is None:
                return not_found(object_id)
            return ORJSONResponse(public_object(object_type, object_id, props, wanted))

    async def _patch_one(self, request: Request) -> Response:
        object_type, object_id = request.path_params["object_type"], request.path_params["object_id"]
        body = await read_body(request)
        with self._lock:
            if object_id not in self._objects.get(object_type, {}):
                return not_found(object_id)
            props = self._write(object_type, object_id, (body or {}).get("properties") or {})
            return ORJSONResponse(public_object(object_type, object_id, props, list(props)))

    async def _create_one(self, request: Request) -> Response:
        object_type, body = request.path_params["object_type"], await read_body(request)
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        with self._lock:
            try:
                (item,) = parse_create_inputs(object_type, {"inputs": [body]}, self._exists, 1)
            except CreateError as exc:
                return error_response(400, str(exc).removeprefix("inputs[0]: "), "VALIDATION_ERROR")
            return ORJSONResponse(self._create_new(object_type, item), 201)

    async def _list(self, request: Request) -> Response:
        object_type = request.path_params["object_type"]
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        limit, after = paging_params(request, default=10, cap=100)
        wanted = requested_properties(request)
        with self._lock:
            ids = sorted(self._objects[object_type], key=int)
            chunk = ids[after : after + limit]
            results = [public_object(object_type, i, self._objects[object_type][i], wanted) for i in chunk]
        return ORJSONResponse(paged(results, after + limit, len(ids)))

    async def _list_owners(self, request: Request) -> Response:
        limit, after = paging_params(request, default=100, cap=500)
        email = request.query_params.get("email")
        with self._lock:
            owners = [o for o in self._owners.values() if email in (None, o["email"])]
        return ORJSONResponse(paged(owners[after : after + limit], after + limit, len(owners)))

    async def _association_read(self, request: Request) -> Response:
        from_type, to_type = request.path_params["from_type"], request.path_params["to_type"]
        if (from_type, to_type) not in self._assoc:
            return unknown_type(f"{from_type}->{to_type}")
        inputs = input_ids(await read_body(request))
        if inputs is None or len(inputs) > ASSOCIATION_BATCH_LIMIT:
            return batch_too_large(inputs, ASSOCIATION_BATCH_LIMIT)
        with self._lock:
            links = {i: list(self._assoc[(from_type, to_type)].get(i, [])) for i in inputs}
        return multi_status(*association_read_body(from_type, to_type, links))
