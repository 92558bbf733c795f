"""Contract tests: the exact requests PingCodeTracker sends and how it maps doc-shaped PingCode answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import AuthError
from adapters.http import HttpClient, RateLimit
from adapters.pingcode.client import (
    RETRY_AFTER_HEADERS,
    PingCodeSettings,
    PingCodeTracker,
    expiry_of,
    fetch_token,
)
from adapters.pingcode.records import html_to_text, parse_time, text_to_html, to_status
from mappings.errors import MappingError
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from syncer.config import OrgConfig
from syncer.logging import REDACTOR
from syncer.systems.pingcode import PingCodeConfig, build
from tests.contract.fixtures_http import contract_http

ROOT = "https://open.pingcode.com"
ITEMS = f"{ROOT}/v1/project/work_items"
PID = "p1"
VERSIONS = f"{ROOT}/v1/project/projects/{PID}/versions"
FAST = {"default": RateLimit(rate=1000.0, burst=1000)}
NOW = 1_714_557_600  # 2024-05-01T10:00:00Z


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with contract_http(
        ROOT, system="pingcode", limits=FAST, retry_after_headers=RETRY_AFTER_HEADERS
    ) as client:
        yield client


def tracker(http: HttpClient, **overrides: Any) -> PingCodeTracker:
    values: dict[str, Any] = {"project_id": PID, "type_id": "t-req", "marker_property": "mk", "page_size": 2}
    values.update(overrides)
    return PingCodeTracker(http, PingCodeSettings(**values), clock=lambda: float(NOW))


def item(ident: str, updated: int = NOW, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": ident,
        "identifier": f"DEMO-{ident}",
        "title": f"需求 {ident}",
        "description": "<p>正文</p>",
        "state": {"id": "s1", "name": "新建", "type": "pending"},
        "priority": {"id": "high", "name": "较高"},
        "version": None,
        "properties": {"mk": f"m{ident}"},
        "created_at": NOW - 60,
        "updated_at": updated,
    }
    raw.update(overrides)
    return raw


def listing(values: list[dict[str, Any]], index: int, size: int = 2, total: int = 0) -> dict[str, Any]:
    return {"page_size": size, "page_index": index, "total": total or len(values), "values": values}


# -- records --------------------------------------------------------------------------------------
def test_records_helpers() -> None:
    text = "第一段 <b> & 'x'\n第二行\n\n第二段"
    assert text_to_html(text) == "<p>第一段 &lt;b&gt; &amp; &#x27;x&#x27;<br>第二行</p><p>第二段</p>"
    assert html_to_text(text_to_html(text)) == text
    assert parse_time(NOW) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(MappingError):
        parse_time(NOW * 1000)  # milliseconds are not PingCode's
    assert to_status({"type": "completed", "name": "已完成"}) is ItemStatus.DONE
    assert to_status({"type": "closed", "name": "已关闭"}) is ItemStatus.WONT_DO
    assert to_status({"type": "in_progress"}) is ItemStatus.IN_PROGRESS
    assert to_status({"type": "pending", "name": "新建"}) is ItemStatus.OPEN


def test_expires_in_both_readings() -> None:
    assert expiry_of(2_592_000, NOW) == datetime.fromtimestamp(NOW + 2_592_000, UTC)  # a duration
    assert expiry_of(NOW + 2_592_000, 0) == datetime.fromtimestamp(NOW + 2_592_000, UTC)  # absolute
    assert expiry_of(None, NOW) is None


# -- auth -----------------------------------------------------------------------------------------
@respx.mock
def test_token_exchange_never_logs_the_secret(http: HttpClient, capsys: pytest.CaptureFixture[str]) -> None:
    route = respx.get(f"{ROOT}/v1/auth/token").mock(
        return_value=httpx.Response(200, json={"access_token": "tok-123", "token_type": "Bearer",
                                               "expires_in": NOW + 2_592_000})
    )  # fmt: skip
    token = fetch_token(http, "cid", "top-secret-value")
    assert token.access_token == "tok-123"
    assert token.expires_at == datetime.fromtimestamp(NOW + 2_592_000, UTC)
    sent = route.calls[0].request.url.params
    assert (sent["grant_type"], sent["client_id"], sent["client_secret"]) == (
        "client_credentials", "cid", "top-secret-value"
    )  # fmt: skip
    out = capsys.readouterr()
    assert "top-secret-value" not in out.out + out.err
    assert "tok-123" not in out.out + out.err


@respx.mock
def test_bad_credentials_and_bad_token_are_auth_errors(http: HttpClient) -> None:
    respx.get(f"{ROOT}/v1/auth/token").mock(
        return_value=httpx.Response(401, json={"code": "100005", "message": "invalid client"})
    )
    with pytest.raises(AuthError):
        fetch_token(http, "cid", "wrong")
    respx.get(VERSIONS).mock(return_value=httpx.Response(401, json={"code": "100006"}))
    with pytest.raises(AuthError):
        tracker(http).list_milestones()


@respx.mock
def test_build_exchanges_once_and_sends_bearer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PC_SECRET", "s3cret-pc")
    token_route = respx.get(f"{ROOT}/v1/auth/token").mock(
        return_value=httpx.Response(200, json={"access_token": "bearer-xyz", "expires_in": 2_592_000})
    )
    section = PingCodeConfig.model_validate(
        {"system": "pingcode", "client_id": "cid", "client_secret_env": "PC_SECRET", "project_id": PID,
         "type_id": "t-req", "priorities": {"high": "p-high"}}
    )  # fmt: skip
    built, client = build(OrgConfig.model_construct(org="acme", source=None), section, None)
    route = respx.get(VERSIONS).mock(return_value=httpx.Response(200, json=listing([], 0, 100)))
    assert built.list_milestones() == ()
    assert route.calls[0].request.headers["Authorization"] == "Bearer bearer-xyz"
    assert token_route.call_count == 1
    scrubbed = REDACTOR.scrub("secret s3cret-pc token bearer-xyz")
    assert "s3cret-pc" not in scrubbed
    assert "bearer-xyz" not in scrubbed
    out = capsys.readouterr()
    assert "s3cret-pc" not in out.out + out.err
    assert built.system == client.system == "pingcode"
    client.close()


def test_config_requires_project_and_type() -> None:
    with pytest.raises(ValueError, match="project_id"):
        PingCodeConfig.model_validate({"system": "pingcode", "client_id": "c", "type_id": "t"})


# -- work items -----------------------------------------------------------------------------------
@respx.mock
def test_list_pages_by_page_index(http: HttpClient) -> None:
    route = respx.get(ITEMS).mock(
        side_effect=[
            httpx.Response(200, json=listing([item("a", NOW + 5), item("b", NOW + 1)], 0, total=3)),
            httpx.Response(200, json=listing([item("c", NOW + 3)], 1, total=3)),
        ]
    )
    since = Cursor(datetime.fromtimestamp(NOW, UTC), "")
    pages = list(tracker(http).iter_changed_items(since))
    assert [[i.key for i in p.items] for p in pages] == [["a", "b"], ["c"]]
    assert pages[0].total == 3
    assert pages[0].cursor is None
    assert pages[1].cursor == Cursor(datetime.fromtimestamp(NOW + 5, UTC), "a")
    params = [dict(c.request.url.params) for c in route.calls]
    assert params == [
        {"project_ids": PID, "updated_between": f"{NOW - 1},", "page_index": "0", "page_size": "2"},
        {"project_ids": PID, "updated_between": f"{NOW - 1},", "page_index": "1", "page_size": "2"},
    ]
    mapped = pages[0].items[0]
    assert (mapped.body, mapped.priority, mapped.status, mapped.marker) == (
        "正文", Priority.HIGH, ItemStatus.OPEN, "ma"
    )  # fmt: skip


@respx.mock
def test_unmappable_items_are_rejects(http: HttpClient) -> None:
    respx.get(ITEMS).mock(
        return_value=httpx.Response(200, json=listing([item("a"), item("b", updated_at="soon")], 0))
    )
    [page] = tracker(http, page_size=100).iter_changed_items(Cursor.epoch())
    assert [i.key for i in page.items] == ["a"]
    assert [r.record_id for r in page.rejects] == ["b"]


@respx.mock
def test_find_by_markers_lists_and_matches_locally(http: HttpClient) -> None:
    route = respx.get(ITEMS).mock(
        side_effect=[
            httpx.Response(200, json=listing([item("a"), item("b")], 0, total=3)),
            httpx.Response(200, json=listing([item("c")], 1, total=3)),
        ]
    )
    found = tracker(http).find_by_markers(["mc", "ma", "nope"])
    assert {k: v.key for k, v in found.items()} == {"ma": "a", "mc": "c"}
    since = NOW - int(timedelta(days=14).total_seconds())
    assert route.calls[0].request.url.params["updated_between"] == f"{since},"


@respx.mock
def test_create_and_patch_bodies(http: HttpClient) -> None:
    create = respx.post(ITEMS).mock(
        return_value=httpx.Response(201, json=item("n1", properties={"mk": "m-1"}))
    )
    draft = BacklogDraft(title="  导出\n报表  ", body="第一行\n第二行", priority=Priority.HIGH)
    [result] = tracker(http).create_items([("m-1", draft)])
    assert result.item is not None
    assert (result.item.key, result.item.marker, result.remote_id) == ("n1", "m-1", "n1")
    assert json.loads(create.calls[0].request.content) == {
        "project_id": PID,
        "type_id": "t-req",
        "title": "导出 报表",
        "description": "<p>第一行<br>第二行</p>",
        "priority_id": "high",
        "properties": {"mk": "m-1"},
    }
    patch = respx.patch(f"{ITEMS}/n1").mock(return_value=httpx.Response(200, json=item("n1")))
    updated = tracker(http).update_item("n1", BacklogDraft(title="x", body="新", priority=Priority.LOWEST))
    assert updated.key == "n1"
    assert json.loads(patch.calls[0].request.content) == {"description": "<p>新</p>", "priority_id": "lowest"}


@respx.mock
def test_create_refused_is_per_item(http: HttpClient) -> None:
    respx.post(ITEMS).mock(
        side_effect=[
            httpx.Response(400, json={"code": "100001", "message": "title is required"}),
            httpx.Response(201, json=item("n2")),
        ]
    )
    draft = BacklogDraft(title="t", body="b")
    results = tracker(http).create_items([("a", draft), ("b", draft)])
    assert results[0].error is not None
    assert "title is required" in results[0].error
    assert results[1].item is not None


@respx.mock
def test_429_with_x_pc_retry_after_is_retried() -> None:
    waits: list[float] = []
    client = HttpClient(
        ROOT, system="pingcode", limits=FAST, sleep=waits.append, retry_after_headers=RETRY_AFTER_HEADERS
    )
    route = respx.post(ITEMS).mock(
        side_effect=[
            httpx.Response(429, headers={"x-pc-retry-after": "7"}, json={"code": "100038"}),
            httpx.Response(201, json=item("n3")),
        ]
    )
    [result] = tracker(client).create_items([("m", BacklogDraft(title="t", body="b"))])
    assert result.item is not None
    assert route.call_count == 2
    assert sum(waits) >= 6.9  # the bucket is paused for x-pc-retry-after, then waited out
    client.close()


# -- versions -------------------------------------------------------------------------------------
@respx.mock
def test_versions_mapping(http: HttpClient) -> None:
    end = int(datetime(2024, 6, 30, 20, 0, tzinfo=UTC).timestamp())  # 2024-07-01 04:00 in China
    respx.get(VERSIONS).mock(
        side_effect=[
            httpx.Response(200, json=listing([
                {"id": "v1", "name": "2.4", "end_at": end, "status": "published",
                 "stage": {"name": "已发布", "type": "published"}, "updated_at": NOW},
                {"id": "v2", "name": "2.5", "end_at": None, "status": "pending",
                 "stage": {"name": "未开始", "type": "pending"}},
            ], 0, total=3)),
            httpx.Response(200, json=listing([
                {"id": "v3", "name": "2.6", "end_at": end, "stage": {"type": "in_progress"}},
            ], 1, total=3)),
        ]
    )  # fmt: skip
    got = {m.name: m for m in tracker(http).list_milestones()}
    assert (got["2.4"].state, got["2.4"].due) == (MilestoneState.RELEASED, date(2024, 7, 1))
    assert got["2.4"].updated_at == datetime.fromtimestamp(NOW, UTC)
    assert (got["2.5"].state, got["2.5"].due) == (MilestoneState.PLANNED, None)
    assert got["2.6"].state is MilestoneState.PLANNED
    assert got["2.4"].id == "v1"
