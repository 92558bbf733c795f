"""The one HTTP client every adapter uses: retries, rate limiting, request counting, redacted logs.

Adapters never sleep or loop to retry. They call `HttpClient.request` (or the `*_json` helpers) and get
either a response or one of the errors in `adapters.errors`. Status codes are classified by a table;
vendors that throttle with something other than 429 pass a `classify` function.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from adapters.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    SyncError,
    TransientError,
)

# the limiters live in adapters/rate_limits.py and the response readers in adapters/responses.py;
# adapters keep importing them from here (re-exported)
from adapters.rate_limits import Limiter as Limiter
from adapters.rate_limits import MovingWindow as MovingWindow
from adapters.rate_limits import RateLimit as RateLimit
from adapters.rate_limits import TokenBucket as TokenBucket
from adapters.rate_limits import acquire_together as acquire_together
from adapters.rate_limits import limiter_for as limiter_for
from adapters.rate_limits import reserve_together as reserve_together
from adapters.responses import decode_json, encode_json, excerpt
from adapters.responses import json_body as json_body
from adapters.responses import parse_retry_after as parse_retry_after
from adapters.responses import redacted_url as redacted_url
from adapters.responses import server_date as server_date
from adapters.responses import server_time as server_time

log = structlog.get_logger("syncer.http")
_JSON_CONTENT = {"Content-Type": "application/json"}


class ErrorKind(Enum):
    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    PERMANENT = "permanent"


# status -> kind; anything 4xx not listed is permanent, anything 5xx not listed is transient
STATUS_KINDS: Mapping[int, ErrorKind] = {
    401: ErrorKind.AUTH,
    403: ErrorKind.AUTH,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TRANSIENT,
    409: ErrorKind.PERMANENT,
    425: ErrorKind.TRANSIENT,
    429: ErrorKind.RATE_LIMITED,
}

Classifier = Callable[[httpx.Response], ErrorKind | None]


def classify_status(response: httpx.Response) -> ErrorKind | None:
    """Default classification: None for success, otherwise the table above."""
    status = response.status_code
    if status < 300:
        return None
    if status < 400:  # we never follow redirects: a moved API or a wrong base URL must be fixed, not guessed
        return ErrorKind.PERMANENT
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    return ErrorKind.TRANSIENT if status >= 500 else ErrorKind.PERMANENT


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    # a Retry-After longer than this is not waited out in-process: the run fails and the next one resumes
    max_retry_after: float = 120.0


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """The TLS settings httpx builds by default (certifi's CAs, or `SSL_CERT_FILE`/`SSL_CERT_DIR`),
    built once per process and shared by every client: loading the CA bundle took ~25 ms per client,
    and a run builds one client per system (a scheduler, one per system per org run)."""
    return httpx.create_ssl_context()


class HttpClient:
    """One configured client per (org, system)."""

    def __init__(
        self,
        base_url: str,
        *,
        system: str,
        headers: Mapping[str, str] | None = None,
        limits: Mapping[str, RateLimit] | None = None,
        retry: RetryPolicy | None = None,
        classify: Classifier = classify_status,
        retry_after_headers: tuple[str, ...] = ("Retry-After",),
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        limiters: Mapping[str, Limiter] | None = None,
    ) -> None:
        """`limits` builds in-process token buckets; `limiters` (e.g. shared across replicas through
        Redis) replace the bucket of the same name."""
        self.system = system
        self._client = httpx.Client(
            base_url=base_url,
            headers=dict(headers or {}),
            transport=transport,
            timeout=timeout,
            verify=_ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
        )
        self._buckets: dict[str, Limiter] = {
            name: limiter_for(lim, clock, sleep) for name, lim in (limits or {}).items()
        }
        self._buckets.update(limiters or {})
        self._retry = retry or RetryPolicy()
        self._classify = classify
        self._retry_after_headers = retry_after_headers
        self._sleep, self._clock = sleep, clock
        self._lock = threading.Lock()
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.on_response: Callable[[str, int], None] | None = None

    @property
    def base_url(self) -> str:
        return str(self._client.base_url).rstrip("/")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        bucket: str = "default",
        idempotent: bool | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response (or one whose status is in `allow`).

        Non-idempotent calls (POST by default) are retried only when the server provably did not
        process them (429, connection refused); anything ambiguous is raised so the caller's intent
        journal decides, because a blind retry of a create is how duplicates are born.
        """
        retrying = self._retrying(_is_safe(method, idempotent))
        return retrying(self._send_once, method, path, params, encode_json(json_body), bucket, allow)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        bucket: str = "default",
        idempotent: bool | None = None,
    ) -> Any:
        """Like `request`, decoding the JSON body; a malformed body on a safe call is retried too."""
        body, _ = self.request_json_dated(
            method, path, params=params, json_body=json_body, bucket=bucket, idempotent=idempotent
        )
        return body

    def request_json_dated(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        bucket: str = "default",
        idempotent: bool | None = None,
    ) -> tuple[Any, datetime | None]:
        """Like `request_json`, with the vendor's clock when it answered (HTTP `Date`, None if absent):
        what a pull needs to know which of its records were certainly visible to it."""
        safe = _is_safe(method, idempotent)
        body = encode_json(json_body)  # once, however often it is sent

        def once() -> tuple[Any, datetime | None]:
            response = self._send_once(method, path, params, body, bucket, ())
            return decode_json(response), server_date(response)

        return self._retrying(safe)(once)

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None, bucket: str = "default") -> Any:
        return self.request_json("GET", path, params=params, bucket=bucket)

    def post_json(
        self,
        path: str,
        body: Any,
        *,
        params: Mapping[str, Any] | None = None,
        bucket: str = "default",
        idempotent: bool = False,
    ) -> Any:
        return self.request_json(
            "POST", path, params=params, json_body=body, bucket=bucket, idempotent=idempotent
        )

    def put_json(self, path: str, body: Any, *, bucket: str = "default") -> Any:
        return self.request_json("PUT", path, json_body=body, bucket=bucket)

    def patch_json(self, path: str, body: Any, *, bucket: str = "default") -> Any:
        return self.request_json("PATCH", path, json_body=body, bucket=bucket)

    # -- internals --------------------------------------------------------------------------------
    def _retrying(self, safe: bool) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self._retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._retriable(exc, safe)),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        bucket: str,
        allow: tuple[int, ...],
    ) -> httpx.Response:
        limiter = self._buckets.get(bucket) or self._buckets.get("default")
        general = self._buckets.get("default")
        # an endpoint budget (search) also counts toward the general one
        both = [lim for lim in (limiter, general if general is not limiter else None) if lim is not None]
        windows = [lim for lim in both if isinstance(lim, MovingWindow)]
        slot: float | None = None
        if windows and len(windows) == len(both):
            slot = reserve_together(windows, self._clock, self._sleep)
        else:
            for lim in both:
                lim.acquire()
        started = time.perf_counter()
        try:
            headers = _JSON_CONTENT if body is not None else None
            response = self._client.request(method, path, params=params, content=body, headers=headers)
            _unbind_stream(response)
        except httpx.ConnectError as exc:
            self._count(0)
            raise _NotSent(f"{self.system}: cannot connect: {exc}") from exc
        except httpx.TimeoutException as exc:
            self._count(0)
            raise TransientError(f"{self.system}: {method} {path} timed out") from exc
        except httpx.TransportError as exc:
            self._count(0)
            raise TransientError(f"{self.system}: {method} {path} failed: {type(exc).__name__}") from exc
        finally:
            if slot is not None:  # the vendor counted it before it answered: count it from the answer
                answered = self._clock()
                for window in windows:
                    window.finish(slot, answered)
        self._count(response.status_code)
        logger = log.bind()
        if _debug_enabled(logger):
            logger.debug(
                "http.responded",
                system=self.system,
                method=method,
                url=redacted_url(response.request.url),
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        if response.status_code in allow:
            return response
        kind = self._classify(response)
        if kind is None:
            return response
        raise self._error(kind, method, path, response, limiter)

    def _error(
        self, kind: ErrorKind, method: str, path: str, response: httpx.Response, limiter: Limiter | None
    ) -> SyncError:
        what = f"{self.system}: {method} {path} -> HTTP {response.status_code}: {excerpt(response)}"
        if kind is ErrorKind.RATE_LIMITED:
            retry_after = self._retry_after(response)
            if retry_after is not None and retry_after > self._retry.max_retry_after:
                # not waited out in-process (nor is the bucket drained for it): the run stops here
                limit = self._retry.max_retry_after
                return RateLimitedError(
                    f"{self.system}: {method} {path} -> HTTP {response.status_code}: rate limited, "
                    f"Retry-After {retry_after:g} s is over the {limit:g} s we wait; the next run resumes",
                    retry_after,
                )
            if limiter is not None and retry_after:  # every caller of this budget backs off
                limiter.pause(retry_after)
            return RateLimitedError(what, retry_after)
        if kind is ErrorKind.TRANSIENT:
            return _ServerError(what, self._retry_after(response))
        if kind is ErrorKind.AUTH:
            return AuthError(what, response.status_code)
        if kind is ErrorKind.NOT_FOUND:
            return NotFoundError(what, response.status_code)
        return PermanentError(what, response.status_code)

    def _retry_after(self, response: httpx.Response) -> float | None:
        for name in self._retry_after_headers:
            seconds = parse_retry_after(response.headers.get(name))
            if seconds is not None:
                return seconds
        return None

    def _retriable(self, exc: BaseException, safe: bool) -> bool:
        if isinstance(exc, RateLimitedError):
            return exc.retry_after is None or exc.retry_after <= self._retry.max_retry_after
        if isinstance(exc, _NotSent):
            return True
        return safe and isinstance(exc, TransientError)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        if isinstance(hinted, int | float) and hinted > 0:
            # the bucket was drained by `pause`, the next acquire waits it out: add only jitter here
            return random.uniform(0, min(1.0, hinted / 10))
        ceiling = min(self._retry.max_delay, self._retry.base_delay * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("http.retried", system=self.system, attempt=state.attempt_number, error=str(exc))

    def _count(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1
        if self.on_response is not None:
            self.on_response(self.system, status)


def _is_safe(method: str, idempotent: bool | None) -> bool:
    """May a failed call be sent again? As the caller says, else anything but a POST (a create)."""
    return idempotent if idempotent is not None else method.upper() != "POST"


def _unbind_stream(response: httpx.Response) -> None:
    """httpx binds a response to its stream and the stream back to the response: read in full, the
    pair is a reference cycle that only the garbage collector frees, and the body with it (~58 KB a
    HubSpot batch read). Every response of a pass ended that way, 29 MB per 10k records, held until a
    full collection. Its body is in memory once read, so the spent stream can go: the response is
    then freed as soon as the caller lets go of it."""
    response.stream = _SPENT


_SPENT = httpx.ByteStream(b"")


def _debug_enabled(logger: Any) -> bool:
    """Whether `logger.debug` emits: the `http.responded` fields (the redacted URL above all) are built
    only when the level lets them out, not on every request of a quiet run."""
    enabled = getattr(logger, "is_enabled_for", None)  # structlog's filtering and stdlib loggers
    return enabled is None or bool(enabled(logging.DEBUG))


class _NotSent(TransientError):
    """The connection was refused: the server never saw the request, so any method may retry."""


class _ServerError(TransientError):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
