"""Two replicas drawing on one Redis-backed budget stay under the vendor's limit together."""

from __future__ import annotations

import os
import threading
import time
import uuid

import httpx
import pytest
import redis

from adapters.http import HttpClient, RateLimit
from syncer.shared_limits import RedisWindowLimiter, shared_limiters

REDIS_URL = os.environ.get("SYNCER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


def test_two_replicas_share_one_budget(redis_url: str) -> None:
    """Each 'replica' alone may send 5/s; together they must still send at most 5 in any second."""
    stamps: list[float] = []
    lock = threading.Lock()

    def vendor(request: httpx.Request) -> httpx.Response:
        with lock:
            stamps.append(time.monotonic())
        return httpx.Response(200, json={})

    account = f"portal-{uuid.uuid4().hex[:8]}"
    limit = RateLimit(rate=5, burst=1)

    def replica() -> None:
        client = HttpClient(
            "https://vendor.test",
            system="hubspot",
            transport=httpx.MockTransport(vendor),
            limiters=shared_limiters(redis_url, "hubspot", account, {"default": limit}),
        )
        for _ in range(6):
            client.get_json("/x")

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(stamps) == 12
    stamps.sort()
    busiest = max(sum(1 for s in stamps if start <= s < start + 1.0) for start in stamps)
    assert busiest <= 5, f"{busiest} requests in one second across replicas"


def test_a_vendor_pause_holds_every_replica(redis_url: str) -> None:
    key = f"syncer:test:{uuid.uuid4().hex[:8]}"
    slept: list[float] = []
    first = RedisWindowLimiter(redis_url, key, RateLimit(rate=100), sleep=slept.append)
    other = RedisWindowLimiter(redis_url, key, RateLimit(rate=100), sleep=lambda s: time.sleep(s))
    first.pause(0.3)
    started = time.monotonic()
    other.acquire()
    assert time.monotonic() - started >= 0.25  # the other replica waited out the pause
