"""PingCodeTracker against the PingCode emulator served over HTTP: the whole tracker role, end to end."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from adapters.errors import AuthError
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from syncer.config import OrgConfig
from syncer.systems.pingcode import PingCodeConfig, build
from tests.e2e.pingcode.support import T0, FakeClock, drafts, make_tracker, served


def test_create_twenty_find_update_roundtrip() -> None:
    clock = FakeClock(T0)
    with served(clock=clock) as (emulator, url):
        tracker = make_tracker(url, page_size=7, clock=clock)
        results = tracker.create_items(drafts(20))
        assert [r.error for r in results] == [None] * 20
        assert emulator.log.count("POST", "/v1/project/work_items") == 20
        view = emulator.items_view()
        assert len(view) == 20
        assert view[0]["title"] == "客户需求 0: 导出报表为 Excel"
        assert view[0]["body"] == "<p>1 个客户提出。</p><p>&gt; 请尽快 &lt;紧急&gt; &amp; 重要</p>"
        assert view[0]["markers"] == [drafts(1)[0][0]]
        first = results[0].item
        assert first is not None
        assert first.body == "1 个客户提出。\n\n> 请尽快 <紧急> & 重要"  # HTML read back as text
        assert first.priority is Priority.MEDIUM
        assert first.url == f"{url}/pjm/workitems/DEMO-1" or first.url.endswith("/pjm/workitems/DEMO-1")

        markers = [m for m, _ in drafts(20)]
        emulator.complete(view[3]["key"])  # completed items are found too
        emulator.log.clear()
        found = tracker.find_by_markers([*markers, "unknown"])
        assert sorted(found) == sorted(markers)
        assert found[markers[3]].status is ItemStatus.DONE
        assert found[markers[5]].title == "客户需求 5: 导出报表为 Excel"
        lists = emulator.log.entries("GET", "/v1/project/work_items")
        assert [e.query["page_index"] for e in lists] == ["0", "1", "2"]  # one listing, 0-based pages
        assert all(e.query["updated_between"].endswith(",") for e in lists)

        key = view[0]["key"]
        emulator.set_milestone(key, "2.4")
        item = tracker.update_item(
            key, BacklogDraft(title="ignored", body="新的描述", priority=Priority.HIGHEST)
        )
        assert (item.body, item.priority, item.milestone, item.title) == (
            "新的描述", Priority.HIGHEST, "2.4", "客户需求 0: 导出报表为 Excel"
        )  # fmt: skip
        [patch] = emulator.log.entries("PATCH")
        assert patch.body == {"description": "<p>新的描述</p>", "priority_id": "highest"}


def test_pull_changes_sees_milestone_and_completion() -> None:
    clock = FakeClock(T0)
    with served(clock=clock) as (emulator, url):
        tracker = make_tracker(url, page_size=4, clock=clock)
        for marker, draft in drafts(10):
            tracker.create_items([(marker, draft)])
            clock.advance(0.4)  # several items share each second
        pages = list(tracker.iter_changed_items(Cursor.epoch()))
        keys = {i.key for p in pages for i in p.items}
        assert len(keys) == 10
        assert pages[0].total == 10
        assert all(p.cursor is None for p in pages[:-1])  # order is undocumented: cursor on the last page
        last = pages[-1].cursor
        assert last is not None

        clock.advance(5)
        view = emulator.items_view()
        emulator.complete(view[2]["key"])
        emulator.set_milestone(view[4]["key"], "2.5")
        changed = {i.key: i for p in tracker.iter_changed_items(last) for i in p.items}
        assert changed[view[2]["key"]].status is ItemStatus.DONE
        assert changed[view[4]["key"]].milestone == "2.5"
        assert view[0]["key"] not in changed  # 10:00:30, before the floor (cursor 10:00:33 minus 1 s)
        assert view[9]["key"] in changed  # the cursor's own second is read again (bounds unverified)


def test_milestones_follow_versions() -> None:
    clock = FakeClock(T0)
    with served(clock=clock) as (emulator, url):
        tracker = make_tracker(url)
        got = {m.name: m for m in tracker.list_milestones()}
        assert set(got) == {"2.4", "2.5"}
        assert got["2.4"].due is not None
        assert got["2.5"].due is None
        assert got["2.4"].state is MilestoneState.PLANNED
        emulator.set_due("2.5", date(2024, 7, 1))
        emulator.set_version_status("2.4", "in_progress")
        emulator.release("2.5")
        got = {m.name: m for m in tracker.list_milestones()}
        assert got["2.4"].state is MilestoneState.PLANNED
        assert (got["2.5"].due, got["2.5"].state) == (date(2024, 7, 1), MilestoneState.RELEASED)
        emulator.set_due("2.4", None)
        assert {m.name: m for m in tracker.list_milestones()}["2.4"].due is None


def test_bad_token_is_401_and_bad_secret_refused() -> None:
    with served() as (_, url):
        with pytest.raises(AuthError):
            make_tracker(url, token="wrong").list_milestones()
        bad = httpx.get(
            f"{url}/v1/auth/token",
            params={"grant_type": "client_credentials", "client_id": "demo", "client_secret": "nope"},
        )
        assert bad.status_code == 401
        listing = httpx.get(f"{url}/v1/project/work_items", params={"page_size": 500})
        assert listing.status_code == 401


def test_list_shape_and_caps() -> None:
    clock = FakeClock(T0)
    with served(clock=clock) as (_, url):
        tracker = make_tracker(url, clock=clock)
        tracker.create_items(drafts(3))
        token = httpx.get(
            f"{url}/v1/auth/token",
            params={"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo-secret"},
        ).json()
        assert token["expires_in"] == int(clock()) + 30 * 86400  # absolute, like the docs' example
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        body = httpx.get(f"{url}/v1/project/work_items", headers=headers, params={"page_size": 500}).json()
        assert (body["page_size"], body["page_index"], body["total"]) == (100, 0, 3)
        assert body["values"][0]["updated_at"] == int(T0.timestamp())


def test_429_with_x_pc_retry_after_is_retried() -> None:
    waits: list[float] = []
    with served() as (emulator, url):
        tracker = make_tracker(url, sleep=waits.append)
        emulator.throttle_next, emulator.retry_after = 1, 3
        results = tracker.create_items(drafts(1))  # a 429 POST provably did nothing: retried
        assert results[0].item is not None
        assert sum(waits) >= 2.9  # x-pc-retry-after honoured (the bucket pauses for it)
        assert emulator.log.statuses()[429] == 1


def test_build_exchanges_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PC_SECRET", "demo-secret")
    with served() as (_, url):
        section = PingCodeConfig.model_validate(
            {"system": "pingcode", "base_url": url, "client_id": "demo", "client_secret_env": "PC_SECRET",
             "project_id": "5f1b2c3d4e5f60718293a4b5", "type_id": "requirement"}
        )  # fmt: skip
        tracker, http = build(OrgConfig.model_construct(org="acme", source=None), section, None)
        assert {m.name for m in tracker.list_milestones()} == {"2.4", "2.5"}
        assert tracker.system == http.system == "pingcode"
        http.close()
