"""End to end: Jira versions as milestones, and fix versions on items, against the emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from adapters.jira.emulator import JiraEmulator
from mappings.models import BacklogDraft, Cursor, ItemStatus, Milestone, MilestoneState
from tests.e2e.jira.support import SITE, T0, FakeClock, auth_header, drafts, make_tracker, served

VERSION_PAGE = "/rest/api/3/project/PROD/version"


def by_id(milestones: Sequence[Milestone]) -> dict[str, Milestone]:
    assert len({m.id for m in milestones}) == len(milestones)
    return {m.id: m for m in milestones}


def test_list_milestones_follows_release_slip_and_rename(clock: FakeClock) -> None:
    with served(clock=clock) as (emulator, url):
        tracker = make_tracker(url, version_page_size=2)
        keys = [r.item.key for r in tracker.create_items(drafts(3)) if r.item]
        for key, version in zip(keys, ("2.4", "2.5", "3.0 (unscheduled)"), strict=True):
            emulator.set_fix_version(key, version)
        v24, v25, v30 = (emulator.version_id(n) for n in ("2.4", "2.5", "3.0 (unscheduled)"))

        before = by_id(tracker.list_milestones())
        assert {i: (m.name, m.state, m.due) for i, m in before.items()} == {
            v24: ("2.4", MilestoneState.PLANNED, date(2024, 5, 15)),  # seed_demo: 14 days after T0
            v25: ("2.5", MilestoneState.PLANNED, None),
            v30: ("3.0 (unscheduled)", MilestoneState.PLANNED, None),
        }
        assert before[v25].description == "Next minor"
        assert before[v30].url == f"{SITE}/projects/PROD/versions/{v30}"
        stamped = before[v24].updated_at  # the server's Date header: Jira's clock (the emulator's), not ours
        assert stamped.tzinfo is not None
        assert abs(stamped - datetime.fromtimestamp(clock(), UTC)) < timedelta(minutes=1)
        issue_updated = emulator.issue(keys[0])["fields"]["updated"]

        emulator.release_version("2.4", release_date=date(2024, 5, 10))
        emulator.set_release_date("2.5", date(2024, 6, 1))
        emulator.set_release_date("2.5", date(2024, 7, 1))  # slipped a month
        emulator.rename_version("3.0 (unscheduled)", "3.0")
        after = by_id(tracker.list_milestones())

        assert {i: (m.name, m.state, m.due) for i, m in after.items()} == {
            v24: ("2.4", MilestoneState.RELEASED, date(2024, 5, 10)),
            v25: ("2.5", MilestoneState.PLANNED, date(2024, 7, 1)),
            v30: ("3.0", MilestoneState.PLANNED, None),
        }
        assert emulator.log.count("GET", VERSION_PAGE) == 4  # 3 versions, 2 per page, listed twice
        assert emulator.issue(keys[0])["fields"]["updated"] == issue_updated  # a release touches no issue

        emulator.transition(keys[0], "Done")
        emulator.transition(keys[1], "In Progress")
        clock.advance(60)
        items = {i.key: i for p in tracker.iter_changed_items(Cursor(T0)) for i in p.items}

    assert {k: (i.status, i.milestone_id, i.milestone) for k, i in items.items()} == {
        keys[0]: (ItemStatus.DONE, v24, "2.4"),
        keys[1]: (ItemStatus.IN_PROGRESS, v25, "2.5"),
        keys[2]: (ItemStatus.OPEN, v30, "3.0"),  # the rename shows on the issue under the same id
    }


def test_list_milestones_reflects_unrelease_archive_and_new_versions(clock: FakeClock) -> None:
    with served(clock=clock) as (emulator, url):
        tracker = make_tracker(url)
        v40 = emulator.add_version("4.0", release_date=date(2024, 9, 30))
        emulator.release_version("2.4")
        emulator.unrelease_version("2.4")
        emulator.archive_version("2.5")
        milestones = by_id(tracker.list_milestones())
        with pytest.raises(ValueError, match="already"):
            emulator.add_version("4.0")
        with pytest.raises(ValueError, match="already exists"):
            emulator.rename_version("2.4", "4.0")

    states = {m.name: m.state for m in milestones.values()}
    assert states == {
        "2.4": MilestoneState.PLANNED,
        "2.5": MilestoneState.ARCHIVED,
        "3.0 (unscheduled)": MilestoneState.PLANNED,
        "4.0": MilestoneState.PLANNED,
    }
    assert milestones[v40].due == date(2024, 9, 30)
    assert milestones[v40].id == v40


def test_create_and_update_write_open_deal_value(clock: FakeClock) -> None:
    with served(clock=clock) as (emulator, url):
        tracker = make_tracker(url)
        field = next(f for f in emulator_fields(url) if f["id"] == "customfield_10052")
        (result,) = tracker.create_items(drafts(3)[2:])
        assert result.item is not None
        created = emulator.issue(result.item.key)["fields"]["customfield_10052"]
        tracker.update_item(result.item.key, BacklogDraft(title="t", body="b", open_deal_value=1234.567))
        updated = emulator.issue(result.item.key)["fields"]["customfield_10052"]

    assert field["name"] == "Open deal value"
    assert field["schema"]["type"] == "number"
    assert (created, updated) == (500.0, 1234.57)


def emulator_fields(url: str) -> list[dict[str, object]]:
    response = httpx.get(f"{url}/rest/api/3/field", headers=auth_header())
    response.raise_for_status()
    fields: list[dict[str, object]] = response.json()
    return fields


# -- emulator faithfulness ------------------------------------------------------------------------
@pytest.fixture
def api(clock: FakeClock) -> Iterator[tuple[JiraEmulator, Callable[..., httpx.Response]]]:
    with served(clock=clock) as (emulator, url), httpx.Client(base_url=url, headers=auth_header()) as client:
        yield emulator, client.request


def test_emulator_version_page_is_a_page_bean(
    api: tuple[JiraEmulator, Callable[..., httpx.Response]],
) -> None:
    _, call = api
    first = call("GET", VERSION_PAGE, params={"maxResults": 2}).json()
    assert set(first) == {"self", "nextPage", "maxResults", "startAt", "total", "isLast", "values"}
    assert (first["startAt"], first["maxResults"], first["total"], first["isLast"]) == (0, 2, 3, False)
    assert first["nextPage"].endswith("/rest/api/3/project/PROD/version?maxResults=2&startAt=2")
    version = first["values"][0]
    assert version["id"] == "10000"
    assert version["releaseDate"] == "2024-05-15"
    assert (version["released"], version["archived"], version["overdue"]) == (False, False, False)
    assert version["projectId"] == 10000
    assert version["self"].endswith("/rest/api/3/version/10000")
    last = call("GET", VERSION_PAGE, params={"maxResults": 2, "startAt": 2}).json()
    assert [v["name"] for v in last["values"]] == ["3.0 (unscheduled)"]
    assert last["isLast"] is True
    assert "nextPage" not in last
    assert len(call("GET", VERSION_PAGE).json()["values"]) == 3  # maxResults defaults to 50
    assert len(call("GET", "/rest/api/3/project/PROD/versions").json()) == 3  # the unpaged list stays
    assert call("GET", VERSION_PAGE, params={"startAt": "x"}).status_code == 400
    assert call("GET", "/rest/api/3/project/NOPE/version").status_code == 404


def test_emulator_version_page_filters_by_status(
    api: tuple[JiraEmulator, Callable[..., httpx.Response]],
) -> None:
    emulator, call = api
    emulator.release_version("2.4")
    emulator.archive_version("2.5")

    def names(status: str) -> list[str]:
        return [v["name"] for v in call("GET", VERSION_PAGE, params={"status": status}).json()["values"]]

    assert names("released") == ["2.4"]
    assert names("archived") == ["2.5"]
    assert names("unreleased,released") == ["2.4", "3.0 (unscheduled)"]
    assert call("GET", VERSION_PAGE, params={"status": "shipped"}).status_code == 400


def test_emulator_version_overdue_is_computed(
    api: tuple[JiraEmulator, Callable[..., httpx.Response]], clock: FakeClock
) -> None:
    emulator, call = api
    ident = emulator.version_id("2.4")
    emulator.set_release_date("2.4", (T0 - timedelta(days=1)).date())
    assert call("GET", f"/rest/api/3/version/{ident}").json()["overdue"] is True
    emulator.release_version("2.4")
    assert call("GET", f"/rest/api/3/version/{ident}").json()["overdue"] is False
    emulator.unrelease_version("2.4")
    emulator.set_release_date("2.4", None)
    assert "overdue" not in call("GET", f"/rest/api/3/version/{ident}").json()


def test_emulator_issue_fix_versions_carry_id_and_name(
    api: tuple[JiraEmulator, Callable[..., httpx.Response]],
) -> None:
    emulator, call = api
    fields = {"project": {"key": "PROD"}, "summary": "s", "issuetype": {"name": "Story"}}
    key = call("POST", "/rest/api/3/issue", json={"fields": {**fields, "customfield_10052": 7.5}}).json()[
        "key"
    ]
    emulator.set_fix_version(key, "2.5")
    raw = call("GET", f"/rest/api/3/issue/{key}", params={"fields": "fixVersions,customfield_10052"}).json()
    (version,) = raw["fields"]["fixVersions"]
    assert (version["id"], version["name"]) == (emulator.version_id("2.5"), "2.5")
    assert version["self"].endswith(f"/rest/api/3/version/{version['id']}")
    assert raw["fields"]["customfield_10052"] == 7.5
