"""`adapters.paging.read_ahead`: pages produced on a thread arrive unchanged, in order, errors in place."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from adapters.errors import TransientError
from adapters.paging import read_ahead

run_id: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="unset")


def test_read_ahead_yields_every_item_in_order() -> None:
    assert list(read_ahead(iter(range(500)), depth=2)) == list(range(500))


def test_read_ahead_of_nothing_is_nothing() -> None:
    assert list(read_ahead(iter(()))) == []


def test_read_ahead_raises_the_sources_error_after_the_items_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise TransientError("vendor down on page 3")

    ahead = read_ahead(pages())
    assert [next(ahead), next(ahead)] == [1, 2]
    with pytest.raises(TransientError, match="page 3"):
        next(ahead)


def test_read_ahead_runs_ahead_by_at_most_depth_plus_the_page_in_hand() -> None:
    produced: list[int] = []

    def pages() -> Iterator[int]:
        for n in range(100):
            produced.append(n)
            yield n

    ahead = read_ahead(pages(), depth=1)
    assert next(ahead) == 0
    time.sleep(0.3)  # give the producer time to run as far as it may
    assert len(produced) <= 3  # 0 (taken), 1 (queued), 2 (waiting to be queued)
    ahead.close()


def test_read_ahead_closed_early_stops_and_closes_the_source() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def pages() -> Iterator[int]:
        try:
            for n in range(10_000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    for page in read_ahead(pages()):
        if page == 3:
            break
    assert closed.wait(2.0)  # the generator's finally ran: its open requests/sessions are released
    assert len(produced) < 10


def test_read_ahead_source_runs_in_the_callers_context() -> None:
    seen: list[str] = []

    def pages() -> Iterator[int]:
        seen.append(run_id.get())  # log lines bound to the run keep their fields
        yield 1

    token = run_id.set("run-42")
    try:
        assert list(read_ahead(pages())) == [1]
    finally:
        run_id.reset(token)
    assert seen == ["run-42"]
