"""End to end: the Worktile client against the emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from adapters.http import RateLimit
from adapters.worktile.client import WorktileCrm, classify, fetch_token
from adapters.worktile.emulator import WorktileEmulator
from mappings.models import Cursor, FeedbackLink, ItemStatus, Owner
from tests.e2e.serving import QUICK_RETRY, FakeClock, http_clients, served_apps
from tests.factories import make_alert

START = 1_770_000_000.0
FAST = {"default": RateLimit(rate=1000, burst=1000)}


@pytest.fixture
def connect() -> Iterator[Callable[[WorktileEmulator], WorktileCrm]]:
    with (
        served_apps() as serve,
        http_clients("worktile", token=None, limits=FAST, classify=classify, retry=QUICK_RETRY) as clients,
    ):

        def make(emulator: WorktileEmulator) -> WorktileCrm:
            http = clients(serve(emulator))

            def refresh() -> str:
                return fetch_token(http, emulator.client_id, emulator.client_secret)

            return WorktileCrm(http, emulator.settings, token=refresh(), refresh=refresh)

        yield make


def test_full_pull_once_then_only_changed(connect) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(START, tick=0.5)
    emulator = WorktileEmulator(clock=clock)
    emulator.seed_demo(seed=3, customers=20, tasks=120)
    crm: WorktileCrm = connect(emulator)
    until = datetime.fromtimestamp(clock.now + 1, UTC)

    pages = list(crm.iter_changed_feedback(Cursor.epoch(), until))

    ids = [f.id for p in pages for f in p.items]
    assert sorted(ids) == sorted(emulator.ids())
    assert len(ids) == len(set(ids)) == 120
    stamps = [(f.updated_at, f.id) for p in pages for f in p.items]
    assert stamps == sorted(stamps)
    assert pages[-1].cursor is not None
    assert pages[-1].cursor.updated_at == stamps[-1][0]
    assert sum(1 for p in pages for f in p.items if f.account_id is None) == 1
    titles = {f.title for p in pages for f in p.items}
    assert "支持导出 CSV 报表" in titles
    assert {f.category for p in pages for f in p.items} <= {"功能需求", "缺陷", "咨询"}
    assert emulator.log.count("GET", "/open-api/mission/get-project-tasks-by-page") == 2  # 100 + 20
    accounts = crm.get_accounts([f.account_id for p in pages for f in p.items if f.account_id])
    assert 0 < len(accounts) <= 20
    acct = next(iter(accounts.values()))
    assert acct.name.endswith("公司")
    assert acct.owner is not None
    assert not acct.owner.name.isascii()
    assert list(crm.iter_changed_accounts(Cursor.epoch(), until)) == []

    clock.now += 600
    first = emulator.ids()[0]
    emulator.update_task(first, title="需求：移动端离线模式（更新）")
    later = datetime.fromtimestamp(clock.now + 1, UTC)
    changed = [f for p in crm.iter_changed_feedback(pages[-1].cursor, later) for f in p.items]
    assert [f.title for f in changed if f.id == first] == ["需求：移动端离线模式（更新）"]
    assert len(changed) <= 2  # the task at the old cursor itself comes again (inclusive window)


def test_link_round_trip(connect) -> None:  # type: ignore[no-untyped-def]
    emulator = WorktileEmulator(clock=FakeClock(START, tick=0.5))
    emulator.seed_demo(seed=2, customers=3, tasks=5)
    crm: WorktileCrm = connect(emulator)
    a, b = emulator.ids()[:2]
    links = [
        FeedbackLink(
            feedback_id=a,
            backlog_key="PROD-1",
            backlog_url="https://t/PROD-1",
            status=ItemStatus.IN_PROGRESS,
            milestone="2.4 版本",
            due=date(2026, 6, 30),
        ),
        FeedbackLink(feedback_id=b, backlog_key="PROD-2"),
        FeedbackLink(feedback_id="6" + "f" * 23, backlog_key="PROD-3"),
    ]

    results = crm.link_feedback(links)

    assert [r.ok for r in results] == [True, True, False]
    assert emulator.log.count("PUT", "/open-api/mission/tasks/") == 3
    view = {row["id"]: row["backlog_key"] for row in emulator.feedback_view()}
    assert (view[a], view[b]) == ("PROD-1", "PROD-2")
    back = {f.id: f for f in crm.get_feedback([a, b, "unknown"]).items}
    assert set(back) == {a, b}
    assert (back[a].backlog_key, back[a].backlog_status, back[a].backlog_milestone, back[a].backlog_due) == (
        "PROD-1",
        "in-progress",
        "2.4 版本",
        date(2026, 6, 30),
    )


def test_alerts_created_once_and_found_and_token_refreshed(connect) -> None:  # type: ignore[no-untyped-def]
    emulator = WorktileEmulator(clock=FakeClock(START, tick=0.5))
    emulator.seed_demo(seed=4, customers=3, tasks=3)
    crm: WorktileCrm = connect(emulator)
    owner = Owner(id="lina", name="李娜")
    alerts = [make_alert(key=f"al-{i}", owner=owner, subject=f"已发布：2.{i}") for i in range(3)]

    first = crm.create_alerts(alerts)
    emulator.revoke_tokens()  # the token expired: the next call re-exchanges it once
    again = crm.create_alerts(alerts)  # a rerun adopts what exists: nothing new

    assert all(r.ok for r in first)
    assert [r.remote_id for r in again] == [r.remote_id for r in first]
    stored = emulator.alerts()
    assert sorted(a["key"] for a in stored) == ["al-0", "al-1", "al-2"]
    assert stored[0]["assignee"]["display_name"] == "李娜"
    assert stored[0]["title"] == "已发布：2.0"
    assert crm.find_alerts(["al-0", "al-2", "al-9"]) == {
        "al-0": first[0].remote_id,
        "al-2": first[2].remote_id,
    }
    assert emulator.log.count("POST", "/open-api/tenant-access-token") == 2
