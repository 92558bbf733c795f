"""GitHub-specific HTTP behaviour that the shared HttpClient does not know about.

- Conditional requests: the first page of an incremental issue pull is sent with `If-None-Match`
  (the ETag of the last answer for the same URL, kept only when that answer was a single page);
  an authorized 304 does not count against the primary rate limit, so an idle poll is nearly free.
  https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
- Rate limits: 403 is also GitHub's throttling status. A 403/429 with `retry-after`, or with
  `x-ratelimit-remaining: 0`, is throttling, not an auth failure; without `retry-after` the wait is
  `x-ratelimit-reset` (epoch seconds) minus now, which is turned into a `retry-after` header here so
  the HttpClient's one Retry-After path handles it (and stops the run when it is too long).
  https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import httpx

from adapters.http import ErrorKind, classify_status

ETAG_CACHE_SIZE = 256


def is_throttled(response: httpx.Response) -> bool:
    return response.status_code in (403, 429) and (
        "retry-after" in response.headers or response.headers.get("x-ratelimit-remaining") == "0"
    )


def classify_github(response: httpx.Response) -> ErrorKind | None:
    """The shared table, except that a 403 carrying rate-limit signals is throttling."""
    if is_throttled(response):
        return ErrorKind.RATE_LIMITED
    return classify_status(response)


def is_changed_issues_pull(request: httpx.Request) -> bool:
    """First page of `GET .../issues?since=...`: the one request worth making conditional."""
    params = request.url.params
    return (
        request.method == "GET"
        and request.url.path.endswith("/issues")
        and "since" in params
        and "page" not in params
    )


class GitHubTransport(httpx.BaseTransport):
    """Wraps the real transport: adds `If-None-Match` to conditional GETs, normalises rate-limit hints."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        conditional: Callable[[httpx.Request], bool] = is_changed_issues_pull,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._conditional, self._clock = conditional, clock
        self._etags: OrderedDict[str, str] = OrderedDict()  # URL -> ETag, bounded (LRU)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = str(request.url) if self._conditional(request) else None
        if key is not None:
            with self._lock:
                etag = self._etags.get(key)
            if etag:
                request.headers["If-None-Match"] = etag
        response = self._inner.handle_request(request)
        if key is not None and response.status_code == 200:
            self._remember(key, response)
        if is_throttled(response) and "retry-after" not in response.headers:
            reset = response.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                response.headers["retry-after"] = str(max(0, int(reset) - int(self._clock())))
        return response

    def _remember(self, key: str, response: httpx.Response) -> None:
        """Keep the ETag only when the answer was the whole result (no `rel="next"`).

        The list is sorted by a mutable field: an edit moves an issue to the last page and a new
        issue lands there too, so an unchanged first page says nothing about later pages.
        """
        etag = response.headers.get("etag")
        whole = "next" not in response.links
        with self._lock:
            if etag and whole:
                self._etags[key] = etag
                self._etags.move_to_end(key)
                while len(self._etags) > ETAG_CACHE_SIZE:
                    self._etags.popitem(last=False)
            else:
                self._etags.pop(key, None)

    def close(self) -> None:
        self._inner.close()
