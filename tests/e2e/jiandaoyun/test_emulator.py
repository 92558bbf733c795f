"""End to end: the Jiandaoyun client against the emulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from adapters.errors import AuthError
from adapters.jiandaoyun.client import JiandaoyunCrm
from adapters.jiandaoyun.emulator import JiandaoyunEmulator
from mappings.models import Cursor, FeedbackLink, ItemStatus, Owner
from tests.e2e.jiandaoyun.conftest import TOKEN, Clients, Serve
from tests.factories import make_alert

START = 1_770_000_000.0


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 0.001  # every write a distinct millisecond
        return self.now


def _until(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock.now + 1, UTC)


def test_full_pull_returns_every_seeded_row_exactly_once(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(START)
    emulator = JiandaoyunEmulator(api_key=TOKEN, clock=clock)
    emulator.seed_demo(seed=3, customers=30, feedback=250)
    crm = JiandaoyunCrm(clients(serve(emulator)))

    pages = list(crm.iter_changed_feedback(Cursor.epoch(), _until(clock)))

    ids = [f.id for p in pages for f in p.items]
    assert sorted(ids) == sorted(emulator.ids("feedback"))
    assert len(ids) == len(set(ids)) == 250
    assert len(pages) == 3
    assert [p.cursor is None for p in pages] == [True, True, False]
    assert sum(len(p.rejects) for p in pages) == 0
    assert sum(1 for p in pages for f in p.items if f.account_id is None) == 2
    titles = {f.title for p in pages for f in p.items}
    assert {"支持导出 CSV 报表", "单点登录（SSO）支持", "移动端离线模式", "审批流程自定义"} <= titles
    assert any(f.promised_date for p in pages for f in p.items)
    lists = emulator.log.entries("POST", "/api/v5/app/entry/data/list")
    assert [e.body.get("data_id", "") != "" for e in lists] == [False, True, True]


def test_incremental_pull_sees_only_changed_rows(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(START)
    emulator = JiandaoyunEmulator(api_key=TOKEN, clock=clock)
    emulator.seed_demo(seed=1, customers=5, feedback=40)
    crm = JiandaoyunCrm(clients(serve(emulator)))
    (page,) = list(crm.iter_changed_feedback(Cursor.epoch(), _until(clock)))
    assert page.cursor is not None
    clock.now += 60
    first = emulator.ids("feedback")[0]  # the oldest data id changes last: order is by id, not time
    emulator.update_feedback(first, _widget_title="需求：移动端离线模式（更新）")

    changed = [
        f for p in crm.iter_changed_feedback(Cursor(page.cursor.updated_at), _until(clock)) for f in p.items
    ]

    assert [(f.id, f.title) for f in changed if f.id == first] == [(first, "需求：移动端离线模式（更新）")]
    assert len(changed) <= 2  # the row at the old cursor itself comes again (inclusive range)


def test_get_accounts_with_member_owners(serve: Serve, clients: Clients) -> None:
    emulator = JiandaoyunEmulator(api_key=TOKEN, clock=FakeClock(START))
    emulator.seed_demo(seed=5, customers=30, feedback=10)
    crm = JiandaoyunCrm(clients(serve(emulator)))
    ids = emulator.ids("customer")

    accounts = crm.get_accounts([*ids, "nope"])

    assert set(accounts) == set(ids)
    acct = accounts[ids[0]]
    assert acct.name.endswith("有限公司")
    assert isinstance(acct.owner, Owner)
    assert acct.owner.id
    assert acct.owner.name
    assert not acct.owner.name.isascii()
    assert acct.arr > 0
    assert acct.tier in {"战略", "重点", "普通"}
    assert crm.get_accounts(ids[:3]).keys() == set(ids[:3])
    changed = [a for p in crm.iter_changed_accounts(Cursor.epoch(), datetime.now(UTC)) for a in p.items]
    assert len(changed) == 30


def test_link_round_trip(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(START)
    emulator = JiandaoyunEmulator(api_key=TOKEN, clock=clock)
    emulator.seed_demo(seed=2, customers=3, feedback=5)
    crm = JiandaoyunCrm(clients(serve(emulator)))
    a, b = emulator.ids("feedback")[:2]
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
        FeedbackLink(feedback_id="65f" + "0" * 21, backlog_key="PROD-3"),
    ]

    results = crm.link_feedback(links)

    assert [r.ok for r in results] == [True, True, False]
    assert emulator.log.count("POST", "/api/v5/app/entry/data/update") == 3
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


def test_alerts_created_once_and_found(serve: Serve, clients: Clients) -> None:
    emulator = JiandaoyunEmulator(api_key=TOKEN, clock=FakeClock(START))
    emulator.seed_demo(seed=4, customers=3, feedback=3)
    crm = JiandaoyunCrm(clients(serve(emulator)))
    owner = Owner(id="lina", name="李娜")
    alerts = [make_alert(key=f"al-{i}", owner=owner, subject=f"已发布：2.{i}") for i in range(3)]

    first = crm.create_alerts(alerts)
    again = crm.create_alerts(alerts)  # a retried batch: same transaction_id, nothing new

    assert all(r.ok for r in first)
    assert [r.remote_id for r in again] == [r.remote_id for r in first]
    stored = emulator.alerts()
    assert sorted(a["key"] for a in stored) == ["al-0", "al-1", "al-2"]
    assert stored[0]["_widget_alert_owner"]["name"] == "李娜"
    assert stored[0]["_widget_alert_title"] == "已发布：2.0"
    assert crm.find_alerts(["al-0", "al-2", "al-9"]) == {
        "al-0": first[0].remote_id,
        "al-2": first[2].remote_id,
    }


def test_throttle_is_retried_and_bad_key_refused(serve: Serve, clients: Clients) -> None:
    emulator = JiandaoyunEmulator(api_key=TOKEN, clock=FakeClock(START))
    emulator.seed_demo(seed=4, customers=3, feedback=3)
    url = serve(emulator)
    emulator.throttle = 2

    assert len(JiandaoyunCrm(clients(url)).get_accounts(emulator.ids("customer"))) == 3
    assert emulator.log.statuses()[400] == 2
    with pytest.raises(AuthError):
        JiandaoyunCrm(clients(url, token="wrong")).find_alerts(["x"])
