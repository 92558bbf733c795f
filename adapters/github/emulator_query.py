"""Request parsing and response helpers of the GitHub emulator: paging links, params, 422 bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def links(request: Request, page: int, last: int) -> str:
    def url(n: int) -> str:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"] + [("page", str(n))]
        return f"<{origin(request)}{request.url.path}?{urlencode(query)}>"

    parts = []
    if page > 1:
        parts += [f'{url(page - 1)}; rel="prev"', f'{url(1)}; rel="first"']
    if page < last:
        parts += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
    return ", ".join(parts)


def int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def parse_since(text: str) -> int | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def label_list(value: Any) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    names: list[str] = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name or len(name) > 50:
            return None
        if name not in names:
            names.append(name)
    return names


def validation(resource: str, field: str, code: str) -> Response:
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": resource, "field": field, "code": code}],
        "documentation_url": "https://docs.github.com/rest/issues/issues",
        "status": "422",
    }
    return JSONResponse(body, 422)


def invalid(param: str) -> Response:
    return validation("Issue", param, "invalid")
