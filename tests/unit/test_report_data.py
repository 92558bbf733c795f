"""The report's arithmetic: slips, promise outcomes, lead times, percentiles, item ranking. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mappings.models import MilestoneState
from syncer.report_data import (
    ReportInput,
    build_report,
    item_lines,
    lead_times,
    percentile,
    promise_outcomes,
    slips,
)
from syncer.state import Link
from syncer.state.insights_repo import MilestoneInsight, OrgTotals
from syncer.state.report_repo import AlertRecord, RequestRecord
from tests.factories import make_milestone

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
D = date.fromisoformat


def alert(
    event: str,
    account: str = "c1",
    due: str | None = None,
    before: str | None = None,
    promised: str | None = None,
    milestone: str = "100",
) -> AlertRecord:
    return AlertRecord(
        event=event,
        state="sent",
        milestone_id=milestone,
        account_id=account,
        due=D(due) if due else None,
        previous_due=D(before) if before else None,
        promised=D(promised) if promised else None,
        created_at=NOW,
    )


def link(group: str, key: str, accounts: int = 1, arr: float = 0.0, milestone: str | None = None) -> Link:
    return Link(
        group,
        f"m-{group}",
        "jira",
        key,
        "",
        "d",
        f"Item {key}",
        accounts,
        arr,
        "high",
        0.0,
        "open",
        milestone,
    )


def request(record: str, group: str, account: str, requested: str, arr: float = 100.0) -> RequestRecord:
    return RequestRecord(
        record,
        group,
        account,
        account.upper(),
        arr,
        datetime.fromisoformat(requested).replace(tzinfo=UTC),
        None,
    )


def insight(
    id: str = "100",
    state: MilestoneState = MilestoneState.PLANNED,
    due: str | None = "2026-04-01",
    name: str = "2.4",
) -> MilestoneInsight:
    return MilestoneInsight(make_milestone(id=id, name=name, state=state, due=D(due) if due else None), 0, 0)


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        pytest.param([], (0, 0), id="no-alerts"),
        pytest.param(
            [
                alert("slipped", "c1", "2026-04-10", "2026-04-01"),
                alert("slipped", "c2", "2026-04-10", "2026-04-01"),
            ],
            (1, 9),
            id="one-slip-told-twice",
        ),
        pytest.param(
            [
                alert("slipped", "c1", "2026-04-10", "2026-04-01"),
                alert("at_risk", "c2", "2026-05-10", "2026-04-10", "2026-04-20"),
            ],
            (2, 39),
            id="two-slips-one-at-risk",
        ),
        pytest.param([alert("slipped", "c1", None, "2026-04-01")], (1, 0), id="date-removed"),
        pytest.param(
            [
                alert("scheduled", "c1", "2026-03-20", "2026-04-01"),
                alert("at_risk", "c1", "2026-03-20", None, "2026-03-15"),
            ],
            (0, 0),
            id="moved-earlier-or-first-date-is-no-slip",
        ),
        pytest.param([alert("released", "c1", "2026-04-05", "2026-04-01")], (0, 0), id="release-is-no-slip"),
    ],
)
def test_slips_count_distinct_moves_later(alerts: list[AlertRecord], expected: tuple[int, int]) -> None:
    assert slips(alerts) == expected


@pytest.mark.parametrize(
    ("alerts", "released", "expected"),
    [
        pytest.param([alert("kept", "c1", promised="2026-04-05")], True, (1, 0, 0), id="kept"),
        pytest.param(
            [alert("at_risk", "c1", promised="2026-04-05"), alert("kept", "c1", promised="2026-04-05")],
            True,
            (1, 0, 0),
            id="at-risk-then-kept",
        ),
        pytest.param(
            [alert("at_risk", "c1", promised="2026-04-05"), alert("released", "c1")],
            True,
            (0, 1, 0),
            id="shipped-after-promise",
        ),
        pytest.param([alert("at_risk", "c1", promised="2026-04-05")], False, (0, 0, 1), id="still-at-risk"),
        pytest.param(
            [alert("at_risk", "c1", promised="2026-03-01")], False, (0, 1, 0), id="promise-date-passed"
        ),
        pytest.param(
            [
                alert("at_risk", "c1", promised="2026-04-05"),
                alert("at_risk", "c1", promised="2026-04-05"),
                alert("at_risk", "c2", promised="2026-04-20"),
            ],
            False,
            (0, 0, 2),
            id="one-per-account",
        ),
        pytest.param([alert("released", "c1"), alert("slipped", "c2")], True, (0, 0, 0), id="no-promises"),
    ],
)
def test_promise_outcomes(alerts: list[AlertRecord], released: bool, expected: tuple[int, int, int]) -> None:
    outcome = promise_outcomes(alerts, released, TODAY)
    assert (outcome.kept, outcome.missed, outcome.at_risk) == expected


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        pytest.param([], 50, None, id="empty"),
        pytest.param([7], 90, 7, id="one"),
        pytest.param([1, 2, 3, 4], 50, 2.5, id="even-median"),
        pytest.param([10, 1, 5], 50, 5, id="unsorted"),
        pytest.param(list(range(11)), 90, 9, id="p90"),
    ],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def test_lead_times_count_days_from_request_to_release_and_skip_later_requests() -> None:
    links = [
        link("g1", "PROD-1", milestone="100"),
        link("g2", "PROD-2", milestone="200"),
        link("g3", "PROD-3"),
    ]
    requests = [
        request("1", "g1", "c1", "2026-03-01T10:00:00"),  # 2.4 released 2026-03-11: 10 days
        request("2", "g1", "c2", "2026-02-09T10:00:00"),  # 30 days
        request("3", "g1", "c3", "2026-03-20T10:00:00"),  # asked after it shipped: not a wait
        request("4", "g2", "c1", "2026-01-01T10:00:00"),  # 2.5 not released
        request("5", "g3", "c1", "2026-01-01T10:00:00"),  # no milestone
    ]
    milestones = [insight("100", MilestoneState.RELEASED, "2026-03-11"), insight("200", due="2026-05-01")]

    lead = lead_times(links, requests, milestones, since=None)

    assert [(s.record_id, s.days) for s in lead.samples] == [("1", 10), ("2", 30)]
    assert (lead.median, lead.p90, lead.mean, lead.shipped_items) == (20, 28, 20, 1)
    assert [(w.milestone, w.requests, w.median) for w in lead.by_milestone] == [("2.4", 2, 20)]
    assert lead_times(links, requests, milestones, since=datetime(2026, 3, 12, tzinfo=UTC)).samples == ()


def test_item_lines_rank_by_accounts_then_arr_then_key_and_name_milestones() -> None:
    links = [
        link("a", "P-2", 3, 10.0),
        link("b", "P-1", 3, 10.0),
        link("c", "P-3", 3, 50.0, "100"),
        link("d", "P-4", 5, 1.0),
    ]
    lines = item_lines(links, {"100": "2.4"}, top=3)
    assert [i.key for i in lines] == ["P-4", "P-3", "P-1"]
    assert lines[1].milestone == "2.4"


def test_build_report_counts_each_account_once_in_the_arr_total() -> None:
    totals = OrgTotals(
        org="acme",
        items=2,
        accounts=2,
        open_dead_letters=1,
        alerts_sent=5,
        pending_groups=0,
        runs=3,
        last_run=None,
        last_success_at=None,
    )
    data = ReportInput(
        org="acme",
        generated_at=NOW,
        since=None,
        totals=totals,
        links=(link("g1", "P-1", 2, 300.0), link("g2", "P-2", 1, 200.0)),
        requests=(
            request("1", "g1", "c1", "2026-01-01T00:00:00", 200.0),
            request("2", "g1", "c2", "2026-01-01T00:00:00", 100.0),
            request("3", "g2", "c1", "2026-01-01T00:00:00", 200.0),
            request("4", "gone", "c9", "2026-01-01T00:00:00", 999.0),
        ),
        alerts=(alert("slipped", "c1", "2026-04-10", "2026-04-01"),),
        milestones=(insight(),),
    )
    report = build_report(data)
    s = report.summary
    assert (s.items, s.accounts, s.arr, s.requests, s.alerts_sent, s.open_dead_letters, s.runs) == (
        2,
        2,
        300.0,
        3,
        5,
        1,
        3,
    )
    assert [(m.name, m.slips, m.days_slipped) for m in report.milestones] == [("2.4", 1, 9)]
