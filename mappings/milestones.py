"""Milestone and item events: compare what the tracker shows now with the last snapshot. Pure.

Rules (table-tested in tests/unit/test_milestones.py):
- first sight of a milestone is a baseline: no event (no flood of alerts on the first sync);
- released False -> True: `released` (and nothing else that pass);
- due None -> date, or a date moved earlier: `scheduled`; a date moved later or removed: `slipped`;
- unreleasing, renaming and archiving raise no event (keys are ids; a re-release alerts no one twice);
- `due_soon` while unreleased and the due date is 0..N days ahead (checked on every pass, deduplicated
  by the alert key, which includes the due date);
- an item whose status becomes done / won't-do: `item_done` / `item_wont_do`; an item moved into a
  milestone that has a due date: `scheduled` for that milestone, for that item's accounts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mappings.models import AlertEvent, BacklogItem, ItemStatus, Milestone, MilestoneState


@dataclass(frozen=True, slots=True)
class MilestoneChange:
    milestone: Milestone
    event: AlertEvent
    previous_due: date | None = None


@dataclass(frozen=True, slots=True)
class ItemState:
    """What we last saw of a backlog item in the tracker."""

    status: ItemStatus
    milestone_id: str | None


@dataclass(frozen=True, slots=True)
class ItemChange:
    item_key: str
    event: AlertEvent
    milestone_id: str | None = None


def milestone_events(
    previous: Milestone | None, current: Milestone, *, today: date, due_soon_days: int
) -> tuple[MilestoneChange, ...]:
    """Events for one milestone between its last snapshot and now."""
    released = current.state is MilestoneState.RELEASED
    if current.state is MilestoneState.ARCHIVED:
        return ()
    changes: list[MilestoneChange] = []
    if previous is not None:
        was_released = previous.state is MilestoneState.RELEASED
        if released and not was_released:
            return (MilestoneChange(current, AlertEvent.RELEASED, previous.due),)
        if not released:
            changes.extend(_date_change(previous, current))
    if not released and current.due is not None and 0 <= (current.due - today).days <= due_soon_days:
        changes.append(MilestoneChange(current, AlertEvent.DUE_SOON))
    return tuple(changes)


def _date_change(previous: Milestone, current: Milestone) -> tuple[MilestoneChange, ...]:
    before, after = previous.due, current.due
    if before == after:
        return ()
    if after is None:
        return (MilestoneChange(current, AlertEvent.SLIPPED, before),)
    if before is None or after < before:
        return (MilestoneChange(current, AlertEvent.SCHEDULED, before),)
    return (MilestoneChange(current, AlertEvent.SLIPPED, before),)


def item_events(
    previous: ItemState | None, current: BacklogItem, milestones: dict[str, Milestone]
) -> tuple[ItemChange, ...]:
    """Events for one of our backlog items; its first sight is a baseline."""
    if previous is None:
        return ()
    changes: list[ItemChange] = []
    if current.status != previous.status:
        if current.status is ItemStatus.DONE:
            changes.append(ItemChange(current.key, AlertEvent.ITEM_DONE, current.milestone_id))
        elif current.status is ItemStatus.WONT_DO:
            changes.append(ItemChange(current.key, AlertEvent.ITEM_WONT_DO, current.milestone_id))
    moved_to = current.milestone_id
    if moved_to is not None and moved_to != previous.milestone_id:
        target = milestones.get(moved_to)
        if target is not None and target.due is not None and target.state is MilestoneState.PLANNED:
            changes.append(ItemChange(current.key, AlertEvent.SCHEDULED, moved_to))
    return tuple(changes)
