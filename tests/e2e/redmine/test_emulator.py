"""RedmineTracker against the Redmine emulator served over HTTP: the whole tracker role, end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from adapters.errors import AuthError, TransientError
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from tests.e2e.redmine.support import KEY, T0, FakeClock, drafts, make_tracker, served


def test_create_find_update_roundtrip() -> None:
    with served() as (emulator, url):
        tracker = make_tracker(url)
        results = tracker.create_items(drafts(3))
        assert [r.error for r in results] == [None, None, None]
        keys = [r.item.key for r in results if r.item]
        assert keys == ["1", "2", "3"]
        assert emulator.log.count("POST", "/issues.json") == 3
        view = emulator.items_view()
        assert view[0]["markers"] == [drafts(1)[0][0]]
        assert view[0]["title"] == "Customer request 0"

        markers = [m for m, _ in drafts(3)]
        emulator.close(keys[1])  # closed issues are found too (status_id=*)
        found = tracker.find_by_markers([*markers, "unknown"])
        assert sorted(found) == sorted(markers)
        assert found[markers[1]].status is ItemStatus.DONE

        emulator.set_version(keys[0], "2.4")
        item = tracker.update_item(
            keys[0], BacklogDraft(title="ignored", body="New body", priority=Priority.HIGHEST)
        )
        assert (item.body, item.priority, item.milestone, item.title) == (
            "New body",
            Priority.HIGHEST,
            "2.4",
            "Customer request 0",
        )
        [put] = emulator.log.entries("PUT")
        assert put.body == {"issue": {"description": "New body", "priority_id": 4}}


def test_create_422_is_per_item() -> None:
    with served() as (emulator, url):
        tracker = make_tracker(url)
        bad = BacklogDraft(title="   ", body="x")
        results = tracker.create_items([("a", bad), *drafts(1)])
        assert results[0].error is not None
        assert "Subject cannot be blank" in results[0].error
        assert results[1].item is not None
        assert len(emulator.issues()) == 1


def test_wrong_key_is_401() -> None:
    with served() as (_, url):
        with pytest.raises(AuthError):
            make_tracker(url, key="wrong").list_milestones()
        assert httpx.get(f"{url}/issues.json").status_code == 401
        assert httpx.get(f"{url}/issues.json", params={"key": KEY}).status_code == 200


def test_create_that_times_out_is_not_resent() -> None:
    with served() as (emulator, url):
        tracker = make_tracker(url)
        emulator.faults.drop_after = 1
        with pytest.raises(TransientError):
            tracker.create_items(drafts(1))
        assert emulator.log.count("POST", "/issues.json") == 1
        assert len(emulator.issues()) == 1  # it landed: the engine adopts it by marker
        assert list(tracker.find_by_markers([drafts(1)[0][0]])) == [drafts(1)[0][0]]


def test_emulator_list_shape_and_caps() -> None:
    clock = FakeClock(T0)
    with served(clock=clock) as (emulator, url):
        make_tracker(url).create_items(drafts(3))
        emulator.close("2")
        headers = {"X-Redmine-API-Key": KEY}
        body = httpx.get(f"{url}/issues.json", headers=headers, params={"limit": 500}).json()
        assert (body["total_count"], body["offset"], body["limit"]) == (2, 0, 100)  # open only by default
        assert [i["id"] for i in body["issues"]] == [3, 1]  # id desc by default
        everything = httpx.get(f"{url}/issues.json", headers=headers, params={"status_id": "*"}).json()
        assert everything["total_count"] == 3
        assert everything["issues"][0]["updated_on"] == "2024-05-01T10:00:30Z"
        bad = httpx.get(f"{url}/issues.json", headers=headers, params={"updated_on": ">=soon"})
        assert (bad.status_code, bad.json()) == (422, {"errors": ["Updated is invalid"]})


def test_pull_changes_pages_and_overlap() -> None:
    clock = FakeClock(T0)
    with served(clock=clock) as (emulator, url):
        tracker = make_tracker(url, page_size=4)
        for marker, draft in drafts(10):
            tracker.create_items([(marker, draft)])
            clock.advance(0.4)  # several issues share each second
        pages = list(tracker.iter_changed_items(Cursor.epoch()))
        keys = [i.key for p in pages for i in p.items]
        assert keys == [str(n) for n in range(1, 11)]
        assert pages[0].total == 10
        last = pages[-1].cursor
        assert last is not None
        assert last.id == "10"

        clock.advance(5)
        emulator.close("3", rejected=True)
        emulator.set_version("5", "2.5")
        since = Cursor(last.updated_at - timedelta(seconds=2), last.id)  # the engine's overlap
        changed = {i.key: i for p in tracker.iter_changed_items(since) for i in p.items}
        assert changed["3"].status is ItemStatus.WONT_DO
        assert changed["5"].milestone == "2.5"
        assert "1" not in changed


def test_updated_on_filter_reads_the_previous_second_again() -> None:
    clock = FakeClock(datetime(2024, 5, 1, 10, 0, 0, 600_000, tzinfo=UTC))
    with served(clock=clock) as (_, url):
        tracker = make_tracker(url)
        tracker.create_items(drafts(1))
        since = Cursor(datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC), "1")
        # stored 10:00:00.6 is "later than 10:00:01 minus one second": Redmine returns it again
        assert [i.key for p in tracker.iter_changed_items(since) for i in p.items] == ["1"]


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
        emulator.set_version_status("2.4", "locked")
        emulator.release("2.5")
        got = {m.name: m for m in tracker.list_milestones()}
        assert got["2.4"].state is MilestoneState.PLANNED  # locked counts as planned
        assert (got["2.5"].due, got["2.5"].state) == (date(2024, 7, 1), MilestoneState.RELEASED)
        assert got["2.5"].url == f"{url}/versions/{got['2.5'].id}"
        assert got["2.5"].updated_at == datetime.fromtimestamp(clock(), UTC).replace(microsecond=0)
