"""Contract tests: the exact requests RedmineTracker sends and how it maps doc-shaped Redmine answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import AuthError, TransientError
from adapters.http import HttpClient, RateLimit
from adapters.redmine.client import RedmineSettings, RedmineTracker
from adapters.redmine.records import to_status, trim_subject
from mappings.errors import MappingError
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from tests.contract.fixtures_http import contract_http

SITE = "https://redmine.example.com"
ISSUES = f"{SITE}/issues.json"
FAST = {"default": RateLimit(rate=1000.0, burst=1000)}


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with contract_http(SITE, system="redmine", limits=FAST) as client:
        yield client


def tracker(http: HttpClient, **overrides: Any) -> RedmineTracker:
    values: dict[str, Any] = {"project": "product", "marker_field_id": 7, "tracker_id": 2, "site_url": SITE}
    values.update(overrides)
    return RedmineTracker(http, RedmineSettings(**values))


def draft(n: int = 1, **overrides: Any) -> BacklogDraft:
    values: dict[str, Any] = {
        "title": f"Export to CSV #{n}",
        "body": "Finance needs CSV.",
        "priority": Priority.HIGH,
    }
    values.update(overrides)
    return BacklogDraft(**values)


def issue(ident: int, updated: str = "2024-05-01T10:00:00Z", **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": ident,
        "project": {"id": 1, "name": "Product"},
        "tracker": {"id": 2, "name": "Feature"},
        "status": {"id": 1, "name": "New", "is_closed": False},
        "priority": {"id": 3, "name": "High"},
        "subject": f"Issue {ident}",
        "description": "Body",
        "custom_fields": [{"id": 7, "name": "Syncer marker", "value": f"m{ident}"}],
        "created_on": "2024-05-01T09:00:00Z",
        "updated_on": updated,
        "closed_on": None,
    }
    raw.update(overrides)
    return raw


def listing(issues: list[dict[str, Any]], offset: int = 0, limit: int = 100, total: int | None = None) -> Any:
    return {
        "issues": issues,
        "total_count": len(issues) if total is None else total,
        "offset": offset,
        "limit": limit,
    }


# -- records --------------------------------------------------------------------------------------
def test_status_mapping() -> None:
    assert to_status({"id": 1, "name": "New"}) is ItemStatus.OPEN
    assert to_status({"id": 2, "name": "In Progress"}) is ItemStatus.IN_PROGRESS
    assert to_status({"id": 5, "name": "Closed", "is_closed": True}) is ItemStatus.DONE
    assert to_status({"id": 6, "name": "Rejected", "is_closed": True}) is ItemStatus.WONT_DO
    assert to_status({"id": 9, "name": "Shipped", "is_closed": True}) is ItemStatus.DONE
    assert to_status({"id": 9, "name": "Shipped"}, done={"shipped"}) is ItemStatus.DONE
    with pytest.raises(MappingError):
        to_status(None)


def test_trim_subject() -> None:
    assert trim_subject("a\n b") == "a b"
    long = trim_subject("x" * 300)
    assert len(long) == 255
    assert long.endswith("…")


# -- find_by_markers ------------------------------------------------------------------------------
@respx.mock
def test_find_by_markers_queries_the_custom_field_per_marker(http: HttpClient) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        marker = request.url.params["cf_7"]
        found = [issue(5, custom_fields=[{"id": 7, "value": "aa"}])] if marker == "aa" else []
        return httpx.Response(200, json=listing(found))

    route = respx.get(ISSUES).mock(side_effect=answer)
    found = tracker(http).find_by_markers(["aa", "bb", "aa"])
    assert list(found) == ["aa"]
    item = found["aa"]
    assert (item.key, item.marker, item.url) == ("5", "aa", f"{SITE}/issues/5")
    assert route.call_count == 2
    params = dict(route.calls[0].request.url.params)
    assert params == {"project_id": "product", "status_id": "*", "cf_7": "aa", "sort": "id", "limit": "100"}


@respx.mock
def test_find_by_markers_ignores_inexact_matches(http: HttpClient) -> None:
    respx.get(ISSUES).mock(return_value=httpx.Response(200, json=listing([issue(5)])))  # marker m5
    assert tracker(http).find_by_markers(["m"]) == {}


# -- create ---------------------------------------------------------------------------------------
@respx.mock
def test_create_posts_one_issue_per_draft_with_the_marker(http: HttpClient) -> None:
    created = iter(
        [
            issue(11, custom_fields=[{"id": 7, "value": "aa"}]),
            issue(12, custom_fields=[{"id": 7, "value": "bb"}]),
        ]
    )
    route = respx.post(ISSUES).mock(side_effect=lambda r: httpx.Response(201, json={"issue": next(created)}))
    results = tracker(http).create_items([("aa", draft(1)), ("bb", draft(2, priority=Priority.LOW))])
    assert [r.ref for r in results] == ["aa", "bb"]
    assert [r.item.key for r in results if r.item] == ["11", "12"]
    assert results[0].item
    assert results[0].item.marker == "aa"
    body = json.loads(route.calls[0].request.content)
    assert body == {
        "issue": {
            "project_id": "product",
            "subject": "Export to CSV #1",
            "description": "Finance needs CSV.",
            "priority_id": 3,
            "custom_fields": [{"id": 7, "value": "aa"}],
            "tracker_id": 2,
        }
    }
    assert json.loads(route.calls[1].request.content)["issue"]["priority_id"] == 1


@respx.mock
def test_create_422_is_a_per_item_error(http: HttpClient) -> None:
    answers = iter(
        [
            httpx.Response(422, json={"errors": ["Subject cannot be blank"]}),
            httpx.Response(201, json={"issue": issue(12, custom_fields=[{"id": 7, "value": "bb"}])}),
        ]
    )
    respx.post(ISSUES).mock(side_effect=lambda r: next(answers))
    results = tracker(http).create_items([("aa", draft(1, title=" ")), ("bb", draft(2))])
    assert results[0].item is None
    assert results[0].error
    assert "Subject cannot be blank" in results[0].error
    assert results[1].item
    assert results[1].item.key == "12"


@respx.mock
def test_create_timeout_raises_and_is_not_resent(http: HttpClient) -> None:
    route = respx.post(ISSUES).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError):
        tracker(http).create_items([("aa", draft())])
    assert route.call_count == 1


@respx.mock
def test_create_keeps_the_marker_when_redmine_drops_the_field(http: HttpClient) -> None:
    respx.post(ISSUES).mock(return_value=httpx.Response(201, json={"issue": issue(3, custom_fields=[])}))
    [result] = tracker(http).create_items([("aa", draft())])
    assert result.item
    assert result.item.marker == "aa"


@respx.mock
def test_401_raises_auth_error(http: HttpClient) -> None:
    respx.get(ISSUES).mock(return_value=httpx.Response(401))
    with pytest.raises(AuthError):
        list(tracker(http).iter_changed_items(Cursor.epoch()))
    respx.post(ISSUES).mock(return_value=httpx.Response(401))
    with pytest.raises(AuthError):
        tracker(http).create_items([("aa", draft())])


# -- update ---------------------------------------------------------------------------------------
@respx.mock
def test_update_puts_description_and_priority_only_and_reads_back(http: HttpClient) -> None:
    put = respx.put(f"{SITE}/issues/5.json").mock(return_value=httpx.Response(204))
    get = respx.get(f"{SITE}/issues/5.json").mock(
        return_value=httpx.Response(
            200, json={"issue": issue(5, description="New body", fixed_version={"id": 2, "name": "2.4"})}
        )
    )
    item = tracker(http).update_item("5", draft(body="New body", priority=Priority.HIGHEST))
    assert json.loads(put.calls[0].request.content) == {
        "issue": {"description": "New body", "priority_id": 4}
    }
    assert get.called
    assert (item.key, item.body, item.milestone, item.milestone_id) == ("5", "New body", "2.4", "2")


# -- iter_changed_items ---------------------------------------------------------------------------
@respx.mock
def test_pull_sends_the_filter_and_pages(http: HttpClient) -> None:
    pages = [
        listing([issue(1, "2024-05-01T10:00:00Z"), issue(2, "2024-05-01T10:00:05Z")], limit=2, total=3),
        listing([issue(2, "2024-05-01T10:00:05Z"), issue(3, "2024-05-01T10:00:07Z")], limit=2, total=2),
        listing([issue(3, "2024-05-01T10:00:07Z")], limit=2, total=1),
    ]
    route = respx.get(ISSUES).mock(side_effect=[httpx.Response(200, json=p) for p in pages])
    since = Cursor(datetime(2024, 5, 1, 9, 59, 59, 700_000, tzinfo=UTC), "0")
    got = list(tracker(http, page_size=2).iter_changed_items(since))
    keys = [i.key for page in got for i in page.items]
    assert keys == ["1", "2", "3"]  # the repeat of 2 (same updated_on) is not yielded again
    assert got[0].total == 3
    assert got[-1].cursor == Cursor(datetime(2024, 5, 1, 10, 0, 7, tzinfo=UTC), "3")
    first = dict(route.calls[0].request.url.params)
    assert first == {
        "project_id": "product",
        "status_id": "*",
        "updated_on": ">=2024-05-01T09:59:59Z",
        "sort": "updated_on,id",
        "offset": "0",
        "limit": "2",
    }
    assert route.calls[1].request.url.params["updated_on"] == ">=2024-05-01T10:00:05Z"
    assert route.calls[1].request.url.params["offset"] == "0"


@respx.mock
def test_pull_steps_the_offset_when_a_whole_page_shares_a_second(http: HttpClient) -> None:
    same = "2024-05-01T10:00:00Z"
    pages = [listing([issue(1, same), issue(2, same)], limit=2), listing([issue(3, same)], limit=2)]
    route = respx.get(ISSUES).mock(side_effect=[httpx.Response(200, json=p) for p in pages])
    got = list(tracker(http, page_size=2).iter_changed_items(Cursor(datetime(2024, 5, 1, 10, tzinfo=UTC))))
    assert [i.key for p in got for i in p.items] == ["1", "2", "3"]
    assert route.calls[1].request.url.params["offset"] == "2"


@respx.mock
def test_a_bad_issue_becomes_a_reject(http: HttpClient) -> None:
    bad = issue(2)
    del bad["subject"]
    respx.get(ISSUES).mock(
        return_value=httpx.Response(200, json=listing([issue(1), bad, issue(3, updated_on="soon")]))
    )
    [page] = list(tracker(http).iter_changed_items(Cursor.epoch()))
    assert [i.key for i in page.items] == ["1"]
    assert [r.record_id for r in page.rejects] == ["2", "3"]
    assert "subject" in page.rejects[0].reason


@respx.mock
def test_pull_maps_status_priority_version(http: HttpClient) -> None:
    raw = issue(
        4,
        status={"id": 6, "name": "Rejected", "is_closed": True},
        priority={"id": 2, "name": "Normal"},
        fixed_version={"id": 3, "name": "2.5"},
        description=None,
    )
    respx.get(ISSUES).mock(return_value=httpx.Response(200, json=listing([raw])))
    [page] = list(tracker(http).iter_changed_items(Cursor.epoch()))
    [item] = page.items
    assert item.status is ItemStatus.WONT_DO
    assert item.priority is Priority.MEDIUM
    assert (item.milestone, item.milestone_id, item.body, item.marker) == ("2.5", "3", "", "m4")


# -- list_milestones ------------------------------------------------------------------------------
@respx.mock
def test_versions_become_milestones(http: HttpClient) -> None:
    versions = [
        {"id": 1, "name": "2.4", "status": "open", "due_date": "2024-06-01", "sharing": "none",
         "created_on": "2024-05-01T09:00:00Z", "updated_on": "2024-05-02T09:00:00Z"},
        {"id": 2, "name": "2.5", "status": "locked", "due_date": None, "description": "Next"},
        {"id": 3, "name": "2.3", "status": "closed", "due_date": "2024-04-01"},
        {"id": 4, "name": "", "status": "open"},
        {"id": 5, "name": "bad", "status": "open", "due_date": "June"},
    ]  # fmt: skip
    route = respx.get(f"{SITE}/projects/product/versions.json").mock(
        return_value=httpx.Response(200, json={"versions": versions, "total_count": 5})
    )
    got = tracker(http).list_milestones()
    assert route.call_count == 1
    assert [(m.id, m.name, m.due, m.state) for m in got] == [
        ("1", "2.4", date(2024, 6, 1), MilestoneState.PLANNED),
        ("2", "2.5", None, MilestoneState.PLANNED),
        ("3", "2.3", date(2024, 4, 1), MilestoneState.RELEASED),
    ]
    assert got[0].updated_at == datetime(2024, 5, 2, 9, tzinfo=UTC)
    assert got[0].url == f"{SITE}/versions/1"
    assert got[1].description == "Next"
