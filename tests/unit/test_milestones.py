from __future__ import annotations

from datetime import date

import pytest

from mappings.milestones import ItemState, item_events, milestone_events
from mappings.models import AlertEvent, ItemStatus, MilestoneState
from tests.factories import make_item, make_milestone

TODAY = date(2026, 3, 1)
D1, D2, D0 = date(2026, 4, 1), date(2026, 4, 15), date(2026, 3, 20)
PLANNED, RELEASED, ARCHIVED = MilestoneState.PLANNED, MilestoneState.RELEASED, MilestoneState.ARCHIVED


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(None, {"due": D1}, [], id="first-sight-is-a-baseline"),
        pytest.param({"due": None}, {"due": D1}, [AlertEvent.SCHEDULED], id="got-a-date"),
        pytest.param({"due": D1}, {"due": D2}, [AlertEvent.SLIPPED], id="moved-later"),
        pytest.param(
            {"due": D1},
            {"due": D0},
            [AlertEvent.SCHEDULED, AlertEvent.DUE_SOON],
            id="moved-earlier-and-close",
        ),
        pytest.param({"due": D2}, {"due": D1}, [AlertEvent.SCHEDULED], id="moved-earlier"),
        pytest.param({"due": D1}, {"due": None}, [AlertEvent.SLIPPED], id="date-removed"),
        pytest.param({"due": D1}, {"due": D1}, [], id="unchanged"),
        pytest.param({"due": D1}, {"due": D1, "state": RELEASED}, [AlertEvent.RELEASED], id="released"),
        pytest.param(
            {"due": D1}, {"due": D2, "state": RELEASED}, [AlertEvent.RELEASED], id="released-late-one-event"
        ),
        pytest.param({"due": D1, "state": RELEASED}, {"due": D1}, [], id="unreleased-is-silent"),
        pytest.param({"due": D1, "state": RELEASED}, {"due": D1, "state": RELEASED}, [], id="still-released"),
        pytest.param({"due": D1, "name": "2.4"}, {"due": D1, "name": "2.4 LTS"}, [], id="renamed"),
        pytest.param({"due": D1}, {"due": D2, "state": ARCHIVED}, [], id="archived-is-silent"),
        pytest.param({"due": D0}, {"due": D0}, [AlertEvent.DUE_SOON], id="due-soon-every-pass"),
        pytest.param(None, {"due": D0}, [AlertEvent.DUE_SOON], id="due-soon-even-at-first-sight"),
        pytest.param(
            {"due": D0}, {"due": D0, "state": RELEASED}, [AlertEvent.RELEASED], id="released-not-due-soon"
        ),
    ],
)
def test_milestone_events(before: dict | None, after: dict, expected: list[AlertEvent]) -> None:
    previous = make_milestone(**before) if before is not None else None
    changes = milestone_events(previous, make_milestone(**after), today=TODAY, due_soon_days=21)
    assert [c.event for c in changes] == expected


def test_milestone_events_remember_the_previous_date_of_a_slip() -> None:
    [change] = milestone_events(make_milestone(due=D1), make_milestone(due=D2), today=TODAY, due_soon_days=0)
    assert (change.previous_due, change.milestone.due) == (D1, D2)


MILESTONES = {
    "100": make_milestone(id="100", due=D1),
    "200": make_milestone(id="200", due=None, name="Someday"),
    "300": make_milestone(id="300", due=D2, state=RELEASED),
}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(None, {"status": ItemStatus.DONE}, [], id="first-sight-is-a-baseline"),
        pytest.param(
            ItemState(ItemStatus.OPEN, None), {"status": ItemStatus.DONE}, [AlertEvent.ITEM_DONE], id="done"
        ),
        pytest.param(
            ItemState(ItemStatus.IN_PROGRESS, None),
            {"status": ItemStatus.WONT_DO},
            [AlertEvent.ITEM_WONT_DO],
            id="wont-do",
        ),
        pytest.param(ItemState(ItemStatus.DONE, None), {"status": ItemStatus.DONE}, [], id="still-done"),
        pytest.param(
            ItemState(ItemStatus.OPEN, None),
            {"milestone_id": "100"},
            [AlertEvent.SCHEDULED],
            id="moved-into-a-dated-milestone",
        ),
        pytest.param(
            ItemState(ItemStatus.OPEN, "100"),
            {"milestone_id": "200"},
            [],
            id="moved-into-an-undated-milestone",
        ),
        pytest.param(
            ItemState(ItemStatus.OPEN, "200"),
            {"milestone_id": "100"},
            [AlertEvent.SCHEDULED],
            id="moved-between-milestones",
        ),
        pytest.param(
            ItemState(ItemStatus.OPEN, "100"), {"milestone_id": "300"}, [], id="moved-into-a-released"
        ),
        pytest.param(ItemState(ItemStatus.OPEN, "100"), {"milestone_id": "100"}, [], id="not-moved"),
    ],
)
def test_item_events(before: ItemState | None, after: dict, expected: list[AlertEvent]) -> None:
    changes = item_events(before, make_item(**after), MILESTONES)
    assert [c.event for c in changes] == expected
