"""The client across threads and responses: each answer's `Date`, per-call retries on shared threads,
vendor cookies kept, and the `http.responded` event built only when debug logging is on."""

from __future__ import annotations

import email.utils
import gc
import io
import json
import threading
import weakref
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import structlog

from adapters.http import HttpClient, RetryPolicy
from syncer.logging import configure_logging


def _dated(dates: Iterator[str | None]) -> HttpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        date = next(dates)
        return httpx.Response(200, json={}, headers={"Date": date} if date is not None else {})

    return HttpClient("https://vendor.test", system="vendor", transport=httpx.MockTransport(handler))


def test_http_server_date_follows_each_response_date() -> None:
    first = email.utils.format_datetime(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC), usegmt=True)
    second = email.utils.format_datetime(datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC), usegmt=True)
    client = _dated(iter([first, first, None, "not a date", second, first]))
    dates = [client.request_json_dated("GET", "/x")[1] for _ in range(6)]
    assert dates == [
        datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC),
        None,
        None,
        datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC),
    ]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    structlog.reset_defaults()


@pytest.mark.parametrize(
    ("level", "logged"),
    [pytest.param("DEBUG", True, id="debug"), pytest.param("INFO", False, id="info")],
)
def test_http_responded_is_logged_redacted_only_at_debug(
    log_stream: io.StringIO, level: str, logged: bool
) -> None:
    configure_logging(level, "json", log_stream)
    client = HttpClient(
        "https://vendor.test",
        system="vendor",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={})),
    )
    client.get_json("/x", params={"api_key": "sekrit-value", "page": 2})
    events = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    responded = [e for e in events if e["event"] == "http.responded"]
    assert len(responded) == (1 if logged else 0)
    if logged:
        assert responded[0]["url"] == "https://vendor.test/x?api_key=%5Bredacted%5D&page=2"
        assert responded[0]["status"] == 200
        assert "sekrit-value" not in log_stream.getvalue()


def test_http_retries_stay_per_call_across_threads() -> None:
    """The retry machinery is shared by the client's threads (read-ahead, prefetch): each call still
    gets its own attempts, and a call's failures never count against another's."""
    lock = threading.Lock()
    attempts: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            attempts[request.url.path] += 1
            failing = attempts[request.url.path] <= 2  # two 503s, then the answer
        return httpx.Response(503) if failing else httpx.Response(200, json={"path": request.url.path})

    sleeps: list[float] = []
    client = HttpClient(
        "https://vendor.test",
        system="vendor",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002),
    )
    paths = [f"/item/{i}" for i in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(client.get_json, paths))
    assert bodies == [{"path": p} for p in paths]
    assert attempts == dict.fromkeys(paths, 3)
    assert len(sleeps) == 2 * len(paths)
    assert client.statuses == {503: 2 * len(paths), 200: len(paths)}


def test_http_keeps_the_cookies_a_vendor_sets() -> None:
    """Answers without `Set-Cookie` skip httpx's cookie machinery; the ones with it still fill the jar."""
    sent: list[str | None] = []
    answers = iter(
        [
            httpx.Response(200, json={}),
            httpx.Response(200, json={}, headers={"Set-Cookie": "affinity=node-1; Path=/"}),
            httpx.Response(200, json={}),
            httpx.Response(200, json={}, headers={"Set-Cookie": "affinity=node-2; Path=/"}),
            httpx.Response(200, json={}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("Cookie"))
        return next(answers)

    client = HttpClient("https://vendor.test", system="vendor", transport=httpx.MockTransport(handler))
    for _ in range(5):
        client.get_json("/x")
    assert sent == [None, None, "affinity=node-1", "affinity=node-1", "affinity=node-2"]


def test_http_a_read_response_is_freed_without_the_garbage_collector() -> None:
    # httpx ties a response and its stream into a reference cycle: every body of a pass (29 MB per 10k
    # records) waited for a full collection; once read, nothing but the caller may hold it
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [{"id": str(n)} for n in range(100)]})

    client = HttpClient("https://vendor.test", system="vendor", transport=httpx.MockTransport(handler))
    gc.collect()
    gc.disable()
    try:
        response = client.request("POST", "/crm/v3/objects/companies/batch/read", json_body={"inputs": []})
        assert len(response.json()["results"]) == 100
        assert response.read() == response.content  # the body stays readable
        gone = weakref.ref(response)
        del response
        assert gone() is None, "the response outlived its last reference"
    finally:
        gc.enable()
