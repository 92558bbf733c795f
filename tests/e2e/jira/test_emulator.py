"""End to end: JiraTracker (and the `jira` SDK) against the Jira emulator served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from adapters.errors import AuthError
from adapters.jira.emulator import JiraEmulator
from mappings.models import BacklogDraft, Cursor, ItemStatus, Priority
from tests.e2e.jira.support import EMAIL, T0, TOKEN, FakeClock, auth_header, drafts, make_tracker, served


@pytest.fixture
def lagging(clock: FakeClock) -> Iterator[tuple[JiraEmulator, str]]:
    with served(clock=clock, search_lag_s=30.0) as pair:
        yield pair


def test_create_items_creates_120_with_marker_label_and_property(lagging: tuple[JiraEmulator, str]) -> None:
    emulator, url = lagging
    batch = drafts(120)
    results = make_tracker(url).create_items(batch)

    assert [r.ref for r in results] == [m for m, _ in batch]
    assert all(r.ok for r in results)
    assert emulator.log.count("POST", "/rest/api/3/issue/bulk") == 3
    issues = {i["key"]: i for i in emulator.issues()}
    assert len(issues) == 120
    for result in results:
        assert result.item is not None
        raw = issues[result.item.key]
        assert f"syncer-{result.ref}" in raw["fields"]["labels"]
        assert "customer-feedback" in raw["fields"]["labels"]
        assert raw["properties"]["syncer.marker"] == {"marker": result.ref}
    prop = httpx.get(f"{url}/rest/api/3/issue/PROD-5/properties/syncer.marker", headers=auth_header())
    assert prop.json() == {"key": "syncer.marker", "value": {"marker": batch[4][0]}}


def test_find_by_markers_sees_items_only_after_search_lag(
    lagging: tuple[JiraEmulator, str], clock: FakeClock
) -> None:
    _, url = lagging
    tracker = make_tracker(url)
    batch = drafts(120)
    tracker.create_items(batch)
    markers = [m for m, _ in batch]

    assert tracker.find_by_markers(markers) == {}  # the index has not caught up yet
    clock.advance(31)
    found = tracker.find_by_markers(markers)
    assert set(found) == set(markers)
    assert found[markers[7]].key == "PROD-8"
    assert found[markers[7]].marker == markers[7]


def test_iter_changed_items_returns_each_exactly_once_with_minute_floor(
    lagging: tuple[JiraEmulator, str], clock: FakeClock
) -> None:
    emulator, url = lagging
    tracker = make_tracker(url, page_size=50)
    tracker.create_items(drafts(120))  # all updated at 10:00:30.000
    clock.advance(31)

    since = Cursor(T0 + timedelta(seconds=20), "")  # 10:00:50: only the minute floor lets 10:00:30 in
    pages = list(tracker.iter_changed_items(since))

    keys = [item.key for page in pages for item in page.items]
    assert sorted(keys) == sorted(f"PROD-{n}" for n in range(1, 121))
    assert len(keys) == 120
    assert [len(page.items) for page in pages] == [50, 50, 20]
    queries = {e.query["jql"] for e in emulator.log.entries("GET", "/rest/api/3/search/jql")}
    assert queries == {'project = "PROD" AND updated >= "2024/05/01 10:00" ORDER BY updated ASC, key ASC'}
    cursors = [page.cursor for page in pages]
    assert cursors == [Cursor(T0, "PROD-50"), Cursor(T0, "PROD-100"), Cursor(T0, "PROD-120")]


def test_update_item_leaves_status_and_fix_version_alone(
    lagging: tuple[JiraEmulator, str], clock: FakeClock
) -> None:
    emulator, url = lagging
    tracker = make_tracker(url)
    (result,) = tracker.create_items(drafts(1))
    assert result.item is not None
    key = result.item.key
    emulator.transition(key, "Done")
    emulator.set_fix_version(key, "2.4")
    clock.advance(60)

    new = BacklogDraft(
        title="Retitled by us",
        body="Now 9 accounts",
        labels=("urgent",),
        priority=Priority.LOW,
        account_count=9,
        total_arr=5.5,
    )
    item = tracker.update_item(key, new)

    raw = emulator.issue(key)["fields"]
    assert raw["status"]["name"] == "Done"
    assert raw["resolution"]["name"] == "Done"
    assert [v["name"] for v in raw["fixVersions"]] == ["2.4"]
    assert raw["summary"] == "Customer request 0"  # R&D may retitle; we never send summary on update
    assert raw["labels"] == ["customer-feedback", "syncer-0000000000000000", "urgent"]
    assert raw["priority"]["name"] == "Low"
    assert (raw["customfield_10050"], raw["customfield_10051"]) == (9, 5.5)
    assert raw["updated"] == "2024-05-01T10:01:30.000+0000"
    assert item.key == key

    clock.advance(31)
    (page,) = list(tracker.iter_changed_items(Cursor(T0 + timedelta(minutes=1))))
    assert page.items[0].status is ItemStatus.DONE
    assert page.items[0].milestone == "2.4"
    assert page.items[0].body == ""  # descriptions are not read back: the engine renders its own
    assert emulator.issue(key)["fields"]["description"]["type"] == "doc"  # it was written


def test_rate_limit_burst_is_absorbed_by_retries() -> None:
    with served(burst_per_second=3) as (emulator, url):
        tracker = make_tracker(url, page_size=2)
        tracker.create_items(drafts(12))
        pages = list(tracker.iter_changed_items(Cursor.epoch()))

    keys = [item.key for page in pages for item in page.items]
    assert len(keys) == 12 == len(set(keys))
    http = tracker._http
    assert http.statuses[429] >= 1
    assert http.statuses[200] + http.statuses[201] == 7


def test_create_items_reports_rejected_elements_in_place() -> None:
    with served() as (emulator, url):
        emulator.reject_bulk_elements = {1}
        results = make_tracker(url).create_items(drafts(3))
    assert [r.ok for r in results] == [True, False, True]
    assert results[2].item is not None
    assert results[2].item.key == "PROD-2"
    assert results[1].error is not None
    assert "summary" in results[1].error


def test_wrong_token_raises_auth_error() -> None:
    with served() as (_, url), pytest.raises(AuthError):
        make_tracker(url, token="wrong").find_by_markers(["abc"])


# -- emulator faithfulness ------------------------------------------------------------------------
@pytest.fixture
def api() -> Iterator[tuple[JiraEmulator, Callable[..., httpx.Response]]]:
    with served() as (emulator, url), httpx.Client(base_url=url, headers=auth_header()) as client:
        yield emulator, client.request


def test_emulator_search_rejects_unsupported_jql(
    api: tuple[JiraEmulator, Callable[..., httpx.Response]],
) -> None:
    _, call = api
    bad = call("GET", "/rest/api/3/search/jql", params={"jql": "assignee = currentUser()"})
    assert bad.status_code == 400
    assert "assignee" in bad.json()["errorMessages"][0]


def test_emulator_bulk_over_50_is_400(api: tuple[JiraEmulator, Callable[..., httpx.Response]]) -> None:
    emulator, call = api
    update = {"fields": {"project": {"key": "PROD"}, "summary": "s", "issuetype": {"name": "Story"}}}
    response = call("POST", "/rest/api/3/issue/bulk", json={"issueUpdates": [update] * 51})
    assert response.status_code == 400
    assert emulator.issues() == []


def test_emulator_update_rejects_unknown_and_status_fields(
    api: tuple[JiraEmulator, Callable[..., httpx.Response]],
) -> None:
    _, call = api
    fields = {"project": {"key": "PROD"}, "summary": "s", "issuetype": {"name": "Story"}}
    created = call("POST", "/rest/api/3/issue", json={"fields": fields})
    key = created.json()["key"]
    bad = call(
        "PUT", f"/rest/api/3/issue/{key}", json={"fields": {"status": {"name": "Done"}, "nonsense": 1}}
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"status", "nonsense"}
    plain = call("PUT", f"/rest/api/3/issue/{key}", json={"fields": {"description": "not ADF"}})
    assert plain.status_code == 400
    assert "Atlassian Document" in plain.json()["errors"]["description"]


def test_emulator_search_pages_cap_and_reconcile(clock: FakeClock) -> None:
    with served(clock=clock, search_lag_s=60.0) as (emulator, url), httpx.Client(base_url=url) as client:
        client.headers.update(auth_header())
        make_tracker(url).create_items(drafts(3))
        jql = {"jql": "project = PROD ORDER BY key ASC", "fields": "summary"}
        assert client.get("/rest/api/3/search/jql", params=jql).json() == {"issues": [], "isLast": True}
        body = {**jql, "fields": ["summary"], "reconcileIssues": [10001, 10002]}
        reconciled = client.post("/rest/api/3/search/jql", json=body)
        assert [i["key"] for i in reconciled.json()["issues"]] == ["PROD-1", "PROD-2"]
        clock.advance(61)
        first = client.get("/rest/api/3/search/jql", params={**jql, "maxResults": 2}).json()
        assert [i["key"] for i in first["issues"]] == ["PROD-1", "PROD-2"]
        assert first["isLast"] is False
        assert set(first["issues"][0]) == {"expand", "id", "self", "key", "fields"}
        assert set(first["issues"][0]["fields"]) == {"summary"}
        last = client.get(
            "/rest/api/3/search/jql", params={**jql, "nextPageToken": first["nextPageToken"]}
        ).json()
        assert [i["key"] for i in last["issues"]] == ["PROD-3"]
        assert "nextPageToken" not in last
        ids_only = client.get("/rest/api/3/search/jql", params={"jql": "project = PROD"}).json()
        assert set(ids_only["issues"][0]) <= {"id", "key", "self", "expand"}
        huge = client.get("/rest/api/3/search/jql", params={**jql, "maxResults": 1000}).json()
        assert len(huge["issues"]) == 3  # capped at 100 with fields; only 3 exist anyway


def test_emulator_versions_release_by_update_only(
    api: tuple[JiraEmulator, Callable[..., httpx.Response]],
) -> None:
    _, call = api
    names = [v["name"] for v in call("GET", "/rest/api/3/project/PROD/versions").json()]
    assert names == ["2.4", "2.5", "3.0 (unscheduled)"]
    refused = call("POST", "/rest/api/3/version", json={"name": "4.0", "projectId": 10000, "released": True})
    assert refused.status_code == 400
    made = call(
        "POST", "/rest/api/3/version", json={"name": "4.0", "projectId": 10000, "releaseDate": "2024-07-01"}
    )
    assert made.status_code == 201
    assert made.json()["released"] is False
    released = call("PUT", f"/rest/api/3/version/{made.json()['id']}", json={"released": True})
    assert released.json()["released"] is True
    assert released.json()["releaseDate"] == "2024-07-01"
    duplicate = call("POST", "/rest/api/3/version", json={"name": "2.4", "projectId": 10000})
    assert duplicate.status_code == 400


# -- the vendor SDK keeps the emulator honest ------------------------------------------------------
def test_jira_sdk_creates_reads_and_searches() -> None:
    jira = pytest.importorskip("jira")
    with served() as (emulator, url):
        client = jira.JIRA(server=url, basic_auth=(EMAIL, TOKEN))
        issue = client.create_issue(
            project="PROD",
            summary="From the SDK",
            description="Plain v2 text",
            issuetype="Story",
            labels=["sdk"],
            priority={"name": "High"},
        )
        assert issue.key == "PROD-1"
        assert issue.fields.summary == "From the SDK"
        assert issue.fields.description == "Plain v2 text"
        found = client.search_issues("project = PROD")
        assert [i.key for i in found] == ["PROD-1"]
        assert found[0].fields.status.name == "To Do"
        assert found[0].fields.labels == ["sdk"]
        assert client.server_info()["deploymentType"] == "Cloud"
    assert emulator.issue("PROD-1")["fields"]["description"]["type"] == "doc"  # stored as ADF
