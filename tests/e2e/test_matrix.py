"""Every CRM x every tracker on the emulators: feedback -> items -> milestones -> alerts, idempotent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from syncer.demo import run_demo
from syncer.demo_systems import SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_matrix_pair_syncs_alerts_once_and_repeats_change_nothing(scenario: str, tmp_path: Path) -> None:
    result = run_demo(scenario, seed=3, database_url=f"sqlite:///{tmp_path / 'state.db'}", small=True)

    first, repeat, edited, repeat2, planned, shipped, last = result.passes
    assert 0 < first.items_created < result.tickets, "feedback must be grouped into fewer items"
    assert result.tracker_items == first.items_created, "an item was created twice"
    for quiet in (repeat, repeat2, last):
        assert (quiet.items_created, quiet.items_updated, quiet.alerts_created) == (0, 0, 0), quiet.name
        assert not quiet.errors
    assert (edited.items_created, edited.items_updated) == (0, 1)
    assert planned.alerts_created > 0
    assert shipped.alerts_created > 0
    sent = Counter(result.alert_keys)
    assert sum(sent.values()) == planned.alerts_created + shipped.alerts_created
    assert all(n == 1 for n in sent.values()), "an alert reached the CRM twice"
