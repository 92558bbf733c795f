"""Contract tests: the GraphQL operations LinearTracker sends and how it maps Linear-shaped answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest
import respx

from adapters.errors import AuthError, PaginationLoopError
from adapters.http import HttpClient
from adapters.linear.client import RATE_LIMITS, LinearSettings, LinearTracker
from adapters.linear.records import issue_id
from adapters.linear.transport import LinearTransport, classify_linear
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority
from syncer.config import OrgConfig, parse_org_config
from syncer.systems.linear import LinearConfig, build
from tests.contract.fixtures_http import frozen_http
from tests.contract.fixtures_http import respx_router as mocked

API = "https://api.linear.app/graphql"
SINCE = Cursor(datetime(2024, 5, 1, 10, 0, 30, 500_000, tzinfo=UTC), "x")
RATELIMITED = {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]}


def issue(n: int, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "identifier": f"ENG-{n}",
        "title": f"Issue {n}",
        "description": "Finance needs CSV.",
        "priority": 2,
        "url": f"https://linear.app/acme/issue/ENG-{n}",
        "updatedAt": f"2024-05-01T10:00:{n:02d}.000Z",
        "archivedAt": None,
        "state": {"type": "started", "name": "In Progress"},
        "projectMilestone": {"id": "ms-1", "name": "2.4"},
    }
    raw.update(overrides)
    return raw


@pytest.fixture
def http(sleeps: list[float]) -> Iterator[HttpClient]:
    headers = {"Authorization": "lin_api_key"}  # Linear takes a personal API key without "Bearer"
    with frozen_http(
        "https://api.linear.app", system="linear", transport=LinearTransport, sleeps=sleeps, headers=headers,
        limits=RATE_LIMITS, classify=classify_linear,
    ) as client:  # fmt: skip
        yield client


@pytest.fixture
def tracker(http: HttpClient) -> LinearTracker:
    return LinearTracker(http, LinearSettings(team_id="team-1", label_ids=("lbl-1",)))


def draft(title: str = "Export reports to CSV", priority: Priority = Priority.HIGH) -> BacklogDraft:
    return BacklogDraft(title=title, body="Finance needs **CSV**.", priority=priority)


def sent(route: respx.Route, index: int = 0) -> Any:
    return json.loads(route.calls[index].request.content)


def created(raw: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"issueCreate": {"success": True, "issue": raw}}}


def test_issue_id_is_a_deterministic_uuid() -> None:
    assert issue_id("abc") == issue_id("abc") != issue_id("abd")
    assert len(issue_id("abc")) == 36


def test_create_items_sends_derived_id_and_maps(tracker: LinearTracker) -> None:
    marker = "00000000000000aa"
    with mocked() as router:
        route = router.post(API).respond(200, json=created(issue(1, id=issue_id(marker))))
        results = tracker.create_items([(marker, draft())])
    body = sent(route)
    assert body["query"].lstrip().startswith("mutation SyncerCreateIssue(")
    assert body["variables"]["input"] == {
        "id": issue_id(marker),
        "teamId": "team-1",
        "title": "Export reports to CSV",
        "description": "Finance needs **CSV**.",
        "priority": 2,
        "labelIds": ["lbl-1"],
    }
    assert route.calls[0].request.headers["authorization"] == "lin_api_key"
    item = results[0].item
    assert results[0].ref == marker
    assert item is not None
    assert (item.key, item.marker, item.status) == ("ENG-1", marker, ItemStatus.IN_PROGRESS)
    assert (item.milestone, item.milestone_id, item.priority) == ("2.4", "ms-1", Priority.HIGH)


def test_create_items_duplicate_id_is_adopted(tracker: LinearTracker) -> None:
    marker = "m1"
    dup = {
        "data": {"issueCreate": None},
        "errors": [{"message": "Entity already exists", "extensions": {"code": "INVALID_INPUT"}}],
    }
    found = {"data": {"issues": {"nodes": [issue(4, id=issue_id(marker))]}}}
    with mocked() as router:
        route = router.post(API).mock(
            side_effect=[respx.MockResponse(200, json=dup), respx.MockResponse(200, json=found)]
        )
        results = tracker.create_items([(marker, draft())])
    assert results[0].ok
    assert results[0].item is not None
    assert results[0].item.key == "ENG-4"
    lookup = sent(route, 1)
    assert lookup["query"].lstrip().startswith("query SyncerFindIssues(")
    assert lookup["variables"] == {"ids": [issue_id(marker)], "first": 1}


def test_create_items_partial_errors_fail_only_that_item(tracker: LinearTracker) -> None:
    refused = {
        "data": {"issueCreate": None},
        "errors": [{"message": "Title too long", "extensions": {"code": "INVALID_INPUT"}}],
    }
    with mocked() as router:
        router.post(API).mock(
            side_effect=[
                respx.MockResponse(200, json=created(issue(1, id=issue_id("a")))),
                respx.MockResponse(200, json=refused),
                respx.MockResponse(200, json={"data": {"issues": {"nodes": []}}}),
                respx.MockResponse(200, json=created(issue(2, id=issue_id("c")))),
            ]
        )
        results = tracker.create_items([("a", draft()), ("b", draft()), ("c", draft())])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None
    assert "Title too long" in results[1].error


def test_create_items_400_invalid_input_is_an_error_result(tracker: LinearTracker) -> None:
    bad = {"errors": [{"message": "Argument Validation Error", "extensions": {"code": "INVALID_INPUT"}}]}
    with mocked() as router:
        router.post(API).mock(
            side_effect=[
                respx.MockResponse(400, json=bad),
                respx.MockResponse(200, json={"data": {"issues": {"nodes": []}}}),
            ]
        )
        results = tracker.create_items([("a", draft())])
    assert not results[0].ok


def test_ratelimited_400_is_retried_after_reset(tracker: LinearTracker, sleeps: list[float]) -> None:
    headers = {
        "X-RateLimit-Requests-Remaining": "0",
        "X-RateLimit-Requests-Reset": str(1_700_000_003_000),
        "X-RateLimit-Complexity-Reset": str(1_700_003_600_000),  # not exhausted: ignored
    }
    with mocked() as router:
        route = router.post(API).mock(
            side_effect=[
                respx.MockResponse(400, json=RATELIMITED, headers=headers),
                respx.MockResponse(200, json=created(issue(1, id=issue_id("a")))),
            ]
        )
        results = tracker.create_items([("a", draft())])
    assert results[0].ok
    assert route.call_count == 2
    assert sum(sleeps) >= 3.0 - 1e-6  # the drained bucket waits out the 3 s reset


def test_401_raises_auth_error(tracker: LinearTracker) -> None:
    body = {
        "errors": [{"message": "Authentication required", "extensions": {"code": "AUTHENTICATION_ERROR"}}]
    }
    with mocked() as router:
        router.post(API).respond(401, json=body)
        with pytest.raises(AuthError):
            tracker.create_items([("a", draft())])


def test_400_authentication_error_code_is_auth(tracker: LinearTracker) -> None:
    body = {"errors": [{"message": "Invalid API key", "extensions": {"code": "AUTHENTICATION_ERROR"}}]}
    with mocked() as router:
        router.post(API).respond(400, json=body)
        with pytest.raises(AuthError):
            list(tracker.iter_changed_items(SINCE))


def test_update_item_sends_description_and_priority_only(tracker: LinearTracker) -> None:
    with mocked() as router:
        route = router.post(API).respond(
            200, json={"data": {"issueUpdate": {"success": True, "issue": issue(3)}}}
        )
        item = tracker.update_item("ENG-3", draft(title="ignored", priority=Priority.LOWEST))
    body = sent(route)
    assert body["query"].lstrip().startswith("mutation SyncerUpdateIssue(")
    assert body["variables"] == {
        "id": "ENG-3",
        "input": {"description": "Finance needs **CSV**.", "priority": 4},
    }
    assert item.key == "ENG-3"


def test_iter_changed_items_pages_and_proposes_cursor_last(tracker: LinearTracker) -> None:
    first = {"pageInfo": {"hasNextPage": True, "endCursor": "c1"}, "nodes": [issue(9), issue(5)]}
    done = issue(2, state={"type": "completed", "name": "Done"}, projectMilestone=None)
    second = {"pageInfo": {"hasNextPage": False, "endCursor": "c2"}, "nodes": [done]}
    with mocked() as router:
        route = router.post(API).mock(
            side_effect=[
                respx.MockResponse(200, json={"data": {"issues": first}}),
                respx.MockResponse(200, json={"data": {"issues": second}}),
            ]
        )
        pages = list(tracker.iter_changed_items(SINCE))
    one, two = sent(route, 0), sent(route, 1)
    assert "orderBy: updatedAt" in one["query"]
    assert "includeArchived: true" in one["query"]
    assert one["variables"] == {
        "teamId": "team-1",
        "since": "2024-05-01T10:00:30.500Z",
        "first": 100,
        "after": None,
    }
    assert two["variables"]["after"] == "c1"
    assert pages[0].cursor is None
    assert pages[1].cursor == Cursor(datetime(2024, 5, 1, 10, 0, 9, tzinfo=UTC), issue(9)["id"])
    assert pages[1].items[0].status is ItemStatus.DONE
    assert pages[1].items[0].milestone is None


def test_iter_changed_items_status_mapping_and_rejects(tracker: LinearTracker) -> None:
    nodes = [
        issue(1, state={"type": "canceled", "name": "Canceled"}),
        issue(2, state={"type": "backlog", "name": "Backlog"}, priority=0),
        issue(3, archivedAt="2024-05-01T00:00:00.000Z"),
        {"id": "broken"},
    ]
    conn = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}
    with mocked() as router:
        router.post(API).respond(200, json={"data": {"issues": conn}})
        (page,) = list(tracker.iter_changed_items(SINCE))
    assert [i.status for i in page.items] == [ItemStatus.WONT_DO, ItemStatus.OPEN, ItemStatus.WONT_DO]
    assert page.items[1].priority is None
    assert [r.record_id for r in page.rejects] == ["broken"]


def test_iter_changed_items_repeated_cursor_raises(tracker: LinearTracker) -> None:
    conn = {"pageInfo": {"hasNextPage": True, "endCursor": "same"}, "nodes": [issue(1)]}
    with mocked() as router:
        router.post(API).respond(200, json={"data": {"issues": conn}})
        with pytest.raises(PaginationLoopError):
            list(tracker.iter_changed_items(SINCE))


def test_list_milestones_derives_released_from_project(tracker: LinearTracker) -> None:
    def project(pid: str, completed: str | None, milestones: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": pid,
            "name": pid,
            "url": f"https://linear.app/acme/project/{pid}",
            "updatedAt": "2024-05-03T00:00:00.000Z",
            "completedAt": completed,
            "canceledAt": None,
            "archivedAt": None,
            "projectMilestones": {"nodes": milestones},
        }

    ms = {
        "id": "m1",
        "name": "2.4",
        "description": "",
        "targetDate": "2024-05-20",
        "updatedAt": "2024-05-01T00:00:00.000Z",
    }
    ms2 = {**ms, "id": "m2", "name": "2.5", "targetDate": None}
    team = {
        "projects": {
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [project("p1", "2024-05-03T00:00:00.000Z", [ms]), project("p2", None, [ms2])],
        }
    }
    with mocked() as router:
        route = router.post(API).respond(200, json={"data": {"team": team}})
        got = tracker.list_milestones()
    assert sent(route)["variables"] == {"teamId": "team-1", "first": 50, "after": None}
    assert [(m.id, m.name, m.due, m.state) for m in got] == [
        ("m1", "2.4", date(2024, 5, 20), MilestoneState.RELEASED),
        ("m2", "2.5", None, MilestoneState.PLANNED),
    ]
    assert got[0].updated_at == datetime(2024, 5, 3, tzinfo=UTC)


# -- config section -------------------------------------------------------------------------------
def org(tmp_path: Path) -> OrgConfig:
    data = {
        "org": "acme",
        "crm": {"system": "hubspot", "token_env": "UNUSED"},
        "tracker": {
            "system": "jira",
            "base_url": "https://x.atlassian.net",
            "email": "a@b.c",
            "project": "PROD",
        },
    }
    return parse_org_config(tmp_path / "acme.yaml", data)


def test_build_sends_the_api_key_without_bearer(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("lin_api_contract\n", encoding="utf-8")
    section = LinearConfig.model_validate({"system": "linear", "team_id": "team-1", "token_file": str(key)})
    tracker, http = build(org(tmp_path), section, None)
    team = {"projects": {"pageInfo": {"hasNextPage": False}, "nodes": []}}
    with mocked() as router:
        route = router.post(API).respond(200, json={"data": {"team": team}})
        assert tracker.list_milestones() == ()
    assert route.calls[0].request.headers["authorization"] == "lin_api_contract"
    http.close()


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(pydantic.ValidationError):
        LinearConfig.model_validate({"system": "linear", "team_id": "t", "project": "x"})
