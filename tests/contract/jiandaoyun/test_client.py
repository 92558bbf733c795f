"""Contract tests: the Jiandaoyun client against respx-mocked, doc-shaped v5 responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import AuthError
from adapters.http import ErrorKind, HttpClient
from adapters.jiandaoyun.client import (
    RATE_LIMITS,
    JiandaoyunCrm,
    JiandaoyunSettings,
    classify,
    transaction_id,
)
from mappings.models import Cursor, FeedbackLink, ItemStatus, Urgency
from tests.contract.fixtures_http import THREE_TRIES, contract_http
from tests.factories import make_alert

BASE = "https://api.jiandaoyun.com"
API = f"{BASE}/api/v5/app/entry/data"
S = JiandaoyunSettings(app_id="app1", feedback_entry_id="fb", customer_entry_id="cu", followup_entry_id="fu")
SINCE = Cursor(datetime(2024, 5, 1, tzinfo=UTC), "")
UNTIL = datetime(2024, 5, 3, 0, 0, 0, 900_000, tzinfo=UTC)


def body_of(call: Any) -> Any:
    return json.loads(call.request.content)


def _row(ident: str, stamp: str, title: str = "支持导出 CSV 报表", **extra: Any) -> dict[str, Any]:
    return {"_id": ident, "createTime": stamp, "updateTime": stamp, "_widget_title": title, **extra}


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with contract_http(
        BASE, system="jiandaoyun", token="test-key", limits=RATE_LIMITS, retry=THREE_TRIES, classify=classify
    ) as client:
        yield client


def test_list_body_has_range_filter_data_id_cursor_and_limit(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    full = [_row(f"65f{i:021x}", "2024-05-02T10:00:00.000Z") for i in range(1, 101)]
    full[0] = _row(
        full[0]["_id"],
        "2024-05-02T12:30:00.123Z",
        "单点登录（SSO）支持",
        _widget_customer="cust1",
        _widget_urgency="紧急",
        _widget_promised="2024-09-30T00:00:00.000Z",
        _widget_backlog_key="PROD-7",
    )
    last = [_row("65f" + "f" * 21, "2024-05-01T08:00:00.000Z")]
    route = mock.post(f"{API}/list").mock(
        side_effect=[httpx.Response(200, json={"data": full}), httpx.Response(200, json={"data": last})]
    )

    pages = list(JiandaoyunCrm(http, S).iter_changed_feedback(SINCE, UNTIL))

    first, second = body_of(route.calls[0]), body_of(route.calls[1])
    assert route.calls[0].request.headers["Authorization"] == "Bearer test-key"
    assert first["app_id"] == "app1"
    assert first["entry_id"] == "fb"
    assert first["limit"] == 100
    assert "data_id" not in first
    assert first["filter"] == {
        "rel": "and",
        "cond": [
            {
                "field": "updateTime",
                "type": "datetime",
                "method": "range",
                "value": ["2024-05-01T00:00:00.000Z", "2024-05-03T00:00:00.900Z"],
            }
        ],
    }
    assert "_widget_title" in first["fields"]
    assert "_widget_backlog_key" in first["fields"]
    assert second["data_id"] == full[-1]["_id"]
    assert [len(p.items) for p in pages] == [100, 1]
    # rows come by data id, not by time: only the last page proposes a cursor, the newest of the pull
    assert pages[0].cursor is None
    assert pages[1].cursor == Cursor(datetime(2024, 5, 2, 12, 30, 0, 123_000, tzinfo=UTC), full[0]["_id"])
    sso = pages[0].items[0]
    assert (sso.title, sso.account_id, sso.urgency) == ("单点登录（SSO）支持", "cust1", Urgency.CRITICAL)
    assert sso.promised_date == date(2024, 9, 30)
    assert sso.backlog_key == "PROD-7"
    assert pages[0].items[1].account_id is None


def test_link_feedback_updates_each_row_with_its_own_values(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/update").mock(
        side_effect=[
            httpx.Response(200, json={"data": {"_id": "a"}}),
            httpx.Response(400, json={"code": 4003, "msg": "数据不存在"}),
        ]
    )
    links = [
        FeedbackLink(
            feedback_id="a",
            backlog_key="PROD-1",
            backlog_url="https://t/1",
            status=ItemStatus.DONE,
            milestone="2.4",
            due=date(2024, 6, 1),
        ),
        FeedbackLink(feedback_id="b", backlog_key="PROD-2"),
    ]

    results = JiandaoyunCrm(http, S).link_feedback(links)

    assert [r.ref for r in results] == ["a", "b"]
    assert results[0].ok
    assert not results[1].ok
    assert "4003" in (results[1].error or "")
    one, two = body_of(route.calls[0]), body_of(route.calls[1])
    assert one == {
        "app_id": "app1",
        "entry_id": "fb",
        "data_id": "a",
        "data": {
            "_widget_backlog_key": {"value": "PROD-1"},
            "_widget_backlog_url": {"value": "https://t/1"},
            "_widget_backlog_status": {"value": "done"},
            "_widget_milestone": {"value": "2.4"},
            "_widget_milestone_due": {"value": "2024-06-01T00:00:00.000Z"},
        },
    }
    assert two["data_id"] == "b"
    assert two["data"]["_widget_backlog_key"] == {"value": "PROD-2"}


def test_create_alerts_batch_create_with_transaction_id(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/batch_create").mock(
        return_value=httpx.Response(
            200, json={"status": "success", "success_count": 2, "success_ids": ["x1", "x2"]}
        )
    )
    alerts = [make_alert(key="k1"), make_alert(key="k2", subject="已发布：2.4")]

    results = JiandaoyunCrm(http, S).create_alerts(alerts)

    body = body_of(route.calls[0])
    assert body["entry_id"] == "fu"
    assert body["transaction_id"] == transaction_id(["k2", "k1"])  # order-independent, deterministic
    assert len(body["data_list"]) == 2
    assert body["data_list"][1]["_widget_alert_title"] == {"value": "已发布：2.4"}
    assert body["data_list"][0]["_widget_alert_owner"] == {"value": "o1"}
    assert body["data_list"][0]["_widget_alert_key"] == {"value": "k1"}
    assert [(r.ref, r.remote_id, r.ok) for r in results] == [("k1", "x1", True), ("k2", "x2", True)]


def test_find_alerts_uses_in_filter_on_the_key_widget(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/list").mock(
        return_value=httpx.Response(200, json={"data": [{"_id": "x1", "_widget_alert_key": "k1"}]})
    )

    found = JiandaoyunCrm(http, S).find_alerts(["k1", "k2"])

    assert found == {"k1": "x1"}
    body = body_of(route.calls[0])
    assert body["entry_id"] == "fu"
    assert body["filter"]["cond"] == [
        {"field": "_widget_alert_key", "type": "text", "method": "in", "value": ["k1", "k2"]}
    ]


def test_code_8303_is_retried_as_throttling(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/list").mock(
        side_effect=[
            httpx.Response(400, json={"code": 8303, "msg": "超出请求频率限制"}),
            httpx.Response(200, json={"data": []}),
        ]
    )

    assert JiandaoyunCrm(http, S).find_alerts(["k1"]) == {}
    assert route.call_count == 2


def test_bad_key_is_an_auth_error(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.post(f"{API}/list").mock(
        return_value=httpx.Response(401, json={"code": 8301, "msg": "API Key 无效"})
    )

    with pytest.raises(AuthError):
        list(JiandaoyunCrm(http, S).iter_changed_feedback(SINCE, UNTIL))


def test_other_400_is_not_throttling() -> None:
    request = httpx.Request("POST", f"{API}/list")
    assert classify(httpx.Response(400, json={"code": 8303}, request=request)) is ErrorKind.RATE_LIMITED
    assert classify(httpx.Response(400, json={"code": 4000}, request=request)) is ErrorKind.PERMANENT
    assert classify(httpx.Response(200, json={}, request=request)) is None


def test_every_page_of_a_walk_carries_when_its_first_page_was_answered(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    full = [_row(f"65f{i:021x}", "2024-05-02T10:00:00.000Z") for i in range(1, 101)]
    last = [_row("65f" + "f" * 21, "2024-05-01T08:00:00.000Z")]
    mock.post(f"{API}/list").mock(
        side_effect=[
            httpx.Response(200, json={"data": full}, headers={"Date": "Fri, 03 May 2024 00:05:00 GMT"}),
            httpx.Response(200, json={"data": last}, headers={"Date": "Fri, 03 May 2024 00:07:00 GMT"}),
        ]
    )

    pages = list(JiandaoyunCrm(http, S).iter_changed_feedback(SINCE, UNTIL))

    assert [p.served_at for p in pages] == [datetime(2024, 5, 3, 0, 5, tzinfo=UTC)] * 2
