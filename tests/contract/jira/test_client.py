"""Contract tests: the exact requests JiraTracker sends and how it maps doc-shaped Jira answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import AuthError, MalformedResponseError, PaginationLoopError, TransientError
from adapters.http import HttpClient
from adapters.jira.client import RATE_LIMITS, JiraSettings, JiraTracker
from adapters.jira.records import adf_from_text, adf_to_text, to_backlog_item, trim_summary
from mappings.errors import MappingError
from mappings.models import BacklogDraft, Cursor, ItemStatus, Priority
from tests.contract.fixtures_http import contract_http

SITE = "https://acme.atlassian.net"
FIXTURES = Path(__file__).parent / "fixtures"
SEARCH = f"{SITE}/rest/api/3/search/jql"
BULK = f"{SITE}/rest/api/3/issue/bulk"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def http(sleeps: list[float]) -> Iterator[HttpClient]:
    with contract_http(SITE, system="jira", limits=RATE_LIMITS, sleep=sleeps.append) as client:
        yield client


def tracker(http: HttpClient, **overrides: Any) -> JiraTracker:
    settings: dict[str, Any] = {
        "project_key": "PROD",
        "site_url": SITE,
        "accounts_field": "customfield_10050",
        "arr_field": "customfield_10051",
    }
    settings.update(overrides)
    return JiraTracker(http, JiraSettings(**settings))


def draft(n: int = 1, **overrides: Any) -> BacklogDraft:
    values: dict[str, Any] = {
        "title": f"Export reports to CSV #{n}",
        "body": "Finance needs CSV.\n\n> We re-key numbers monthly.",
        "labels": ("customer feedback", "csv"),
        "priority": Priority.HIGH,
        "account_count": 3,
        "total_arr": 125_000.456,
    }
    values.update(overrides)
    return BacklogDraft(**values)


def created(start: int, count: int) -> dict[str, Any]:
    issues = [
        {"id": str(10000 + i), "key": f"PROD-{i}", "self": f"{SITE}/rest/api/3/issue/{10000 + i}"}
        for i in range(start, start + count)
    ]
    return {"issues": issues, "errors": []}


def sent(route: respx.Route, index: int = 0) -> Any:
    return json.loads(route.calls[index].request.content)


# -- create_items ---------------------------------------------------------------------------------
def test_create_items_chunks_120_drafts_into_50_50_20(http: HttpClient) -> None:
    drafts = [(f"m{n:03d}", draft(n)) for n in range(120)]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(BULK).mock(
            side_effect=[
                httpx.Response(201, json=created(1, 50)),
                httpx.Response(201, json=created(51, 50)),
                httpx.Response(201, json=created(101, 20)),
            ]
        )
        results = tracker(http).create_items(drafts)

    assert [len(sent(route, i)["issueUpdates"]) for i in range(route.call_count)] == [50, 50, 20]
    first = sent(route)["issueUpdates"][0]
    assert first["properties"] == [{"key": "syncer.marker", "value": {"marker": "m000"}}]
    assert first["fields"] == {
        "project": {"key": "PROD"},
        "summary": "Export reports to CSV #0",
        "description": {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Finance needs CSV."}]},
                {
                    "type": "blockquote",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [{"type": "text", "text": "We re-key numbers monthly."}],
                        }
                    ],
                },
            ],
        },
        "issuetype": {"name": "Story"},
        "labels": ["customer-feedback", "csv", "syncer-m000"],
        "priority": {"name": "High"},
        "customfield_10050": 3,
        "customfield_10051": 125000.46,
    }
    assert [r.ref for r in results] == [m for m, _ in drafts]
    assert all(r.ok for r in results)
    assert results[119].item is not None
    assert results[119].item.key == "PROD-120"
    assert results[0].item is not None
    assert results[0].item.url == f"{SITE}/browse/PROD-1"
    assert results[0].item.marker == "m000"


def test_create_items_omits_custom_fields_when_not_configured(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(BULK).mock(return_value=httpx.Response(201, json=created(1, 1)))
        tracker(http, accounts_field=None, arr_field=None).create_items([("m1", draft(title="x " * 200))])
    fields = sent(route)["issueUpdates"][0]["fields"]
    assert not any(name.startswith("customfield_") for name in fields)
    assert len(fields["summary"]) <= 255
    assert fields["summary"].endswith("x…")


def test_create_items_partial_failure_keeps_input_order(http: HttpClient) -> None:
    drafts = [("a", draft(1)), ("b", draft(2)), ("c", draft(3))]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.post(BULK).mock(return_value=httpx.Response(201, json=fixture("bulk_partial.json")))
        results = tracker(http).create_items(drafts)

    assert [r.ref for r in results] == ["a", "b", "c"]
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].item is not None
    assert results[0].item.key == "PROD-24"
    assert results[2].item is not None
    assert results[2].item.key == "PROD-25"
    assert results[1].error == "customfield_10051: Operation value must be a number"


def test_create_items_all_rejected_400_reports_each(http: HttpClient) -> None:
    element = {"errorMessages": [], "errors": {"summary": "required"}}
    errors = [{"status": 400, "elementErrors": element, "failedElementNumber": i} for i in range(2)]
    body = {"issues": [], "errors": errors}
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.post(BULK).mock(return_value=httpx.Response(400, json=body))
        results = tracker(http).create_items([("a", draft(1)), ("b", draft(2))])
    assert [(r.ref, r.error) for r in results] == [("a", "summary: required"), ("b", "summary: required")]


# -- update_item ----------------------------------------------------------------------------------
def test_update_item_sends_only_owned_fields_and_adds_labels(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.put(f"{SITE}/rest/api/3/issue/PROD-7").mock(
            return_value=httpx.Response(204, headers={"Date": "Wed, 01 May 2024 10:00:00 GMT"})
        )
        item = tracker(http).update_item("PROD-7", draft(7, priority=Priority.LOWEST))

    body = sent(route)
    assert set(body) == {"fields", "update"}
    assert set(body["fields"]) == {"description", "priority", "customfield_10050", "customfield_10051"}
    assert body["fields"]["priority"] == {"name": "Lowest"}
    assert body["update"] == {"labels": [{"add": "customer-feedback"}, {"add": "csv"}]}
    for owned_by_rnd in ("summary", "status", "assignee", "fixVersions", "labels"):
        assert owned_by_rnd not in body["fields"]
    assert item.key == "PROD-7"
    assert item.url == f"{SITE}/browse/PROD-7"
    assert item.updated_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


# -- search ---------------------------------------------------------------------------------------
def test_iter_changed_items_pages_until_token_missing(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(SEARCH).mock(
            side_effect=[
                httpx.Response(200, json=fixture("search_page1.json")),
                httpx.Response(200, json=fixture("search_page2.json")),
            ]
        )
        pages = list(tracker(http, page_size=2).iter_changed_items(Cursor.epoch()))

    assert route.call_count == 2
    first, second = (call.request.url.params for call in route.calls)
    assert "nextPageToken" not in first
    assert second["nextPageToken"] == "CAEaAggD"
    assert first["maxResults"] == "2"
    assert set(first["fields"].split(",")) >= {
        "summary",
        "labels",
        "status",
        "priority",
        "updated",
        "fixVersions",
    }
    assert [i.key for p in pages for i in p.items] == ["PROD-12", "PROD-13", "PROD-14"]
    todo, doing = pages[0].items
    assert (todo.status, todo.priority, todo.marker) == (ItemStatus.OPEN, Priority.HIGH, "9f2c4e1a7b3d5c60")
    assert todo.body == "Finance needs CSV exports.\n\n> We re-key the numbers every month."
    assert (doing.status, doing.milestone) == (ItemStatus.IN_PROGRESS, "2.4")
    assert pages[0].cursor == Cursor(datetime(2024, 5, 1, 10, 5, 12, 345000, tzinfo=UTC), "PROD-13")
    assert pages[1].items[0].status is ItemStatus.WONT_DO


def test_iter_changed_items_honours_is_last_even_with_token(http: HttpClient) -> None:
    body = {**fixture("search_page2.json"), "nextPageToken": "stale", "isLast": True}
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(SEARCH).mock(return_value=httpx.Response(200, json=body))
        pages = list(tracker(http).iter_changed_items(Cursor.epoch()))
    assert route.call_count == 1
    assert len(pages) == 1


def test_iter_changed_items_repeating_token_raises_pagination_loop(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(SEARCH).mock(return_value=httpx.Response(200, json=fixture("search_page1.json")))
        with pytest.raises(PaginationLoopError):
            list(tracker(http).iter_changed_items(Cursor.epoch()))


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        pytest.param("UTC", '"2024/05/01 10:07"', id="utc"),
        pytest.param("Europe/Berlin", '"2024/05/01 12:07"', id="berlin-cest"),
        pytest.param("America/New_York", '"2024/05/01 06:07"', id="new-york-edt"),
    ],
)
def test_iter_changed_items_floors_jql_to_minute_in_user_zone(
    http: HttpClient, zone: str, expected: str
) -> None:
    since = Cursor(datetime(2024, 5, 1, 10, 7, 59, 999000, tzinfo=UTC), "PROD-3")
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(SEARCH).mock(return_value=httpx.Response(200, json={"issues": [], "isLast": True}))
        assert list(tracker(http, jql_time_zone=zone).iter_changed_items(since)) == []
    jql = route.calls[0].request.url.params["jql"]
    assert jql == f'project = "PROD" AND updated >= {expected} ORDER BY updated ASC, key ASC'


def test_iter_changed_items_bad_issue_becomes_reject(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(SEARCH).mock(return_value=httpx.Response(200, json=fixture("search_with_bad_issue.json")))
        (page,) = list(tracker(http).iter_changed_items(Cursor.epoch()))
    assert [i.key for i in page.items] == ["PROD-15"]
    assert [r.record_id for r in page.rejects] == ["PROD-16"]
    assert "updated" in page.rejects[0].reason
    assert page.cursor == Cursor(datetime(2024, 5, 2, 8, 30, tzinfo=UTC), "PROD-15")


def test_find_by_markers_chunks_labels_in_queries_of_50(http: HttpClient) -> None:
    markers = [f"{n:016x}" for n in range(120)] + ["9f2c4e1a7b3d5c60"]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(SEARCH).mock(
            side_effect=[
                httpx.Response(200, json={**fixture("search_page1.json"), "nextPageToken": None}),
                httpx.Response(200, json={"issues": [], "isLast": True}),
                httpx.Response(200, json={"issues": []}),
            ]
        )
        found = tracker(http).find_by_markers(markers)

    queries = [call.request.url.params["jql"] for call in route.calls]
    assert len(queries) == 3
    assert [q.count('"syncer-') for q in queries] == [50, 50, 21]
    assert queries[0].startswith('project = "PROD" AND labels in ("syncer-0000000000000000", ')
    assert set(found) == {"9f2c4e1a7b3d5c60"}  # PROD-13's marker was not asked for
    assert found["9f2c4e1a7b3d5c60"].key == "PROD-12"


# -- transport errors -----------------------------------------------------------------------------
def test_search_429_with_retry_after_then_success(http: HttpClient, sleeps: list[float]) -> None:
    throttled = httpx.Response(
        429,
        headers={"Retry-After": "3", "RateLimit-Reason": "jira-burst-based", "X-RateLimit-Remaining": "0"},
        json={"errorMessages": ["Rate limit exceeded."], "errors": {}},
    )
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(SEARCH).mock(
            side_effect=[throttled, httpx.Response(200, json=fixture("search_page2.json"))]
        )
        pages = list(tracker(http).iter_changed_items(Cursor.epoch()))
    assert route.call_count == 2
    assert len(pages) == 1
    assert max(sleeps) >= 3.0  # the client waited out Retry-After before asking again


def test_search_401_raises_auth_error(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(SEARCH).mock(return_value=httpx.Response(401, json=fixture("error_401.json")))
        with pytest.raises(AuthError):
            list(tracker(http).iter_changed_items(Cursor.epoch()))
    assert route.call_count == 1  # never retried


def test_search_malformed_json_raises_malformed_response(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(SEARCH).mock(return_value=httpx.Response(200, text='{"issues": [ trunc'))
        with pytest.raises(MalformedResponseError):
            list(tracker(http).iter_changed_items(Cursor.epoch()))


def test_search_body_without_issues_raises_malformed_response(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(SEARCH).mock(return_value=httpx.Response(200, json={"values": []}))
        with pytest.raises(MalformedResponseError):
            list(tracker(http).iter_changed_items(Cursor.epoch()))


# -- records --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "resolution", "expected"),
    [
        pytest.param("new", None, ItemStatus.OPEN, id="todo"),
        pytest.param("indeterminate", None, ItemStatus.IN_PROGRESS, id="in-progress"),
        pytest.param("done", "Done", ItemStatus.DONE, id="done"),
        pytest.param("done", "Won't Do", ItemStatus.WONT_DO, id="wont-do"),
        pytest.param("done", "Won’t Fix", ItemStatus.WONT_DO, id="wont-fix-curly"),
    ],
)
def test_to_backlog_item_status_from_category(
    category: str, resolution: str | None, expected: ItemStatus
) -> None:
    raw = fixture("search_page2.json")["issues"][0]
    raw["fields"]["status"]["statusCategory"]["key"] = category
    raw["fields"]["resolution"] = {"name": resolution} if resolution else None
    assert to_backlog_item(raw, SITE, "syncer-").status is expected


def test_to_backlog_item_unknown_category_raises_mapping_error() -> None:
    raw = fixture("search_page2.json")["issues"][0]
    raw["fields"]["status"]["statusCategory"]["key"] = "undefined"
    with pytest.raises(MappingError):
        to_backlog_item(raw, SITE, "syncer-")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("one line", id="line"),
        pytest.param("para one\nsecond line\n\npara two", id="paragraphs"),
        pytest.param("intro\n\n> quoted\n> more", id="quote"),
        pytest.param("", id="empty"),
    ],
)
def test_adf_round_trips_plain_text(text: str) -> None:
    assert adf_to_text(adf_from_text(text)) == text


def test_trim_summary_is_deterministic_and_bounded() -> None:
    long = "word " * 100
    assert trim_summary(long) == trim_summary(long)
    assert len(trim_summary(long)) == 255
    assert trim_summary("  a\nb  ") == "a b"


def test_create_items_raises_on_an_ambiguous_bulk_failure_so_intents_stay_open(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(BULK).mock(return_value=httpx.Response(502))
        with pytest.raises(TransientError):
            tracker(http).create_items([("m1", draft())])
    assert route.call_count == 1  # a create is never blindly re-sent


# -- open deal value ------------------------------------------------------------------------------
def test_create_items_writes_open_deals_field_when_configured(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(BULK).mock(return_value=httpx.Response(201, json=created(1, 1)))
        tracker(http, open_deals_field="customfield_10052").create_items(
            [("m1", draft(open_deal_value=48_000.125))]
        )
    fields = sent(route)["issueUpdates"][0]["fields"]
    assert fields["customfield_10052"] == 48000.12
    assert (fields["customfield_10050"], fields["customfield_10051"]) == (3, 125000.46)


def test_update_item_writes_open_deals_field_when_configured(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.put(f"{SITE}/rest/api/3/issue/PROD-7").mock(return_value=httpx.Response(204))
        tracker(http, open_deals_field="customfield_10052").update_item(
            "PROD-7", draft(open_deal_value=9.999)
        )
    assert sent(route)["fields"]["customfield_10052"] == 10.0


def test_update_item_omits_open_deals_field_by_default(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.put(f"{SITE}/rest/api/3/issue/PROD-7").mock(return_value=httpx.Response(204))
        tracker(http).update_item("PROD-7", draft(open_deal_value=500.0))
    assert "customfield_10052" not in sent(route)["fields"]


# -- fix versions on items ------------------------------------------------------------------------
def test_iter_changed_items_takes_milestone_id_and_name_from_first_fix_version(http: HttpClient) -> None:
    page = fixture("search_page1.json")
    page["issues"][1]["fields"]["fixVersions"].append({"id": "10009", "name": "2.5"})
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(SEARCH).mock(return_value=httpx.Response(200, json={**page, "isLast": True}))
        (result,) = list(tracker(http).iter_changed_items(Cursor.epoch()))
    requested = set(route.calls[0].request.url.params["fields"].split(","))
    assert requested >= {"fixVersions", "resolution", "status"}
    without, with_version = result.items
    assert (without.milestone, without.milestone_id) == (None, None)
    assert (with_version.milestone, with_version.milestone_id) == ("2.4", "10000")
