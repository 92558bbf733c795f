"""Contract tests: how JiraTracker lists project versions (`GET /project/{key}/version`) as milestones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from adapters.errors import MalformedResponseError, PaginationLoopError
from adapters.http import HttpClient
from adapters.jira.client import RATE_LIMITS, JiraSettings, JiraTracker
from adapters.jira.records import to_milestone
from mappings.errors import MappingError
from mappings.models import MilestoneState
from tests.contract.fixtures_http import contract_http

SITE = "https://acme.atlassian.net"
FIXTURES = Path(__file__).parent / "fixtures"
VERSIONS = f"{SITE}/rest/api/3/project/PROD/version"
DATE_1 = "Wed, 01 May 2024 10:00:00 GMT"
DATE_2 = "Wed, 01 May 2024 10:00:01 GMT"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with contract_http(SITE, system="jira", limits=RATE_LIMITS) as client:
        yield client


def tracker(http: HttpClient, **overrides: Any) -> JiraTracker:
    """The paged listing unless told otherwise (`version_page_size=None`: the unpaged default)."""
    settings = {"project_key": "PROD", "site_url": SITE, "version_page_size": 50, **overrides}
    return JiraTracker(http, JiraSettings(**settings))


# -- the default: every version in one request ----------------------------------------------------
def test_list_milestones_by_default_reads_every_version_in_one_request(http: HttpClient) -> None:
    values = fixture("versions_page1.json")["values"] + fixture("versions_page2.json")["values"]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(f"{VERSIONS}s").mock(
            return_value=httpx.Response(200, json=values, headers={"Date": DATE_1})
        )
        milestones = tracker(http, version_page_size=None).list_milestones()

    assert route.call_count == 1
    assert [m.id for m in milestones] == ["10000", "10001", "10002", "10003", "10005"]  # 10004 skipped
    assert {m.updated_at for m in milestones} == {datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)}


def test_list_milestones_unpaged_answer_that_is_not_a_list_is_malformed(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{VERSIONS}s").mock(return_value=httpx.Response(200, json={"values": []}))
        with pytest.raises(MalformedResponseError, match="project/versions"):
            tracker(http, version_page_size=None).list_milestones()


# -- list_milestones ------------------------------------------------------------------------------
def test_list_milestones_pages_by_start_at_until_is_last(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(VERSIONS).mock(
            side_effect=[
                httpx.Response(200, json=fixture("versions_page1.json"), headers={"Date": DATE_1}),
                httpx.Response(200, json=fixture("versions_page2.json"), headers={"Date": DATE_2}),
            ]
        )
        milestones = tracker(http, version_page_size=3).list_milestones()

    params = [dict(call.request.url.params) for call in route.calls]
    assert params == [{"startAt": "0", "maxResults": "3"}, {"startAt": "3", "maxResults": "3"}]
    assert [m.id for m in milestones] == ["10000", "10001", "10002", "10003", "10005"]  # 10004 skipped
    assert {m.updated_at for m in milestones[:3]} == {datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)}
    assert {m.updated_at for m in milestones[3:]} == {datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)}


def test_list_milestones_maps_state_due_description_and_url(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(VERSIONS).mock(
            side_effect=[
                httpx.Response(200, json=fixture("versions_page1.json")),
                httpx.Response(200, json=fixture("versions_page2.json")),
            ]
        )
        by_name = {m.name: m for m in tracker(http).list_milestones()}

    summary = {name: (m.state, m.due, m.description) for name, m in by_name.items()}
    assert summary == {
        "2.3": (MilestoneState.RELEASED, date(2024, 4, 15), "Spring release"),
        "2.4": (MilestoneState.PLANNED, date(2024, 6, 12), ""),
        "2.5": (MilestoneState.PLANNED, None, ""),
        "1.9-beta": (MilestoneState.ARCHIVED, date(2023, 11, 1), "Abandoned"),
        "1.0": (MilestoneState.RELEASED, date(2022, 1, 10), "Old and shelved"),  # released wins over archived
    }
    assert by_name["2.4"].url == f"{SITE}/projects/PROD/versions/10001"
    assert all(m.system == "jira" for m in by_name.values())


def test_list_milestones_skips_unmappable_versions_with_a_warning(http: HttpClient) -> None:
    body = {
        "startAt": 0,
        "maxResults": 50,
        "total": 4,
        "isLast": True,
        "values": [
            {"id": "1", "name": "ok", "released": False, "archived": False},
            {"id": "2", "name": "bad date", "releaseDate": "12/Jun/24"},
            {"id": "3", "name": "  "},
            "not an object",
        ],
    }
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(VERSIONS).mock(return_value=httpx.Response(200, json=body))
        with capture_logs() as logs:
            milestones = tracker(http).list_milestones()

    assert [m.name for m in milestones] == ["ok"]
    skipped = [e for e in logs if e["event"] == "milestone.skipped"]
    assert [(e["log_level"], e["version_id"]) for e in skipped] == [
        ("warning", "2"),
        ("warning", "3"),
        ("warning", "?"),
    ]
    assert "releaseDate" in skipped[0]["reason"]


def test_list_milestones_stops_on_total_when_is_last_is_absent(http: HttpClient) -> None:
    page = {k: v for k, v in fixture("versions_page2.json").items() if k != "isLast"}
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(VERSIONS).mock(return_value=httpx.Response(200, json=page))
        assert len(tracker(http).list_milestones()) == 2
    assert route.call_count == 1


def test_list_milestones_repeating_start_at_raises_pagination_loop(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(VERSIONS).mock(return_value=httpx.Response(200, json=fixture("versions_page1.json")))
        with pytest.raises(PaginationLoopError):
            tracker(http).list_milestones()
    assert route.call_count == 2  # the server keeps answering from 0: startAt 3 is never asked twice


def test_list_milestones_body_without_values_raises_malformed_response(http: HttpClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(VERSIONS).mock(return_value=httpx.Response(200, json=[{"id": "1", "name": "unpaged"}]))
        with pytest.raises(MalformedResponseError):
            tracker(http).list_milestones()


@pytest.mark.parametrize(
    ("release_date", "expected"),
    [
        pytest.param("2024-02-29", date(2024, 2, 29), id="leap-day"),
        pytest.param(None, None, id="null"),
        pytest.param("", None, id="empty"),
    ],
)
def test_to_milestone_parses_release_date(release_date: str | None, expected: date | None) -> None:
    raw = {"id": 10001, "name": "2.4", "releaseDate": release_date}
    milestone = to_milestone(raw, SITE + "/", "PROD", datetime(2024, 5, 1, tzinfo=UTC))
    assert (milestone.id, milestone.due) == ("10001", expected)
    assert milestone.url == f"{SITE}/projects/PROD/versions/10001"


@pytest.mark.parametrize(
    "release_date",
    [
        pytest.param("12/Jun/24", id="user-format"),
        pytest.param("20240612", id="basic-iso"),
        pytest.param("2024-02-30", id="no-such-day"),
        pytest.param(20240612, id="number"),
    ],
)
def test_to_milestone_bad_release_date_raises_mapping_error(release_date: object) -> None:
    with pytest.raises(MappingError):
        to_milestone({"id": "1", "name": "x", "releaseDate": release_date}, SITE, "PROD", datetime.now(UTC))
