"""The Jira emulator's project versions (split from emulator.py): REST handlers and the edits behind them.

`GET /project/{key}/version` is paged like Jira's PageBeanVersion (`startAt`, `maxResults` default 50,
`total`, `isLast`, `nextPage` only when there is one); `GET /project/{key}/versions` is the unpaged list.
`released` cannot be set on create, only by update. Releasing or renaming a version does not touch issues.
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-project-versions/
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from adapters.emulation import ORJSONResponse
from adapters.jira.emulator_fields import PROJECT_ID, EmuVersion, error_body, render_version

DEFAULT_PAGE = 50
_STATUSES = frozenset({"released", "unreleased", "archived"})


class VersionBook:
    """One project's versions by id; callers hold the emulator's lock around every call."""

    def __init__(self, project_key: str, clock: Callable[[], float]) -> None:
        self.project_key, self.clock = project_key, clock
        self.by_id: dict[int, EmuVersion] = {}
        self._next = 10000

    # -- Python-side edits (test helpers go through these) ----------------------------------------
    def add(self, name: str, **attrs: Any) -> EmuVersion:
        version = EmuVersion(self._next, name, **attrs)
        self.by_id[version.id] = version
        self._next += 1
        return version

    def named(self, name: str) -> EmuVersion:
        found = next((v for v in self.by_id.values() if v.name == name), None)
        if found is None:
            raise KeyError(f"no version named {name!r}")
        return found

    def change(self, name: str, body: dict[str, Any]) -> EmuVersion:
        """Apply a `PUT /version/{id}`-shaped body to the version called `name`; ValueError if invalid."""
        version = self.named(name)
        candidate = copy.copy(version)
        errors = self._edit(candidate, body)
        if errors:
            raise ValueError(f"version {name!r}: {errors}")
        self.by_id[version.id] = candidate
        return candidate

    def _edit(self, version: EmuVersion, body: dict[str, Any]) -> dict[str, str]:
        """Jira's per-field errors for an edit (empty when applied)."""
        if "name" in body:
            name = str(body["name"] or "").strip()
            if not name or len(name) > 255:
                return {"name": "You must specify a valid version name"}
            if any(v.name == name and v.id != version.id for v in self.by_id.values()):
                return {"name": "A version with this name already exists in this project."}
            version.name = name
        for attr, key in (("release_date", "releaseDate"), ("start_date", "startDate")):
            if key in body:
                value = body[key]
                if value is not None and not _is_date(value):
                    return {key: "The date must be in the format yyyy-mm-dd."}
                setattr(version, attr, value)
        for attr in ("released", "archived"):
            if attr in body:
                setattr(version, attr, bool(body[attr]))
        if "description" in body:
            version.description = str(body["description"] or "")
        return {}

    # -- REST -------------------------------------------------------------------------------------
    def render(self, request: Request, version: EmuVersion) -> dict[str, Any]:
        base, v = _base(request), request.path_params["v"]
        return render_version(version, base, v, PROJECT_ID, self.clock())

    def list_all(self, request: Request, body: Any) -> Response:
        """GET /project/{key}/versions: every version, unpaged."""
        if not self._ours(request.path_params["key"]):
            return _no_project(request)
        return ORJSONResponse([self.render(request, x) for x in self.by_id.values()])

    def page(self, request: Request, body: Any) -> Response:
        """GET /project/{key}/version: one PageBeanVersion, in sequence (creation) order."""
        if not self._ours(request.path_params["key"]):
            return _no_project(request)
        query = request.query_params
        try:
            start, size = int(query.get("startAt", 0)), int(query.get("maxResults", DEFAULT_PAGE))
        except ValueError:
            return error_body(400, ["startAt and maxResults must be integers."])
        wanted = {s.strip().lower() for s in query.get("status", "").split(",") if s.strip()}
        if start < 0 or wanted - _STATUSES:
            return error_body(400, ["Invalid startAt or status (released, unreleased, archived)."])
        size = max(1, size)
        chosen = [x for x in self.by_id.values() if not wanted or _status(x) in wanted]
        url = f"{_base(request)}{request.url.path}?"
        out: dict[str, Any] = {
            "self": url + urlencode({"maxResults": size, "startAt": start}),
            "maxResults": size,
            "startAt": start,
            "total": len(chosen),
            "isLast": start + size >= len(chosen),
            "values": [self.render(request, x) for x in chosen[start : start + size]],
        }
        if not out["isLast"]:
            out["nextPage"] = url + urlencode({"maxResults": size, "startAt": start + size})
        return ORJSONResponse(out)

    def create(self, request: Request, body: Any) -> Response:
        """POST /version."""
        body = body if isinstance(body, dict) else {}
        if not self._ours(str(body.get("projectId", body.get("project", "")))):
            return error_body(400, errors={"project": "Project must be specified to create a version."})
        if "released" in body:
            return error_body(400, errors={"released": "A version cannot be released when it is created."})
        version = self.add(str(body.get("name") or ""))
        errors = self._edit(version, body)
        if errors:
            del self.by_id[version.id]
            return error_body(400, errors=errors)
        return ORJSONResponse(self.render(request, version), 201)

    def one(self, request: Request, body: Any) -> Response:
        """GET or PUT /version/{id}."""
        ident = request.path_params["id"]
        version = self.by_id.get(int(ident)) if ident.isdigit() else None
        if version is None:
            return error_body(404, [f"Could not find version for id '{ident}'"])
        if request.method == "PUT":
            candidate = copy.copy(version)
            errors = self._edit(candidate, body if isinstance(body, dict) else {})
            if errors:
                return error_body(400, errors=errors)
            self.by_id[version.id] = version = candidate
        return ORJSONResponse(self.render(request, version))

    def _ours(self, key: str) -> bool:
        return key.upper() in (self.project_key, str(PROJECT_ID))


def _status(version: EmuVersion) -> str:
    if version.archived:
        return "archived"
    return "released" if version.released else "unreleased"


def _no_project(request: Request) -> Response:
    return error_body(404, [f"No project could be found with key '{request.path_params['key']}'."])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _is_date(value: Any) -> bool:
    try:
        datetime.strptime(str(value), "%Y-%m-%d")  # noqa: DTZ007 - a calendar date, no zone
    except ValueError:
        return False
    return True
