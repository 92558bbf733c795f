"""Request parsing and paging tokens for the Jira emulator's enhanced search (`/rest/api/3/search/jql`)."""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.emulation import ORJSONResponse
from adapters.jira.emulator_fields import error_body


def search_args(
    request: Request, body: Any
) -> tuple[str, str | None, int | None, list[str], set[int]] | Response:
    if request.method == "POST":
        data = body if isinstance(body, dict) else {}
        jql, token, size = data.get("jql", ""), data.get("nextPageToken"), data.get("maxResults")
        fields = [str(f) for f in data.get("fields") or []]
        reconcile_raw = [str(x) for x in data.get("reconcileIssues") or []]
    else:
        q = request.query_params
        jql, token, size = q.get("jql", ""), q.get("nextPageToken"), q.get("maxResults")
        fields = q.getlist("fields")
        reconcile_raw = [x for item in q.getlist("reconcileIssues") for x in item.split(",") if x]
    try:
        max_results = int(size) if size is not None else None
        reconcile = {int(x) for x in reconcile_raw}
    except ValueError:
        return error_body(400, ["maxResults and reconcileIssues must be integers."])
    return str(jql), token, max_results, fields, reconcile


def wanted_fields(values: list[str], *, default_all: bool) -> set[str] | None:
    """None means every field; otherwise the set of field ids asked for (`-x` removes, `*all` adds all)."""
    names = {n.strip() for value in values for n in value.split(",") if n.strip()}
    if not names:
        return None if default_all else {"id", "key"}
    if names & {"*all", "*navigable"}:
        return None
    return {n for n in names if not n.startswith("-")}


def make_token(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": digest}).encode()).decode().rstrip("=")


def read_token(token: str, digest: str) -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or data.get("q") != digest or not isinstance(data.get("o"), int):
        return None
    return int(data["o"])


def throttled(limit: int, wait: float) -> Response:
    reset = datetime.now(UTC) + timedelta(seconds=wait)
    headers = {
        "Retry-After": str(max(1, math.ceil(wait))),
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "RateLimit-Reason": "jira-burst-based",
    }
    return ORJSONResponse({"errorMessages": ["Rate limit exceeded."], "errors": {}}, 429, headers=headers)
