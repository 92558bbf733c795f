"""Apply renders groups in batches bounded by their member count, so memory does not grow with them."""

from __future__ import annotations

import pytest

from syncer.apply import within_budget


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
