"""GitHubTracker against the GitHub emulator served on 127.0.0.1: the real client, retries included."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from adapters.errors import AuthError
from adapters.github.records import marker_comment
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from tests.e2e.github.support import T0, FakeClock, drafts, make_tracker, served


def test_create_items_thirty_then_find_by_markers(clock: FakeClock) -> None:
    with served(clock=clock) as (emu, url):
        tracker, _ = make_tracker(url)
        batch = drafts(30)
        results = tracker.create_items(batch)
        assert [r.ref for r in results] == [m for m, _ in batch]
        assert all(r.ok and r.item is not None for r in results)
        view = emu.items_view()
        assert len(view) == 30
        first = view[0]
        assert first["body"].endswith(marker_comment(batch[0][0]))
        assert f"syncer-{batch[0][0]}" in first["labels"]
        assert "customer-feedback" in first["labels"]
        assert "priority:medium" in first["labels"]
        assert emu.log.count("POST", "/repos/acme/product/issues") == 30

        wanted = [batch[3][0], batch[17][0], "ffffffffffffffff"]
        found = tracker.find_by_markers(wanted)
        assert set(found) == {batch[3][0], batch[17][0]}
        assert found[batch[3][0]].key == results[3].item.key  # type: ignore[union-attr]
        assert found[batch[3][0]].body == batch[3][1].body


def test_update_item_keeps_title_state_milestone_and_marker(clock: FakeClock) -> None:
    with served(clock=clock) as (emu, url):
        tracker, _ = make_tracker(url)
        marker, draft = drafts(2)[1]  # HIGH
        item = tracker.create_items([(marker, draft)])[0].item
        assert item is not None
        emu.set_milestone(int(item.key), "2.4")
        emu.close(int(item.key), "not_planned")
        changed = BacklogDraft(title="ignored", body="New text", labels=("csv", "new"), priority=Priority.LOW)
        updated = tracker.update_item(item.key, changed)
        raw = emu.issue(int(item.key))
        assert raw["title"] == draft.title
        assert raw["state"] == "closed"
        assert raw["milestone"]["title"] == "2.4"
        assert raw["body"] == "New text\n\n" + marker_comment(marker)
        names = [lb["name"] for lb in raw["labels"]]
        assert "priority:low" in names
        assert "priority:high" not in names
        assert "new" in names
        assert f"syncer-{marker}" in names
        assert updated.marker == marker
        assert updated.priority is Priority.LOW
        assert updated.status is ItemStatus.WONT_DO
        assert updated.milestone == "2.4"


def test_iter_changed_items_sees_close_and_milestone_then_304_costs_one_request(clock: FakeClock) -> None:
    with served(clock=clock) as (emu, url):
        tracker, http = make_tracker(url, page_size=7)
        created = tracker.create_items(drafts(20))
        emu.add_pull_request("A PR is not an item")
        keys = [r.item.key for r in created if r.item]
        clock.advance(60)
        emu.close(int(keys[2]))
        emu.set_milestone(int(keys[5]), "2.5")

        pages = list(tracker.iter_changed_items(Cursor(T0 + timedelta(seconds=30))))
        items = [i for p in pages for i in p.items]
        assert {i.key for i in items} == {keys[2], keys[5]}
        by_key = {i.key: i for i in items}
        assert by_key[keys[2]].status is ItemStatus.DONE
        assert by_key[keys[5]].milestone == "2.5"
        assert by_key[keys[5]].milestone_id == emu.milestone_id("2.5")

        everything = [i for p in tracker.iter_changed_items(Cursor.epoch()) for i in p.items]
        assert len(everything) == 20  # three pages of 7, the pull request skipped
        assert [i.updated_at for i in everything] == sorted(i.updated_at for i in everything)

        # a single-page result was remembered: an unchanged repeat costs one request, answered 304
        before = http.requests
        emu.log.clear()
        assert list(tracker.iter_changed_items(Cursor(T0 + timedelta(seconds=30)))) == []
        assert http.requests - before == 1
        assert emu.log.statuses() == {304: 1}

        # a multi-page result is never conditional (an edit moves an issue to the last page)
        emu.log.clear()
        assert len([i for p in tracker.iter_changed_items(Cursor.epoch()) for i in p.items]) == 20
        assert emu.log.statuses() == {200: 3}


def test_conditional_pull_sees_a_later_change(clock: FakeClock) -> None:
    with served(clock=clock) as (emu, url):
        tracker, _ = make_tracker(url)
        created = tracker.create_items(drafts(3))
        since = Cursor(T0)
        assert len([i for p in tracker.iter_changed_items(since) for i in p.items]) == 3
        clock.advance(5)
        emu.close(int(created[0].item.key))  # type: ignore[union-attr]
        items = [i for p in tracker.iter_changed_items(since) for i in p.items]
        assert any(i.status is ItemStatus.DONE for i in items)


def test_list_milestones_reflects_release_and_due_changes(clock: FakeClock) -> None:
    with served(clock=clock) as (emu, url):
        tracker, _ = make_tracker(url)
        before = {m.name: m for m in tracker.list_milestones()}
        assert before["2.4"].due is not None
        assert before["2.5"].due is None
        assert {m.state for m in before.values()} == {MilestoneState.PLANNED}
        new_due = T0.date() + timedelta(days=40)
        emu.set_due("2.5", new_due)
        emu.set_due("2.4", None)
        emu.release("2.4")
        after = {m.name: m for m in tracker.list_milestones()}
        assert after["2.5"].due == new_due
        assert after["2.4"].due is None
        assert after["2.4"].state is MilestoneState.RELEASED
        assert after["2.4"].id == emu.milestone_id("2.4")


def test_secondary_rate_limit_is_retried(clock: FakeClock) -> None:
    with served(clock=clock) as (emu, url):
        tracker, _ = make_tracker(url)
        emu.secondary_limit(1, status=403, retry_after="0")
        emu.secondary_limit(1, status=429, retry_after="0")
        assert len(tracker.list_milestones()) == 2
        assert emu.log.statuses()[403] == 1
        assert emu.log.statuses()[429] == 1


def test_bad_token_is_auth_error(clock: FakeClock) -> None:
    with served(clock=clock) as (_, url):
        tracker, _ = make_tracker(url, token="wrong")  # noqa: S106
        with pytest.raises(AuthError):
            tracker.list_milestones()
        response = httpx.get(f"{url}/repos/acme/product/issues", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert response.json()["message"] == "Bad credentials"
