"""The Worktile emulator seen as a tracker: a product project with 需求 (requirement) tasks and 里程碑
(milestone) tasks, plus what R&D does by hand in the web app (plan an item into a milestone, move a
milestone's due date, finish a milestone, close an item). The HTTP API is `WorktileEmulator`'s."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from typing import Any

from starlette.applications import Starlette

from adapters.worktile.emulator import WorktileEmulator

PRODUCT_PROJECT = "product_project"
REQUIREMENT_TYPE = "requirement"  # 需求
MILESTONE_TYPE = "milestone"  # 里程碑
MILESTONE_PROPERTY = "milestone"  # the item property naming its milestone
MARKER_PROPERTY = "syncer_marker"
CHINA = timezone(timedelta(hours=8))


def due_value(day: date) -> dict[str, Any]:
    """A due date as Worktile keeps it (third-party client code): `{date: epoch seconds, with_time: 0}`."""
    return {"date": int(datetime.combine(day, dtime(18, 0), CHINA).timestamp()), "with_time": 0}


class WorktileTrackerEmulator:
    """One team's product project, served by a `WorktileEmulator` (shared tokens, faults, request log)."""

    def __init__(
        self,
        *,
        team: str = "demo",
        client_id: str = "demo",
        client_secret: str = "demo-secret",  # noqa: S107 (the emulator's demo credential)
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.emulator = WorktileEmulator(
            team=team, client_id=client_id, client_secret=client_secret, clock=clock
        )
        self.emulator.projects.setdefault(PRODUCT_PROJECT, {})
        self.app: Starlette = self.emulator.app
        self.log, self.faults = self.emulator.log, self.emulator.faults

    def seed_demo(self, seed: int = 7) -> None:
        """Milestones "2.4" (due in 2-3 weeks) and "2.5" (no date yet), both not started."""
        today = datetime.fromtimestamp(self.emulator.clock(), CHINA).date()
        self.add_milestone("2.4", today + timedelta(days=14 + seed % 7))
        self.add_milestone("2.5")

    def add_milestone(self, name: str, due: date | None = None) -> str:
        return self.emulator.add_task(
            PRODUCT_PROJECT, name, task_type=MILESTONE_TYPE, due=due_value(due) if due else None
        )

    # -- what R&D does --------------------------------------------------------------------------
    def set_due(self, name: str, when: date | None) -> None:
        self.emulator.update_task(self._milestone(name), due=due_value(when) if when else None)

    def release(self, name: str) -> None:
        """Finish the milestone task (state 已完成, type 3)."""
        self.emulator.update_task(self._milestone(name), state="s-done")

    def set_milestone(self, key: str, name: str | None) -> None:
        """Name the item's milestone in its property (None clears it); bumps the item's updated_at."""
        if name is not None:
            self._milestone(name)
        self.emulator.update_task(key, **{MILESTONE_PROPERTY: name})

    def set_state(self, key: str, state_id: str) -> None:
        self.emulator.update_task(key, state=state_id)

    def complete(self, key: str) -> None:
        self.set_state(key, "s-done")

    def close(self, key: str) -> None:
        self.set_state(key, "s-closed")

    # -- what a person sees ---------------------------------------------------------------------
    def items_view(self) -> list[dict[str, Any]]:
        """Every non-milestone task of the product project, in creation order."""
        with self.emulator.lock:
            tasks = list(self.emulator.projects[PRODUCT_PROJECT].values())
        return [
            {
                "key": t["_id"],
                "title": t["title"],
                "body": t["description"],
                "type": t["task_type"]["name"],
                "state": t["task_state"]["name"],
                "priority": (t.get("priority") or {}).get("name"),
                "marker": t["properties"].get(MARKER_PROPERTY),
                "milestone": t["properties"].get(MILESTONE_PROPERTY),
            }
            for t in tasks
            if t["task_type"]["_id"] != MILESTONE_TYPE
        ]

    def task(self, key: str) -> dict[str, Any]:
        return self.emulator.task(key)

    def _milestone(self, name: str) -> str:
        with self.emulator.lock:
            for ident, t in self.emulator.projects[PRODUCT_PROJECT].items():
                if t["task_type"]["_id"] == MILESTONE_TYPE and t["title"] == name:
                    return ident
        raise KeyError(f"no milestone named {name!r}")
