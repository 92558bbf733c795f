"""Client-side rate limiters for `adapters.http.HttpClient`: token buckets, and moving windows for vendors
that count requests in a rolling window (HubSpot). Thread-safe; they sleep, so adapters never do."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `rate` requests per second on average, bursts of up to `burst` (a token bucket); or,
    with `window_s`, at most `rate * window_s` requests in ANY `window_s` seconds (a moving window,
    the rule vendors such as HubSpot state: "100 requests per 10 seconds")."""

    rate: float
    burst: int = 1
    window_s: float | None = None
    # moving windows: requests assumed already sent, evenly, in the window before we start (a run of
    # the same org that just ended used the vendor's window too, and we cannot see its log)
    prior: int = 0

    @classmethod
    def per_window(cls, requests: int, seconds: float) -> RateLimit:
        return cls(rate=requests / seconds, burst=max(1, requests // 10))

    @classmethod
    def moving(cls, requests: int, seconds: float, prior: int = 0) -> RateLimit:
        return cls(rate=requests / seconds, burst=requests, window_s=seconds, prior=prior)


class Limiter(Protocol):
    """A request budget: `acquire` blocks until one request may go; `pause` backs everyone off."""

    def acquire(self) -> float: ...

    def pause(self, seconds: float) -> None: ...


class TokenBucket:
    """Client-side token bucket, thread-safe, with an injectable clock and sleep for tests."""

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limit, self._clock, self._sleep = limit, clock, sleep
        self._tokens = float(limit.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._limit.burst, self._tokens + (now - self._stamp) * self._limit.rate)
            self._stamp = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._limit.rate
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """The vendor asked us to back off: drain the bucket so every caller waits."""
        with self._lock:
            self._tokens = min(self._tokens, -seconds * self._limit.rate)


class MovingWindow:
    """Client-side moving-window log: at most `limit` acquisitions in any `window_s` seconds, thread-safe.

    Unlike a token bucket (at most `burst + rate * T` in T seconds, so its rate must sit below the
    vendor's to leave room for the burst), this grants exactly the vendor's allowance: a burst of
    `limit`, then one more each time the oldest leaves the window. Acquisitions are stamped before
    the request is sent and the vendor stamps the arrival, which is later; pass a `window_s` a little
    longer than the vendor's to absorb the spread of those delays."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        prior: int = 0,
    ) -> None:
        self._limit, self._window, self._clock, self._sleep = max(1, limit), window_s, clock, sleep
        start, n = clock(), min(prior, self._limit)
        # `prior` requests spread evenly over the window that ends now, the last one just now
        self._stamps: deque[float] = deque(start - window_s + (k + 1) * window_s / n for k in range(n))
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Reserve the earliest slot the window allows, then wait for it; returns the seconds waited."""
        return acquire_together([self], self._clock, self._sleep)

    def earliest(self, after: float) -> float:
        """The earliest slot at or after `after` (call with `lock` held)."""
        while self._stamps and after - self._stamps[0] >= self._window:
            self._stamps.popleft()
        slot = max(after, self._paused_until, self._stamps[-1] if self._stamps else after)
        if len(self._stamps) >= self._limit:
            slot = max(slot, self._stamps[-self._limit] + self._window)
        return slot

    def take(self, slot: float) -> None:
        """Stamp a request at `slot` (call with `lock` held, `slot` from `earliest`)."""
        self._stamps.append(slot)

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def pause(self, seconds: float) -> None:
        """The vendor asked us to back off: nobody acquires before `seconds` from now."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


def acquire_together(
    windows: list[MovingWindow],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """One slot that every window allows, stamped in all of them at once, then waited for.

    A search counts against the search window AND the general one. Taken one after the other, the
    first stamp would be the time we asked, not the (later) time the request left once the second
    window let it go, and the vendor, counting real arrivals, would see more in one window than we
    did. Returns the seconds waited."""
    ordered = sorted(windows, key=id)  # one lock order everywhere: no deadlock between clients
    for window in ordered:
        window.lock.acquire()
    try:
        now = clock()
        slot = now
        while True:  # each window's earliest slot only moves later: a fixed point in a few rounds
            later = max(w.earliest(slot) for w in ordered)
            if later == slot:
                break
            slot = later
        for window in ordered:
            window.take(slot)
    finally:
        for window in reversed(ordered):
            window.lock.release()
    wait = slot - now
    if wait > 0:
        sleep(wait)
    return max(0.0, wait)


def limiter_for(
    limit: RateLimit, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
) -> Limiter:
    """The in-process limiter a `RateLimit` describes."""
    if limit.window_s is not None:
        return MovingWindow(round(limit.rate * limit.window_s), limit.window_s, clock, sleep, limit.prior)
    return TokenBucket(limit, clock, sleep)
