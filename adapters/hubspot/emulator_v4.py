"""The HubSpot endpoints a third-party extractor needs, beside the ones syncer's client uses.

singer's `tap-hubspot` 4.5 (the comparison in bench/compare.py) trades a refresh token at
`POST /oauth/2026-03/token`, reads property definitions (`GET /crm/v3/properties/tickets`) and the
custom-object schemas (`GET /crm/v3/schemas`) to build its catalog, then lists
`GET /crm/v4/objects/tickets` 100 per page with `after` paging and associations inline. These views
serve the same portal as the v3 ones (same objects, same associations) and sit behind the same
authentication and rate windows; only the token exchange is authenticated by its form fields.

Shapes: https://developers.hubspot.com/docs/api-reference/latest/crm/objects/tickets/guide (list with
`associations`: `{"companies": {"results": [{"id", "type"}]}}`, `paging.next.after`),
https://developers.hubspot.com/docs/api-reference/latest/authentication/manage-oauth-tokens
(refresh-token grant, form-encoded; `access_token`, `refresh_token`, `expires_in`, `token_type`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.emulation import ORJSONResponse
from adapters.hubspot.emulator_objects import OBJECT_TYPES, public_object
from adapters.hubspot.emulator_search import DEFAULT_PROPERTIES
from adapters.hubspot.emulator_wire import (
    paged,
    paging_params,
    requested_properties,
    throttled,
    unknown_type,
)

if TYPE_CHECKING:
    from adapters.hubspot.emulator import HubSpotEmulator

Endpoint = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Endpoint, bool], Endpoint]

REFRESH_TOKEN = "demo-refresh-token-not-a-secret"  # noqa: S105 - the emulator's fixed demo credential
TOKEN_TTL_S = 1800  # HubSpot access tokens live 30 minutes
LIST_CAP = 100
# `associations=contact,company,deals`: HubSpot accepts singular and plural object names
_SINGULAR = {"companies": "company", "tickets": "ticket", "deals": "deal", "tasks": "task", "notes": "note"}
_PLURAL = {singular: plural for plural, singular in _SINGULAR.items()}
_DATETIMES = frozenset({"createdate", "hs_lastmodifieddate", "hs_timestamp", "closedate"})
_NUMBERS = frozenset({"hs_object_id", "amount", "annualrevenue"})


class HubSpotV4Views:
    """Routes over one `HubSpotEmulator`'s portal; mounted by the emulator through its own guard."""

    def __init__(self, emulator: HubSpotEmulator, refresh_token: str = REFRESH_TOKEN) -> None:
        self._emu, self.refresh_token = emulator, refresh_token

    def routes(self, guard: Guard) -> list[Route]:
        guarded: list[tuple[str, Endpoint]] = [
            ("/crm/v4/objects/{object_type}", self._list),
            ("/crm/v3/properties/{object_type}", self._properties),
            ("/crm/v3/schemas", self._schemas),
        ]
        return [
            Route("/oauth/2026-03/token", self._token, methods=["POST"]),
            *(Route(path, guard(fn, False), methods=["GET"]) for path, fn in guarded),
        ]

    async def _token(self, request: Request) -> Response:
        """Refresh-token grant; the access token handed out is the one the emulator's guard accepts."""
        over = self._emu._burst.hit()
        if over is not None:
            return throttled(self._emu.send_retry_after, "TEN_SECONDLY_ROLLING", over, {})
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return _oauth_error("UNSUPPORTED_GRANT_TYPE", "grant_type must be refresh_token here")
        if not form.get("client_id") or not form.get("client_secret"):
            return _oauth_error("BAD_CLIENT_ID", "missing or unknown client id or secret")
        if form.get("refresh_token") != self.refresh_token:
            return _oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        body = {
            "token_type": "bearer",
            "access_token": self._emu.token,
            "refresh_token": self.refresh_token,
            "expires_in": TOKEN_TTL_S,
        }
        return ORJSONResponse(body)

    async def _list(self, request: Request) -> Response:
        object_type = request.path_params["object_type"]
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        limit, after = paging_params(request, default=10, cap=LIST_CAP)
        wanted = requested_properties(request)
        linked = _association_types(request)
        emu = self._emu
        with emu._lock:
            store = emu._objects[object_type]
            ids = sorted(store, key=int)
            results = []
            for object_id in ids[after : after + limit]:
                row = public_object(object_type, object_id, store[object_id], wanted)
                links = self._associations(object_type, object_id, linked)
                if links:
                    row["associations"] = links
                results.append(row)
        return ORJSONResponse(paged(results, after + limit, len(ids)))

    def _associations(self, object_type: str, object_id: str, linked: list[str]) -> dict[str, Any]:
        """Only non-empty association types appear, like HubSpot's list; caller holds the lock."""
        out: dict[str, Any] = {}
        for to_type in linked:
            targets = self._emu._assoc.get((object_type, to_type), {}).get(object_id, [])
            if targets:
                label = f"{_SINGULAR[object_type]}_to_{_SINGULAR[to_type]}"
                out[to_type] = {"results": [{"id": t, "type": label} for t in dict.fromkeys(targets)]}
        return out

    async def _properties(self, request: Request) -> Response:
        object_type = request.path_params["object_type"]
        if object_type not in OBJECT_TYPES:
            return unknown_type(object_type)
        with self._emu._lock:
            seen = {name for props in self._emu._objects[object_type].values() for name in props}
        names = dict.fromkeys([*DEFAULT_PROPERTIES[object_type], *sorted(seen)])
        return ORJSONResponse({"results": [_definition(object_type, name) for name in names]})

    async def _schemas(self, request: Request) -> Response:
        return ORJSONResponse({"results": []})  # the emulated portal defines no custom objects


def _association_types(request: Request) -> list[str]:
    names = [n.strip() for v in request.query_params.getlist("associations") for n in v.split(",")]
    known = [_PLURAL.get(n, n) for n in names if n]
    return [t for t in dict.fromkeys(known) if t in OBJECT_TYPES]


def _definition(object_type: str, name: str) -> dict[str, Any]:
    kind = "datetime" if name in _DATETIMES else "number" if name in _NUMBERS else "string"
    field = {"datetime": "date", "number": "number"}.get(kind, "text")
    return {
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "type": kind,
        "fieldType": field,
        "groupName": f"{_SINGULAR[object_type]}information",
        "description": "",
        "options": [],
        "hidden": False,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": name == "hs_object_id",
        "formField": not name.startswith("hs_"),
        "archived": False,
    }


def _oauth_error(status: str, message: str) -> ORJSONResponse:
    """The OAuth endpoints name the problem in `status` (e.g. BAD_REFRESH_TOKEN), not `category`."""
    return ORJSONResponse({"status": status, "message": message, "correlationId": str(uuid.uuid4())}, 400)
