"""Contract tests: the Worktile client against respx-mocked, client-code-shaped responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from adapters.errors import AuthError
from adapters.http import HttpClient
from adapters.worktile.client import RATE_LIMITS, WorktileCrm, WorktileSettings, classify, fetch_token
from mappings.models import Cursor, FeedbackLink, Urgency
from syncer.systems.worktile import WorktileConfig, settings_for
from tests.contract.fixtures_http import THREE_TRIES, contract_http

BASE = "https://acme.worktile.com"
S = WorktileSettings(team="acme", project_id="p1", followup_project_id="p2")
T0 = 1_714_550_400  # 2024-05-01T08:00:00Z


def _task(ident: str, stamp: int, **props: object) -> dict[str, object]:
    return {
        "_id": ident,
        "title": "支持导出 CSV 报表",
        "updated_at": stamp,
        "priority": {"name": "紧急"},
        "assignee": {"uid": "u1", "display_name": "李娜"},
        "tags": [{"name": "功能需求"}],
        "properties": props,
    }


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with contract_http(
        BASE, system="worktile", limits=RATE_LIMITS, retry=THREE_TRIES, classify=classify
    ) as client:
        yield client


def test_token_exchange_posts_client_credentials(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{BASE}/open-api/tenant-access-token").mock(
        return_value=httpx.Response(200, json={"access_token": "tok", "expires_in": 7200})
    )
    assert fetch_token(http, "cid", "sec") == "tok"
    assert json.loads(route.calls[0].request.content) == {"client_id": "cid", "client_secret": "sec"}


def test_scan_pages_filters_by_window_and_sorts(http: HttpClient, mock: respx.MockRouter) -> None:
    page0 = [_task(f"t{i:03d}", T0 + 100 - i, customer="上海云启科技有限公司") for i in range(100)]
    page1 = [_task("t999", T0 + 5000)]  # after `until`: filtered out client-side
    route = mock.get(f"{BASE}/open-api/mission/get-project-tasks-by-page").mock(
        side_effect=[
            httpx.Response(200, json={"items": page0, "total": 101, "has_more": True}),
            httpx.Response(200, json={"items": page1, "total": 101, "has_more": False}),
        ]
    )
    crm = WorktileCrm(http, S, token="tok")
    since = Cursor(datetime.fromtimestamp(T0 + 50, UTC))
    until = datetime.fromtimestamp(T0 + 1000, UTC)

    pages = list(crm.iter_changed_feedback(since, until))

    items = [f for p in pages for f in p.items]
    assert len(items) == 51  # stamps T0+50 .. T0+100 inclusive
    assert [f.updated_at for f in items] == sorted(f.updated_at for f in items)
    assert pages[-1].cursor == Cursor(datetime.fromtimestamp(T0 + 100, UTC), "t000")
    first = items[0]
    assert (first.urgency, first.category, first.account_id) == (
        Urgency.CRITICAL,
        "功能需求",
        "上海云启科技有限公司",
    )
    q = [dict(c.request.url.params) for c in route.calls]
    assert [(p["page_index"], p["project_id"], p["access_token"]) for p in q] == [
        ("0", "p1", "tok"),
        ("1", "p1", "tok"),
    ]
    owner = crm.get_accounts(["上海云启科技有限公司"])["上海云启科技有限公司"].owner
    assert owner is not None
    assert owner.name == "李娜"


def test_link_puts_properties_and_200_error_body_is_auth(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.put(f"{BASE}/open-api/mission/tasks/t1").mock(
        return_value=httpx.Response(200, json={"value": _task("t1", T0)})
    )
    mock.put(f"{BASE}/open-api/mission/tasks/t2").mock(
        return_value=httpx.Response(200, json={"ok": False, "error_code": 1103, "message": "invalid"})
    )
    crm = WorktileCrm(http, S, token="tok")

    assert crm.link_feedback([FeedbackLink(feedback_id="t1", backlog_key="PROD-1")])[0].ok
    body = json.loads(route.calls[0].request.content)
    assert body["properties"]["syncer_backlog_key"] == "PROD-1"
    with pytest.raises(AuthError):
        crm.link_feedback([FeedbackLink(feedback_id="t2", backlog_key="PROD-2")])


def test_config_defaults_and_validation() -> None:
    section = WorktileConfig.model_validate(
        {
            "system": "worktile",
            "team": "acme",
            "client_id": "c",
            "client_secret_env": "WT_SECRET",
            "project_id": "p1",
            "followup_project_id": "p2",
            "properties": {"customer": "kehu"},
        }
    )
    assert section.api_url == BASE
    s = settings_for(section)
    assert (s.project_id, s.customer_property, s.alert_key_property) == ("p1", "kehu", "syncer_alert_key")
    with pytest.raises(ValueError, match="client_secret"):
        WorktileConfig.model_validate(
            {
                "system": "worktile",
                "team": "a",
                "client_id": "c",
                "project_id": "p",
                "followup_project_id": "q",
            }
        )
