"""LinearTracker against the Linear emulator served on 127.0.0.1: the real client, retries included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest

from adapters.errors import AuthError
from adapters.http import HttpClient, RateLimit
from adapters.linear.client import LinearSettings, LinearTracker
from adapters.linear.emulator import LinearEmulator
from adapters.linear.transport import LinearTransport, classify_linear
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from tests.e2e import serving
from tests.e2e.serving import FakeClock

TOKEN = "demo-token"  # noqa: S105 - the emulator's demo credential
T0 = datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)


@contextmanager
def served(clock: FakeClock) -> Iterator[LinearEmulator]:
    with serving.served(LinearEmulator(api_key=TOKEN, team_id="team-eng", clock=clock)) as (emu, url):
        emu.url = url  # type: ignore[attr-defined]
        yield emu


def tracker_for(emu: LinearEmulator, token: str = TOKEN, page_size: int = 100) -> LinearTracker:
    http = HttpClient(
        emu.url,  # type: ignore[attr-defined]
        system="linear",
        headers={"Authorization": token},
        limits={"default": RateLimit(rate=1000.0, burst=1000)},
        classify=classify_linear,
        transport=LinearTransport(clock=lambda: T0.timestamp()),
        sleep=lambda _: None,
    )
    return LinearTracker(http, LinearSettings(team_id="team-eng", page_size=page_size))


def drafts(count: int) -> list[tuple[str, BacklogDraft]]:
    return [
        (
            f"{n:016x}",
            BacklogDraft(
                title=f"Customer request {n}", body=f"Asked by {n} accounts", priority=Priority.HIGH
            ),
        )
        for n in range(count)
    ]


def test_create_thirty_then_recreate_adopts() -> None:
    clock = FakeClock(T0)
    with served(clock) as emu:
        tracker = tracker_for(emu)
        batch = drafts(30)
        first = tracker.create_items(batch)
        assert all(r.ok for r in first)
        assert len(emu.items_view()) == 30
        again = tracker.create_items(batch)
        assert [r.item.key for r in again if r.item] == [r.item.key for r in first if r.item]
        assert len(emu.items_view()) == 30
        found = tracker.find_by_markers([batch[3][0], "unknown"])
        assert set(found) == {batch[3][0]}
        assert found[batch[3][0]].body == "Asked by 3 accounts"


def test_iter_changed_items_sees_completion_and_milestone() -> None:
    clock = FakeClock(T0)
    with served(clock) as emu:
        tracker = tracker_for(emu, page_size=4)
        results = tracker.create_items(drafts(10))
        keys = [r.item.key for r in results if r.item]
        since = Cursor(datetime.fromtimestamp(clock.now + 1, UTC))
        clock.now += 60
        emu.complete(keys[2])
        emu.set_milestone(keys[5], "2.4")
        pages = list(tracker.iter_changed_items(since))
        items = {i.key: i for p in pages for i in p.items}
        assert set(items) == {keys[2], keys[5]}
        assert items[keys[2]].status is ItemStatus.DONE
        assert items[keys[5]].milestone == "2.4"
        assert pages[-1].cursor is not None
        everything = [i for p in tracker.iter_changed_items(Cursor.epoch()) for i in p.items]
        assert len(everything) == 10  # three pages of 4, 4, 2


def test_update_item_touches_description_and_priority_only() -> None:
    clock = FakeClock(T0)
    with served(clock) as emu:
        tracker = tracker_for(emu)
        item = tracker.create_items(drafts(1))[0].item
        assert item is not None
        emu.cancel(item.key)
        updated = tracker.update_item(item.key, BacklogDraft(title="no", body="New", priority=Priority.LOW))
        assert (updated.title, updated.body, updated.priority) == ("Customer request 0", "New", Priority.LOW)
        assert updated.status is ItemStatus.WONT_DO


def test_list_milestones_reflects_due_and_release() -> None:
    clock = FakeClock(T0)
    with served(clock) as emu:
        tracker = tracker_for(emu)
        before = {m.name: m for m in tracker.list_milestones()}
        assert before["2.4"].due is not None
        assert before["2.5"].due is None
        emu.set_due("2.5", date(2024, 7, 1))
        emu.release("2.4")
        after = {m.name: m for m in tracker.list_milestones()}
        assert after["2.5"].due == date(2024, 7, 1)
        assert after["2.4"].state is MilestoneState.RELEASED
        assert after["2.5"].state is MilestoneState.PLANNED


def test_ratelimited_is_retried_and_bad_key_is_auth_error() -> None:
    clock = FakeClock(T0)
    with served(clock) as emu:
        emu.throttle(2)
        assert len(tracker_for(emu).list_milestones()) == 2
        assert emu.log.statuses()[400] == 2
        with pytest.raises(AuthError):
            tracker_for(emu, token=f"Bearer {TOKEN}").list_milestones()


def test_partial_error_fails_only_that_create() -> None:
    clock = FakeClock(T0)
    with served(clock) as emu:
        tracker = tracker_for(emu)
        batch = drafts(3)
        emu.refuse_create(batch[1][1].title)
        results = tracker.create_items(batch)
        assert [r.ok for r in results] == [True, False, True]
        assert len(emu.items_view()) == 2
