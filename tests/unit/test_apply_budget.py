"""Apply renders groups in batches bounded by their member count, so memory does not grow with them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

import syncer.apply as apply_module
from mappings.feedback import PriorityWeights
from mappings.render import RenderOptions
from syncer.apply import Apply, within_budget
from syncer.counts import PassCounts
from syncer.state import StateStore, StoredFeedback, Unit
from tests.factories import T0


@pytest.mark.parametrize(
    ("sizes", "budget", "expected"),
    [
        pytest.param({"a": 10, "b": 10, "c": 10}, 25, ["a", "b"], id="stops-before-the-budget"),
        pytest.param({"a": 5000, "b": 1}, 2000, ["a"], id="one-huge-group-alone"),
        pytest.param({"a": 1, "b": 1}, 2000, ["a", "b"], id="all-small"),
        pytest.param({}, 10, ["a", "b"], id="empty-groups-cost-nothing"),
    ],
)
def test_within_budget_takes_the_longest_prefix_under_the_budget(
    sizes: dict[str, int], budget: int, expected: list[str]
) -> None:
    keys = sorted(sizes) or ["a", "b"]
    assert within_budget(keys, sizes, budget) == expected


class _CountingStore:
    """The real store, counting the scans of pending groups."""

    def __init__(self, store: StateStore) -> None:
        self.store, self.scans = store, 0

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        with self.store.unit() as unit:
            scan = unit.pending_groups

            def counted(*args: Any, **kwargs: Any) -> list[str]:
                self.scans += 1
                return scan(*args, **kwargs)

            unit.pending_groups = counted  # type: ignore[method-assign]
            yield unit


def test_batches_cover_every_pending_group_once_and_scan_once_per_page(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = {"g1": 3, "g2": 3, "g3": 1, "g4": 4, "g5": 2}
    rows = [
        StoredFeedback("hubspot", f"{group}-{n}", group, "h", {"feedback": {}}, None, "c1")
        for group, size in sizes.items()
        for n in range(size)
    ]
    with store.unit() as unit:
        unit.save_feedback("acme", rows)
    monkeypatch.setattr(apply_module, "MEMBER_BUDGET", 4)
    monkeypatch.setattr(apply_module, "GROUP_PAGE", 3)
    counting = _CountingStore(store)
    apply = Apply(
        "acme",
        counting,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        weights=PriorityWeights(),
        options=RenderOptions(),
        adopt_grace=timedelta(0),
        clock=lambda: T0,
        counts=PassCounts(),
    )

    batches = list(apply._group_batches())

    assert batches == [["g1"], ["g2", "g3"], ["g4"], ["g5"]]  # in key order, each within 4 members
    assert counting.scans == 3  # two pages of at most 3 groups, then the empty page that ends it
