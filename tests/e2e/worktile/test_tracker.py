"""Worktile as the tracker, end to end on the emulators: a Worktile sales team (zh-CN) feeding a Worktile
product project through the whole engine, plus the tracker role alone against the served emulator."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.emulation import ServedApp
from adapters.http import HttpClient, RateLimit
from adapters.worktile.client import classify, fetch_token
from adapters.worktile.emulator_tracker import (
    MILESTONE_TYPE,
    PRODUCT_PROJECT,
    REQUIREMENT_TYPE,
    WorktileTrackerEmulator,
)
from adapters.worktile.settings import WorktileTrackerSettings
from adapters.worktile.tracker import WorktileTracker
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, WriteResult
from syncer.demo import INDEX_LAG_S, demo_config, plan_releases, ship_and_slip
from syncer.demo_systems import WorktileDemo, crm_demo, today, worktile_tracker_demo
from syncer.engine import Engine
from syncer.service import open_store, run_org
from syncer.wiring import build_adapters

CJK = re.compile(r"[\u4e00-\u9fff]")


class _CrashAfterCreate:
    """Wraps a tracker: the creates reach Worktile, then the process 'dies' before state is saved."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.system = "worktile"

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        self._inner.create_items(drafts)  # type: ignore[attr-defined]
        raise RuntimeError("killed after the remote create")


def test_worktile_to_worktile_adopts_after_a_crash_never_duplicates_and_alerts_in_chinese(
    tmp_path: Path,
) -> None:
    crm = crm_demo("worktile", 3, small=True)
    assert isinstance(crm, WorktileDemo)
    tracker = worktile_tracker_demo()
    product = tracker.emulator
    assert isinstance(product, WorktileTrackerEmulator)
    with ServedApp(crm.app) as crm_served, ServedApp(tracker.app) as tracker_served:
        config = demo_config(tmp_path, crm, crm_served.url, tracker, tracker_served.url)
        config = config.model_copy(update={"sync": config.sync.model_copy(update={"adopt_grace_seconds": 0})})
        assert (config.locale, config.tracker.system) == ("zh-CN", "worktile")
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")

        adapters = build_adapters(config)
        crashing = _CrashAfterCreate(adapters.tracker)
        engine = Engine(
            config,
            store,
            adapters.crm,
            adapters.crm,
            crashing,
            adapters.tracker,
            adapters.alerts,  # type: ignore[arg-type]
        )
        with pytest.raises(RuntimeError, match="killed"):
            engine.run("crashing")
        adapters.close()
        created = len(product.items_view())
        assert created > 0

        recovery = run_org(config, store, "recovery")
        assert recovery.items_adopted > 0
        items = product.items_view()
        markers = [i["marker"] for i in items]
        assert len(markers) == len(set(markers)), "recovery created a duplicate"
        assert all(m for m in markers)
        assert all(CJK.search(i["title"]) for i in items)  # Chinese titles from the CRM, unchanged
        customers = {str(t["properties"].get("customer")) for t in map(crm.emulator.task, crm.emulator.ids())}
        assert any(any(c in str(i["body"]) for c in customers) for i in items)  # who asked, in the body
        linked = [r for r in crm.emulator.feedback_view() if r["backlog_key"]]
        assert {r["backlog_key"] for r in linked} <= {i["key"] for i in items}

        product.log.clear()
        again = run_org(config, store, "again")
        assert (again.items_created, again.items_updated, again.alerts_created) == (0, 0, 0)
        writes = [e for e in product.log.entries() if e.path.startswith("/open-api/mission/tasks")]
        assert writes == []  # only the token exchange and the scans
        assert len(product.items_view()) == len(items)

        plan_releases(tracker, store, config.org)
        time.sleep(INDEX_LAG_S)
        planned = run_org(config, store, "planned")
        ship_and_slip(tracker)
        shipped = run_org(config, store, "shipped")
        assert planned.alerts_created > 0
        assert shipped.alerts_created > 0
        subjects = [str(a["title"]) for a in crm.emulator.alerts()]
        assert any(s.startswith("已发布：2.4") for s in subjects), subjects
        assert any(s.startswith("延期：2.5") for s in subjects), subjects
        assert len(subjects) == len(set(a["key"] for a in crm.emulator.alerts()))  # one task per alert


def test_tracker_role_against_the_served_emulator() -> None:
    product = WorktileTrackerEmulator()
    product.seed_demo()
    with ServedApp(product.app) as served:
        fast = {"default": RateLimit(rate=1000.0, burst=1000)}
        waits: list[float] = []
        http = HttpClient(served.url, system="worktile", limits=fast, classify=classify, sleep=waits.append)
        settings = WorktileTrackerSettings(
            project_id=PRODUCT_PROJECT, task_type_id=REQUIREMENT_TYPE, milestone_type_id=MILESTONE_TYPE,
            page_size=3, web_url="https://demo.worktile.com",
        )  # fmt: skip
        tracker = WorktileTracker(http, settings, token=fetch_token(http, "demo", "demo-secret"))
        product.faults.statuses.append(429)  # the first create is throttled, provably not processed
        draft = BacklogDraft(title="客户需求：批量导入客户", body="两个客户提出")
        drafts = [(f"m{n}", draft) for n in range(7)]
        results = tracker.create_items(drafts)
        assert [r.error for r in results] == [None] * 7
        assert max(waits) >= 0.9  # Retry-After: 1 honoured
        assert [v["marker"] for v in product.items_view()] == [m for m, _ in drafts]

        keys = [v["key"] for v in product.items_view()]
        product.close(keys[0])
        product.complete(keys[1])
        product.set_milestone(keys[2], "2.5")
        found = tracker.find_by_markers(["m0", "m1", "m2", "nope"])
        assert (found["m0"].status, found["m1"].status) == (ItemStatus.WONT_DO, ItemStatus.DONE)
        milestones = {m.name: m for m in tracker.list_milestones()}
        assert found["m2"].milestone_id == milestones["2.5"].id
        assert milestones["2.4"].due is not None
        product.release("2.4")
        product.set_due("2.5", today() + timedelta(days=3))
        milestones = {m.name: m for m in tracker.list_milestones()}
        assert milestones["2.4"].state is MilestoneState.RELEASED
        assert milestones["2.5"].due == today() + timedelta(days=3)

        pages = list(tracker.iter_changed_items(Cursor.epoch()))
        assert sum(len(p.items) for p in pages) == 7  # milestones are not backlog items
        assert [len(p.items) for p in pages] == [3, 3, 1]
        gets = product.log.entries("GET", "/open-api/mission/get-project-tasks-by-page")
        assert {e.query["page_size"] for e in gets} == {"3"}
        http.close()
