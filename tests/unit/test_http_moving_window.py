"""The moving-window limiter grants exactly a vendor's "N requests in any W seconds", never more."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.http import (
    MovingWindow,
    RateLimit,
    TokenBucket,
    acquire_together,
    limiter_for,
    reserve_together,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _most_in_any_window(stamps: list[float], window: float) -> int:
    return max(sum(1 for t in stamps if s <= t < s + window) for s in stamps)


@given(
    limit=st.integers(1, 12),
    prior=st.integers(0, 12),
    gaps=st.lists(st.floats(0, 0.7), min_size=1, max_size=60),
)
def test_moving_window_never_lets_more_than_limit_into_any_window(
    limit: int, prior: int, gaps: list[float]
) -> None:
    fake = FakeTime()
    window = MovingWindow(limit, 1.0, fake.clock, fake.sleep, prior=prior)
    sent: list[float] = []
    for gap in gaps:  # callers arrive at arbitrary moments; each is sent when acquire returns
        fake.now += gap
        window.acquire()
        sent.append(fake.now)
    assert _most_in_any_window(sent, 1.0) <= limit


def test_moving_window_bursts_up_to_the_limit_then_waits_for_the_oldest() -> None:
    fake = FakeTime()
    window = MovingWindow(5, 1.0, fake.clock, fake.sleep)
    waits = [window.acquire() for _ in range(6)]
    assert waits == [0.0] * 5 + [pytest.approx(1.0)]


def test_moving_window_assumes_prior_use_of_the_window_when_new() -> None:
    fake = FakeTime()
    window = MovingWindow(4, 1.0, fake.clock, fake.sleep, prior=4)
    assert window.acquire() == pytest.approx(0.25)  # the oldest assumed request leaves the window


def test_moving_window_pause_holds_every_caller() -> None:
    fake = FakeTime()
    window = MovingWindow(100, 10.0, fake.clock, fake.sleep)
    window.pause(3.0)
    assert window.acquire() == pytest.approx(3.0)


def test_limiter_for_picks_the_rule_the_limit_states() -> None:
    assert isinstance(limiter_for(RateLimit.moving(100, 10.0)), MovingWindow)
    assert isinstance(limiter_for(RateLimit(rate=9.0, burst=1)), TokenBucket)


@given(kinds=st.lists(st.sampled_from(["search", "other"]), min_size=1, max_size=40))
def test_a_search_is_stamped_in_both_windows_when_it_really_goes_out(kinds: list[str]) -> None:
    """Searches count against the search window and the general one; a search that waits for the
    general window must not have been stamped earlier in the search window (the vendor counts
    arrivals: it would see more searches in one second than we did)."""
    fake = FakeTime()
    search = MovingWindow(3, 1.0, fake.clock, fake.sleep)
    general = MovingWindow(4, 1.0, fake.clock, fake.sleep)
    sent: dict[str, list[float]] = {"search": [], "other": []}
    for kind in kinds:
        if kind == "search":
            acquire_together([search, general], fake.clock, fake.sleep)
        else:
            general.acquire()
        sent[kind].append(fake.now)
    assert not sent["search"] or _most_in_any_window(sent["search"], 1.0) <= 3
    assert _most_in_any_window(sent["search"] + sent["other"], 1.0) <= 4


@given(
    limit=st.integers(2, 10),
    calls=st.lists(st.tuples(st.floats(0, 3.0), st.floats(0, 1), st.booleans()), min_size=1, max_size=50),
)
def test_answer_stamps_keep_the_vendor_under_its_own_limit_at_any_latency(
    limit: int, calls: list[tuple[float, float, bool]]
) -> None:
    """Each request takes `latency`; the vendor counts it somewhere in between (`where`); one request
    at a time may be answered only after the next went out (a page fetched ahead). With the window
    told when each answer came, the vendor never sees more than `limit` arrivals in any window of
    its own size, whatever the latencies (even longer than the window)."""
    t = FakeTime()
    window = MovingWindow(limit, 1.0, t.clock, t.sleep)
    arrivals: list[float] = []
    ahead: tuple[float, float] | None = None  # (slot, answered at) of the request sent ahead
    for latency, where, goes_ahead in calls:
        slot = reserve_together([window], t.clock, t.sleep)
        arrivals.append(slot + where * latency)
        if goes_ahead and ahead is None:
            ahead = (slot, slot + latency)
            continue
        t.now = max(t.now, slot + latency)
        window.finish(slot, t.now)
        if ahead is not None:
            t.now = max(t.now, ahead[1])
            window.finish(*ahead)
            ahead = None
    assert _most_in_any_window(sorted(arrivals), 1.0) <= limit


def test_a_window_full_of_unanswered_requests_waits_for_an_answer() -> None:
    window = MovingWindow(1, 1.0)
    slot = reserve_together([window])
    answered = threading.Timer(0.2, lambda: window.finish(slot, time.monotonic()))
    answered.start()

    second = reserve_together([window])

    assert second >= slot + 1.0  # counted from the first one's answer, not from when it left
