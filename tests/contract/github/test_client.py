"""Contract tests: the exact requests GitHubTracker sends and how it maps doc-shaped GitHub answers."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import (
    AuthError,
    MalformedResponseError,
    PaginationLoopError,
    RateLimitedError,
    TransientError,
)
from adapters.github.client import RATE_LIMITS, GitHubSettings, GitHubTracker
from adapters.github.records import split_body
from adapters.github.transport import GitHubTransport, classify_github
from adapters.http import HttpClient
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from tests.contract.fixtures_http import frozen_http
from tests.contract.fixtures_http import respx_router as mocked

API = "https://api.github.com"
ISSUES = f"{API}/repos/acme/product/issues"
MILESTONES = f"{API}/repos/acme/product/milestones"
FIXTURES = Path(__file__).parent / "fixtures"
SINCE = Cursor(datetime(2024, 5, 1, 10, 0, 30, 500_000, tzinfo=UTC), "12")


def issue(number: int, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / "issue.json").read_text()))
    raw.update(number=number, html_url=f"https://github.com/acme/product/issues/{number}", **overrides)
    return raw


@pytest.fixture
def http(sleeps: list[float]) -> Iterator[HttpClient]:
    with frozen_http(
        API, system="github", transport=GitHubTransport, sleeps=sleeps, limits=RATE_LIMITS,
        classify=classify_github,
    ) as client:  # fmt: skip
        yield client


@pytest.fixture
def tracker(http: HttpClient) -> GitHubTracker:
    return GitHubTracker(http, GitHubSettings(owner="acme", repo="product", labels=("customer-feedback",)))


def draft(**overrides: Any) -> BacklogDraft:
    values: dict[str, Any] = {
        "title": "Export reports to CSV",
        "body": "Finance needs CSV.",
        "labels": ("csv",),
        "priority": Priority.HIGH,
    }
    values.update(overrides)
    return BacklogDraft(**values)


def sent(route: respx.Route, index: int = 0) -> Any:
    return json.loads(route.calls[index].request.content)


# -- iter_changed_items ---------------------------------------------------------------------------
def test_iter_changed_items_request_shape_and_mapping(tracker: GitHubTracker) -> None:
    with mocked() as router:
        route = router.get(ISSUES).respond(200, json=[issue(12)])
        pages = list(tracker.iter_changed_items(SINCE))
    params = route.calls[0].request.url.params
    assert dict(params) == {
        "state": "all",
        "sort": "updated",
        "direction": "asc",
        "since": "2024-05-01T10:00:30Z",
        "per_page": "100",
    }
    item = pages[0].items[0]
    assert (item.key, item.id, item.url) == ("12", "12", "https://github.com/acme/product/issues/12")
    assert item.marker == "00000000000000aa"
    assert item.body == "Finance needs CSV."
    assert item.priority is Priority.HIGH
    assert item.status is ItemStatus.OPEN
    assert (item.milestone, item.milestone_id) == ("v1.0", "1")
    assert pages[0].cursor == Cursor(item.updated_at, "12")


def test_iter_changed_items_follows_link_to_the_end(tracker: GitHubTracker) -> None:
    # GitHub's Link URLs may use another path form (/repositories/{id}/...): follow them as given
    next_url = f"{API}/repositories/42/issues?state=all&since=x&page=2"
    with mocked() as router:
        first = router.get(ISSUES).respond(
            200, json=[issue(1)], headers={"Link": f'<{next_url}>; rel="next"'}
        )
        second = router.get(f"{API}/repositories/42/issues", params={"page": "2"}).respond(
            200,
            json=[issue(2, updated_at="2024-05-02T00:00:00Z")],
            headers={"Link": f'<{ISSUES}>; rel="first"'},
        )
        pages = list(tracker.iter_changed_items(SINCE))
    assert [p.items[0].key for p in pages] == ["1", "2"]
    assert first.call_count == 1
    assert second.call_count == 1
    assert pages[1].cursor == Cursor(datetime(2024, 5, 2, tzinfo=UTC), "2")


def test_iter_changed_items_link_loop_raises(tracker: GitHubTracker) -> None:
    loop = f"{API}/repositories/42/issues?page=2"
    with mocked() as router:
        router.get(ISSUES).respond(200, json=[issue(1)], headers={"Link": f'<{loop}>; rel="next"'})
        router.get(f"{API}/repositories/42/issues").respond(
            200, json=[issue(2)], headers={"Link": f'<{loop}>; rel="next"'}
        )
        with pytest.raises(PaginationLoopError):
            list(tracker.iter_changed_items(SINCE))


def test_iter_changed_items_304_yields_nothing(tracker: GitHubTracker) -> None:
    with mocked() as router:
        route = router.get(ISSUES)
        route.side_effect = [
            httpx.Response(200, json=[issue(1)], headers={"ETag": 'W/"abc"'}),
            httpx.Response(304, headers={"ETag": 'W/"abc"'}),
        ]
        assert len(list(tracker.iter_changed_items(SINCE))) == 1
        assert list(tracker.iter_changed_items(SINCE)) == []
    assert "if-none-match" not in route.calls[0].request.headers
    assert route.calls[1].request.headers["if-none-match"] == 'W/"abc"'


def test_iter_changed_items_multi_page_result_is_never_conditional(tracker: GitHubTracker) -> None:
    # an edit moves an issue to the last page: an unchanged first page proves nothing
    link = {"Link": f'<{ISSUES}?page=2>; rel="next"', "ETag": 'W/"p1"'}
    with mocked() as router:
        first = router.get(ISSUES, params={"page": "2"}).respond(200, json=[])
        route = router.get(ISSUES).respond(200, json=[issue(1)], headers=link)
        list(tracker.iter_changed_items(SINCE))
        list(tracker.iter_changed_items(SINCE))
    assert first.call_count == 2
    assert all("if-none-match" not in call.request.headers for call in route.calls)


def test_iter_changed_items_skips_pull_requests(tracker: GitHubTracker) -> None:
    pr = issue(2, pull_request={"url": f"{API}/repos/acme/product/pulls/2"})
    with mocked() as router:
        router.get(ISSUES).respond(200, json=[issue(1), pr])
        pages = list(tracker.iter_changed_items(SINCE))
    assert [i.key for p in pages for i in p.items] == ["1"]
    assert pages[0].rejects == ()


def test_iter_changed_items_status_mapping_and_rejects(tracker: GitHubTracker) -> None:
    done = issue(1, state="closed", state_reason="completed")
    wont = issue(2, state="closed", state_reason="not_planned")
    broken = issue(3, updated_at="yesterday")
    with mocked() as router:
        router.get(ISSUES).respond(200, json=[done, wont, broken])
        page = next(tracker.iter_changed_items(SINCE))
    assert [i.status for i in page.items] == [ItemStatus.DONE, ItemStatus.WONT_DO]
    assert [r.record_id for r in page.rejects] == ["3"]


def test_iter_changed_items_non_array_is_malformed(tracker: GitHubTracker) -> None:
    with mocked() as router:
        router.get(ISSUES).respond(200, json={"message": "nope"})
        with pytest.raises(MalformedResponseError):
            list(tracker.iter_changed_items(SINCE))


# -- create_items ---------------------------------------------------------------------------------
def test_create_items_one_post_each_with_hidden_marker_and_label(tracker: GitHubTracker) -> None:
    with mocked() as router:
        route = router.post(ISSUES)
        route.side_effect = [httpx.Response(201, json=issue(n)) for n in (7, 8)]
        results = tracker.create_items([("00000000000000aa", draft()), ("bb", draft(priority=Priority.LOW))])
    assert route.call_count == 2
    body = sent(route)
    assert body == {
        "title": "Export reports to CSV",
        "body": "Finance needs CSV.\n\n<!-- syncer:marker=00000000000000aa -->",
        "labels": ["customer-feedback", "csv", "priority:high", "syncer-00000000000000aa"],
    }
    assert sent(route, 1)["labels"][-2:] == ["priority:low", "syncer-bb"]
    assert [r.ref for r in results] == ["00000000000000aa", "bb"]
    assert [r.item.key for r in results if r.item] == ["7", "8"]


def test_create_items_refused_one_is_an_error_result(tracker: GitHubTracker) -> None:
    with mocked() as router:
        route = router.post(ISSUES)
        route.side_effect = [
            httpx.Response(422, json={"message": "Validation Failed", "errors": []}),
            httpx.Response(201, json=issue(9)),
        ]
        results = tracker.create_items([("a", draft()), ("b", draft())])
    assert not results[0].ok
    assert "422" in (results[0].error or "")
    assert results[1].ok


def test_create_items_timeout_raises_without_resending(tracker: GitHubTracker) -> None:
    with mocked() as router:
        route = router.post(ISSUES).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(TransientError):
            tracker.create_items([("a", draft())])
    assert route.call_count == 1


# -- update_item ----------------------------------------------------------------------------------
def test_update_item_sends_body_and_labels_only(tracker: GitHubTracker) -> None:
    labels = [{"name": n} for n in ("customer-feedback", "csv", "priority:high", "priority:low", "syncer-aa")]
    path = f"{ISSUES}/12"
    with mocked() as router:
        add = router.post(f"{path}/labels").respond(200, json=labels)
        delete = router.delete(f"{path}/labels/priority:high").respond(200, json=labels[:1])
        patch = router.patch(path).respond(200, json=issue(12, body="New\n\n<!-- syncer:marker=aa -->"))
        item = tracker.update_item("12", draft(body="New", priority=Priority.LOW, title="Renamed"))
    assert sent(add) == {"labels": ["customer-feedback", "csv", "priority:low"]}
    assert sent(patch) == {"body": "New\n\n<!-- syncer:marker=aa -->"}  # never title/state/milestone
    assert delete.call_count == 1
    assert item.key == "12"
    assert item.marker == "aa"


# -- find_by_markers ------------------------------------------------------------------------------
def test_find_by_markers_lists_by_label(tracker: GitHubTracker) -> None:
    with mocked() as router:
        hit = router.get(ISSUES, params={"labels": "syncer-00000000000000aa"}).respond(200, json=[issue(5)])
        miss = router.get(ISSUES, params={"labels": "syncer-zz"}).respond(200, json=[])
        found = tracker.find_by_markers(["00000000000000aa", "zz"])
    assert dict(hit.calls[0].request.url.params)["state"] == "all"
    assert miss.call_count == 1
    assert list(found) == ["00000000000000aa"]
    assert found["00000000000000aa"].key == "5"


# -- list_milestones ------------------------------------------------------------------------------
def test_list_milestones_maps_state_and_due(tracker: GitHubTracker) -> None:
    base = json.loads((FIXTURES / "issue.json").read_text())["milestone"]
    closed = {**base, "number": 2, "title": "v2.0", "state": "closed", "due_on": None}
    with mocked() as router:
        route = router.get(MILESTONES).respond(200, json=[base, closed, {"title": "no number"}])
        milestones = tracker.list_milestones()
    assert dict(route.calls[0].request.url.params) == {"state": "all", "per_page": "100"}
    assert [(m.id, m.name, m.due, m.state) for m in milestones] == [
        ("1", "v1.0", date(2012, 10, 9), MilestoneState.PLANNED),
        ("2", "v2.0", None, MilestoneState.RELEASED),
    ]
    assert milestones[0].url == "https://github.com/acme/product/milestone/1"


# -- errors and throttling ------------------------------------------------------------------------
def test_401_is_auth_error(tracker: GitHubTracker) -> None:
    with mocked() as router:
        router.get(MILESTONES).respond(401, json={"message": "Bad credentials", "status": "401"})
        with pytest.raises(AuthError):
            tracker.list_milestones()


def test_403_without_rate_signals_is_auth_error(tracker: GitHubTracker) -> None:
    with mocked() as router:
        router.get(MILESTONES).respond(403, json={"message": "Resource not accessible by integration"})
        with pytest.raises(AuthError):
            tracker.list_milestones()


@pytest.mark.parametrize("status", [pytest.param(403, id="secondary-403"), pytest.param(429, id="429")])
def test_throttle_with_retry_after_is_retried(
    tracker: GitHubTracker, status: int, sleeps: list[float]
) -> None:
    with mocked() as router:
        route = router.get(MILESTONES)
        route.side_effect = [
            httpx.Response(status, json={"message": "secondary rate limit"}, headers={"retry-after": "3"}),
            httpx.Response(200, json=[]),
        ]
        assert tracker.list_milestones() == ()
    assert route.call_count == 2


def test_primary_limit_reset_becomes_retry_after(tracker: GitHubTracker) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_700_000_000 + 5)}
    with mocked() as router:
        route = router.get(MILESTONES)
        route.side_effect = [
            httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=headers),
            httpx.Response(200, json=[]),
        ]
        assert tracker.list_milestones() == ()
    assert route.call_count == 2


def test_primary_limit_far_reset_stops_the_run(tracker: GitHubTracker) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_700_000_000 + 3000)}
    with mocked() as router:
        router.get(MILESTONES).respond(403, json={"message": "API rate limit exceeded"}, headers=headers)
        with pytest.raises(RateLimitedError) as caught:
            tracker.list_milestones()
    assert caught.value.retry_after == 3000


def test_split_body_round_trip() -> None:
    assert split_body("text\n\n<!-- syncer:marker=ab12 -->") == ("text", "ab12")
    assert split_body("no marker") == ("no marker", None)
