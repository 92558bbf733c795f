"""Client-side rate limiters for `adapters.http.HttpClient`: token buckets, and moving windows for vendors
that count requests in a rolling window (HubSpot). Thread-safe; they sleep, so adapters never do."""

from __future__ import annotations

import bisect
import threading
import time
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
    """Client-side moving-window log: at most `limit` requests in any `window_s` seconds, thread-safe.

    Unlike a token bucket (at most `burst + rate * T` in T seconds, so its rate must sit below the
    vendor's to leave room for the burst), this grants exactly the vendor's allowance: a burst of
    `limit`, then one more each time the oldest leaves the window.

    The vendor counts a request when it arrives: after it left, before its answer came back. A caller
    that reports answers (`reserve_together`, then `finish`) has each request counted as in the
    window for as long as it is unanswered, and from its answer on as stamped then: never earlier
    than the vendor counted it, so the vendor's own `limit` and `window_s` hold at any latency, with
    no margin. `acquire` alone stamps the moment the request may leave; such a caller needs a
    `window_s` a little longer than the vendor's to absorb the spread of delays."""

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
        self._stamps: list[float] = [start - window_s + (k + 1) * window_s / n for k in range(n)]
        self._unanswered: list[float] = []  # slots of reserved requests whose answer is not in yet
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.answered = threading.Condition(self._lock)

    def acquire(self) -> float:
        """Reserve the earliest slot the window allows, then wait for it; returns the seconds waited."""
        return acquire_together([self], self._clock, self._sleep)

    def earliest(self, after: float) -> float | None:
        """The earliest slot at or after `after`, or None while every place is held by unanswered
        requests (call with `lock` held)."""
        cut = bisect.bisect_right(self._stamps, after - self._window)
        del self._stamps[:cut]
        free = self._limit - len(self._unanswered)
        if free <= 0:
            return None
        latest = max(self._stamps[-1:] + self._unanswered[-1:], default=after)
        slot = max(after, self._paused_until, latest)
        if len(self._stamps) >= free:
            slot = max(slot, self._stamps[-free] + self._window)
        return slot

    def take(self, slot: float, *, answered_later: bool = False) -> None:
        """Count a request leaving at `slot` (call with `lock` held, `slot` from `earliest`); with
        `answered_later` it stays in the window until `finish` says when its answer came."""
        if answered_later:
            self._unanswered.append(slot)
        else:
            bisect.insort(self._stamps, slot)

    def finish(self, slot: float, at: float) -> None:
        """The request that left at `slot` was answered at `at`: it counts from then on."""
        with self._lock:
            if slot in self._unanswered:
                self._unanswered.remove(slot)
                bisect.insort(self._stamps, max(slot, at))
                self.answered.notify_all()

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
    """One slot that every window allows, stamped in all of them (as sent then), waited for; returns
    the seconds waited."""
    now = clock()
    return max(0.0, _reserve(windows, clock, sleep, answered_later=False) - now)


def reserve_together(
    windows: list[MovingWindow],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """One slot that every window allows, counted in all of them until the caller reports the answer
    (`finish` on each window with the returned slot: in a `finally`, or the place is held forever),
    waited for. Returns the slot."""
    return _reserve(windows, clock, sleep, answered_later=True)


def _reserve(
    windows: list[MovingWindow],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    *,
    answered_later: bool,
) -> float:
    """A search counts against the search window AND the general one. Taken one after the other, the
    first stamp would be the time we asked, not the (later) time the request left once the second
    window let it go, and the vendor, counting real arrivals, would see more in one window than we
    did: so one slot is found that every window allows and taken in all of them at once."""
    ordered = sorted(windows, key=id)  # one lock order everywhere: no deadlock between clients
    while True:
        for window in ordered:
            window.lock.acquire()
        try:
            now = clock()
            slot: float | None = now
            while slot is not None:  # each window's earliest slot only moves later: a fixed point
                found = [w.earliest(slot) for w in ordered]
                later = None if None in found else max(f for f in found if f is not None)
                if later == slot:
                    break
                slot = later
            if slot is not None:
                for window in ordered:
                    window.take(slot, answered_later=answered_later)
                break
            full = next(w for w, f in zip(ordered, found, strict=True) if f is None)
        finally:
            for window in reversed(ordered):
                window.lock.release()
        with full.answered:  # every place is held by unanswered requests: wait for an answer
            full.answered.wait(timeout=0.05)
    wait = slot - now
    if wait > 0:
        sleep(wait)
    return slot


def limiter_for(
    limit: RateLimit, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
) -> Limiter:
    """The in-process limiter a `RateLimit` describes."""
    if limit.window_s is not None:
        return MovingWindow(round(limit.rate * limit.window_s), limit.window_s, clock, sleep, limit.prior)
    return TokenBucket(limit, clock, sleep)
