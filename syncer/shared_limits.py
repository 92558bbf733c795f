"""One API budget per vendor account across every replica: moving-window limits kept in Redis.

Built on the `limits` library (moving window, atomic in Redis). Every replica syncing the same
HubSpot portal or Jira site draws on the same window, so N replicas together stay under the vendor's
limit instead of N times it. A vendor's "slow down" (Retry-After) pauses every replica too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import cast

import redis
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from adapters.http import Limiter, RateLimit

SAFETY_MARGIN_S = 0.05
SHARED_RATE_MARGIN = 0.05


class RedisWindowLimiter:
    """At most `limit.rate × window` requests per window for `key`, counted across processes."""

    def __init__(
        self,
        url: str,
        key: str,
        limit: RateLimit,
        *,
        window_s: int = 1,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(url))
        self._redis = redis.Redis.from_url(url)
        # the window stamps a request when it asks, before the vendor counts its arrival: stay a
        # little under the vendor's rate (in-process windows stamp answers instead and need no margin)
        amount = max(1, int(limit.rate * window_s * (1 - SHARED_RATE_MARGIN)))
        self._item = RateLimitItemPerSecond(amount, window_s)
        self._key, self._sleep, self._clock = key, sleep, clock

    def acquire(self) -> float:
        waited = 0.0
        while True:
            paused_ms = int(cast(int, self._redis.pttl(f"{self._key}:paused")) or 0)
            if paused_ms > 0:
                waited += self._wait(paused_ms / 1000)
                continue
            if self._limiter.hit(self._item, self._key):
                return waited
            stats = self._limiter.get_window_stats(self._item, self._key)
            # a margin: the vendor counts when our request arrives, a little after our hit was recorded
            waited += self._wait(max(0.01, stats.reset_time - self._clock() + SAFETY_MARGIN_S))

    def pause(self, seconds: float) -> None:
        self._redis.set(f"{self._key}:paused", "1", px=max(1, int(seconds * 1000)))

    def _wait(self, seconds: float) -> float:
        seconds = min(seconds, 5.0)  # re-check at least every 5 s
        self._sleep(seconds)
        return seconds


def shared_limiters(
    url: str, system: str, account: str, limits: Mapping[str, RateLimit]
) -> dict[str, Limiter]:
    """Redis-backed limiters for every bucket of one vendor account (key: system + account)."""
    return {
        name: RedisWindowLimiter(url, f"syncer:limit:{system}:{account}:{name}", limit)
        for name, limit in limits.items()
    }
