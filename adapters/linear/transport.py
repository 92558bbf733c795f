"""Linear-specific HTTP behaviour the shared HttpClient does not know about.

- Throttling is a GraphQL error, `errors[].extensions.code == "RATELIMITED"`, answered with HTTP 400
  (not 429), and without `Retry-After`: the reset time is `X-RateLimit-Requests-Reset` (or
  `X-RateLimit-Complexity-Reset`), epoch **milliseconds**. The transport turns it into `retry-after`
  seconds so the HttpClient's one Retry-After path applies. https://developers.linear.app/docs/graphql/working-with-the-graphql-api/rate-limiting
- Auth failures come as `AUTHENTICATION_ERROR` / `FORBIDDEN` codes (401, or 400 on some paths).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from adapters.http import ErrorKind, classify_status
from adapters.linear.records import error_codes

_BUCKETS = ("x-ratelimit-requests", "x-ratelimit-complexity", "x-ratelimit-endpoint")


def _codes(response: httpx.Response) -> tuple[str, ...]:
    try:
        return error_codes(response.json())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ()


def classify_linear(response: httpx.Response) -> ErrorKind | None:
    """The shared table, except that the error codes in a 4xx GraphQL body decide first."""
    if 400 <= response.status_code < 500:
        codes = _codes(response)
        if "RATELIMITED" in codes:
            return ErrorKind.RATE_LIMITED
        if "AUTHENTICATION_ERROR" in codes or "FORBIDDEN" in codes:
            return ErrorKind.AUTH
    return classify_status(response)


class LinearTransport(httpx.BaseTransport):
    """Wraps the real transport: adds `retry-after` seconds to RATELIMITED answers (from the resets)."""

    def __init__(
        self, inner: httpx.BaseTransport | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._inner, self._clock = inner or httpx.HTTPTransport(), clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code != 400 or "retry-after" in response.headers:
            return response
        response.read()
        if "RATELIMITED" not in _codes(response):
            return response
        # the reset of an exhausted bucket only: another bucket's reset may be an hour away
        resets = [
            int(v)
            for b in _BUCKETS
            if response.headers.get(f"{b}-remaining") == "0"
            and (v := response.headers.get(f"{b}-reset", "")).isdigit()
        ]
        if resets:
            wait = max(resets) / 1000 - self._clock()
            response.headers["retry-after"] = str(max(0, int(wait + 0.999)))
        return response

    def close(self) -> None:
        self._inner.close()
