"""Contract tests: the exact requests WorktileTracker sends and how it reads client-code-shaped answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import AuthError, MalformedResponseError, PaginationLoopError
from adapters.http import HttpClient, RateLimit
from adapters.worktile.client import classify
from adapters.worktile.settings import WorktileTrackerSettings
from adapters.worktile.tracker import WorktileTracker
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from syncer.config import OrgConfig, parse_org_config
from syncer.errors import ConfigError
from syncer.systems.worktile import build_tracker
from tests.contract.fixtures_http import THREE_TRIES, contract_http

BASE = "https://acme.worktile.com"
PAGE = f"{BASE}/open-api/mission/get-project-tasks-by-page"
TASKS = f"{BASE}/open-api/mission/tasks"
T0 = 1_714_550_400  # 2024-05-01T08:00:00Z
S = WorktileTrackerSettings(project_id="p1", task_type_id="req", milestone_type_id="ms", team="acme")


def task(ident: str, stamp: int = T0, *, kind: str = "req", state: tuple[str, int] = ("未开始", 1),
         **props: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "_id": ident,
        "project_id": "p1",
        "title": f"支持导出 Excel 报表 {ident}",
        "description": "上海云启科技有限公司：希望按月导出",
        "updated_at": stamp,
        "task_type": {"_id": kind, "name": {"req": "需求", "ms": "里程碑"}.get(kind, "任务")},
        "task_state": {"_id": f"s-{state[1]}", "name": state[0], "type": state[1]},
        "priority": {"_id": "p-high", "name": "较高"},
        "properties": props,
    }


def listing(items: list[dict[str, Any]], more: bool | None = None) -> httpx.Response:
    body: dict[str, Any] = {"items": items, "total": 999}
    if more is not None:
        body["has_more"] = more
    return httpx.Response(200, json=body)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def http(waits: list[float]) -> Iterator[HttpClient]:
    fast = {"default": RateLimit(rate=1000.0, burst=1000)}
    with contract_http(
        BASE, system="worktile", limits=fast, retry=THREE_TRIES, classify=classify, sleep=waits.append
    ) as client:
        yield client


def test_create_sends_one_task_with_marker_and_reads_it_back(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    created = task("t1", syncer_marker="m-1")
    route = mock.post(TASKS).mock(return_value=httpx.Response(200, json={"value": created}))
    tracker = WorktileTracker(http, S, token="tok")
    long_title = "客户希望" + "很" * 300 + "\n快"

    [result] = tracker.create_items([("m-1", BacklogDraft(title=long_title, body="3 个客户提出。",
                                                          priority=Priority.HIGH))])  # fmt: skip

    sent = route.calls[0].request
    assert sent.url.params["access_token"] == "tok"
    body = json.loads(sent.content)
    assert (body["project_id"], body["task_type_id"], body["priority"]) == ("p1", "req", "较高")
    assert body["properties"] == {"syncer_marker": "m-1"}
    assert body["description"] == "3 个客户提出。"
    assert len(body["title"]) == 255
    assert body["title"].endswith("…")
    assert "\n" not in body["title"]
    item = result.item
    assert item is not None
    assert result.remote_id == "t1"
    assert (item.marker, item.priority, item.status) == ("m-1", Priority.HIGH, ItemStatus.OPEN)
    assert item.url == f"{BASE}/mission/projects/p1/tasks/t1"


def test_create_refused_is_a_per_item_error_and_500_raises(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.post(TASKS).mock(
        side_effect=[
            httpx.Response(200, json={"ok": False, "error_code": 4000, "message": "任务类型不存在"}),
            httpx.Response(400, json={"ok": False, "error_code": 4000, "message": "title 不能为空"}),
            httpx.Response(500, text="upstream"),
        ]
    )
    tracker = WorktileTracker(http, S, token="tok")
    draft = BacklogDraft(title="导出", body="")
    results = tracker.create_items([("a", draft), ("b", draft)])
    assert [r.ok for r in results] == [False, False]
    assert "worktile refused the task" in str(results[0].error)
    with pytest.raises(Exception, match="500"):  # ambiguous: not retried, the engine adopts later
        tracker.create_items([("c", draft)])


def test_changed_items_scan_filters_sorts_and_resolves_milestones(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    page0 = [task(f"t{i:03d}", T0 + 100 - i) for i in range(99)] + [task("ms1", T0, kind="ms")]
    page0[0]["title"] = "2.4"  # a requirement may share a milestone's name: only 里程碑 tasks count
    page0[1]["properties"] = {"milestone": "2.4"}
    page0[2]["task_state"] = {"name": "已关闭", "type": 3}
    page0[3]["task_state"] = {"name": "已完成", "type": 3}
    page0[4]["task_state"] = {"name": "开发中", "type": 2}
    untitled = {"_id": "bad", "task_type": {"_id": "req"}, "updated_at": T0 + 60}  # dead-lettered
    old_untitled = {**untitled, "_id": "old", "updated_at": T0}  # unreadable but before the cursor
    page1 = [task("t999", T0 + 5000), task("other", T0 + 6000, kind="bug"), untitled, old_untitled]
    page0[-1]["title"] = "2.4"
    route = mock.get(PAGE).mock(side_effect=[listing(page0, more=True), listing(page1, more=False)])
    tracker = WorktileTracker(http, WorktileTrackerSettings(**{**_fields(S), "page_size": 100}), token="tok")

    pages = list(tracker.iter_changed_items(Cursor(datetime.fromtimestamp(T0 + 50, UTC))))

    items = [i for p in pages for i in p.items]
    assert [i.updated_at for i in items] == sorted(i.updated_at for i in items)
    assert {i.id for i in items} == {f"t{i:03d}" for i in range(51)} | {"t999"}  # bug and milestone out
    assert pages[0].total == 52
    assert pages[-1].cursor == Cursor(datetime.fromtimestamp(T0 + 5000, UTC), "t999")
    by_id = {i.id: i for i in items}
    assert (by_id["t001"].milestone, by_id["t001"].milestone_id) == ("2.4", "ms1")
    assert by_id["t002"].status is ItemStatus.WONT_DO  # finished type, but named 已关闭
    assert by_id["t003"].status is ItemStatus.DONE
    assert by_id["t004"].status is ItemStatus.IN_PROGRESS
    assert [r.record_id for r in pages[-1].rejects] == ["bad"]
    assert [c.request.url.params["page_index"] for c in route.calls] == ["0", "1"]


def test_paging_stops_on_short_page_and_a_repeated_page_is_a_loop(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    small = WorktileTrackerSettings(**{**_fields(S), "page_size": 2})
    mock.get(PAGE).mock(
        side_effect=[
            listing([task("a"), task("b")]),  # no has_more: a full page means "maybe more"
            listing([task("c")]),  # short page: the end
            listing([task("a"), task("b")], more=True),
            listing([task("a"), task("b")], more=True),  # page_index ignored: same page again
        ]
    )
    tracker = WorktileTracker(http, small, token="tok")
    assert len([i for p in tracker.iter_changed_items(Cursor.epoch()) for i in p.items]) == 3
    with pytest.raises(PaginationLoopError):
        list(tracker.iter_changed_items(Cursor.epoch()))


def test_429_retry_after_then_expired_token_is_refreshed_once(
    http: HttpClient, mock: respx.MockRouter, waits: list[float]
) -> None:
    route = mock.get(PAGE).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, text="<html>Too Many Requests</html>"),
            httpx.Response(200, json={"ok": False, "error_code": 1103, "message": "invalid access token"}),
            listing([task("a", syncer_marker="m-a")], more=False),
        ]
    )
    tracker = WorktileTracker(http, S, token="old", refresh=lambda: "new")
    found = tracker.find_by_markers(["m-a"])
    assert found["m-a"].key == "a"
    assert max(waits) >= 6.9  # Retry-After honoured (the bucket pauses for it)
    assert [c.request.url.params["access_token"] for c in route.calls] == ["old", "old", "new"]


def test_401_is_auth_error_and_malformed_answers_raise(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.get(PAGE).mock(
        side_effect=[
            httpx.Response(401, json={"ok": False, "error_code": 1103}),
            httpx.Response(200, json={"data": "nothing like a list"}),
            httpx.Response(200, json={"data": "nothing like a list"}),
            httpx.Response(200, json={"data": "nothing like a list"}),
        ]
    )
    tracker = WorktileTracker(http, S, token="tok")
    with pytest.raises(AuthError):
        tracker.list_milestones()
    with pytest.raises(MalformedResponseError):
        tracker.list_milestones()


def test_update_puts_description_and_priority_only(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.put(f"{TASKS}/t1").mock(return_value=httpx.Response(200, json={"value": task("t1")}))
    tracker = WorktileTracker(http, S, token="tok")
    draft = BacklogDraft(title="不会写入", body="新的描述", priority=Priority.LOWEST)
    item = tracker.update_item("t1", draft)
    assert json.loads(route.calls[0].request.content) == {"description": "新的描述", "priority": "最低"}
    assert item.key == "t1"


def test_milestones_are_milestone_tasks(http: HttpClient, mock: respx.MockRouter) -> None:
    due = int(datetime(2024, 6, 30, 16, 30, tzinfo=UTC).timestamp())  # 2024-07-01 00:30 in Beijing
    mock.get(PAGE).mock(
        return_value=listing(
            [
                task("m1", kind="ms", due={"date": due, "with_time": 0}),
                task("m2", kind="ms", state=("已完成", 3)),
                task("m3", kind="ms", state=("已取消", 3)),
                task("r1"),
            ],
            more=False,
        )
    )
    got = {m.id: m for m in WorktileTracker(http, S, token="tok").list_milestones()}
    assert set(got) == {"m1", "m2", "m3"}
    assert (got["m1"].due, got["m1"].state) == (date(2024, 7, 1), MilestoneState.PLANNED)
    assert got["m2"].state is MilestoneState.RELEASED
    assert got["m3"].state is MilestoneState.ARCHIVED
    assert got["m1"].name == "支持导出 Excel 报表 m1"


def test_config_errors_name_the_key_and_build_exchanges_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock: respx.MockRouter
) -> None:
    def org(tracker: dict[str, Any]) -> OrgConfig:
        crm = {"system": "hubspot", "token_env": "X"}
        return parse_org_config(tmp_path / "acme.yaml", {"org": "acme", "crm": crm, "tracker": tracker})

    base = {"system": "worktile", "team": "acme", "client_id": "cid", "project_id": "p1"}
    with pytest.raises(ConfigError, match="client_secret_env"):
        org(base)
    with pytest.raises(ConfigError, match="milestone_type_id"):
        org({**base, "client_secret_env": "WT", "task_type_id": "ms", "milestone_type_id": "ms"})
    with pytest.raises(ConfigError, match=r"tracker\.page_size"):
        org({**base, "client_secret_env": "WT", "page_size": 500})

    monkeypatch.setenv("WT", "s3cret")
    config = org({**base, "client_secret_env": "WT", "priorities": {"high": "p-high"}})
    token = mock.post(f"{BASE}/open-api/tenant-access-token").mock(
        return_value=httpx.Response(200, json={"tenant_access_token": "tt", "expires_in": 7200})
    )
    pages = mock.get(PAGE).mock(return_value=listing([], more=False))
    assert config.tracker.system == "worktile"
    tracker, client = build_tracker(config, config.tracker)  # type: ignore[arg-type]
    assert tracker.list_milestones() == ()
    assert json.loads(token.calls[0].request.content) == {"client_id": "cid", "client_secret": "s3cret"}
    assert pages.calls[0].request.url.params["access_token"] == "tt"
    client.close()


def _fields(s: WorktileTrackerSettings) -> dict[str, Any]:
    return {name: getattr(s, name) for name in s.__slots__}  # type: ignore[attr-defined]
