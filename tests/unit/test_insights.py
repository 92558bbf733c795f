"""The dashboard's and reports' read-only queries, on SQLite and PostgreSQL, and their pure shaping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mappings.models import AlertEvent, MilestoneState
from syncer.insights import human_duration, lag_seconds, load_org_report, milestone_status
from syncer.state import Link, StateStore, StoredFeedback
from syncer.state.insights_repo import DeadLetterCount, MilestoneInsight, read_insights
from tests.factories import make_alert, make_milestone

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _feedback(record_id: str, group: str, account: str | None) -> StoredFeedback:
    return StoredFeedback("hubspot", record_id, group, "h", {"feedback": {}, "account": None}, None, account)


def _link(group: str, key: str, accounts: int, arr: float) -> Link:
    return Link(
        group,
        f"m-{group}",
        "jira",
        key,
        f"https://j.example/browse/{key}",
        "d",
        f"Item {key}",
        accounts,
        arr,
        "high",
        1000.0,
    )


def seed(store: StateStore, org: str = "acme") -> None:
    """Three items (c1+c2, c3, c1), 2.4 upcoming (scheduled sent to c1, c2), 2.5 slipped (sent to c3),
    2.3 released; three open dead letters and one resolved; runs ok, failed, partial; org `beta` too."""
    with store.unit() as unit:
        unit.save_feedback(
            org,
            [
                _feedback("1", "fp:a", "c1"),
                _feedback("2", "fp:a", "c2"),
                _feedback("3", "fp:b", "c3"),
                _feedback("4", "fp:c", "c1"),
                _feedback("5", "dead:", "c9"),
            ],
            pending=False,
        )
        unit.links.save(
            org,
            [
                _link("fp:a", "PROD-1", 2, 300_000.0),
                _link("fp:b", "PROD-2", 1, 900_000.0),
                _link("fp:c", "PROD-3", 1, 50_000.0),
            ],
        )
        unit.links.update_item_states(org, {"PROD-1": ("open", "100", "s"), "PROD-2": ("open", "200", "s")})
        unit.milestones.save_snapshots(
            org,
            [
                make_milestone(id="100", name="2.4", due=TODAY + timedelta(days=14)),
                make_milestone(id="200", name="2.5", due=TODAY + timedelta(days=75)),
                make_milestone(id="300", name="2.3", due=TODAY, state=MilestoneState.RELEASED),
            ],
        )
        alerts = [
            make_alert(key="a1", event=AlertEvent.SCHEDULED, account_id="c1", milestone_id="100"),
            make_alert(key="a2", event=AlertEvent.SCHEDULED, account_id="c2", milestone_id="100"),
            make_alert(key="a3", event=AlertEvent.SLIPPED, account_id="c3", milestone_id="200"),
            make_alert(key="a4", event=AlertEvent.AT_RISK, account_id="c3", milestone_id="200"),
        ]
        unit.milestones.enqueue(org, alerts, "crm_task")
        unit.milestones.mark(org, "sent", {"a1": "t1", "a2": "t2", "a3": "t3"})  # a4 still pending
        for record, stage in (("7", "map"), ("8", "map"), ("9", "writeback")):
            unit.audit.dead_letter(org, "hubspot", record, stage, "<script>alert(1)</script> no account")
        unit.audit.dead_letter(org, "jira", "fp:z", "create", "field required")
        unit.audit.resolve_dead_letters(org, "jira", ["fp:z"])
        for run_id, status in ((f"{org}-1", "ok"), (f"{org}-2", "failed"), (f"{org}-3", "partial")):
            unit.audit.start_run(org, run_id, "run")
            unit.audit.finish_run(
                run_id, status, {"items_created": 1}, "boom" if status == "failed" else None
            )
        unit.audit.start_run("beta", f"beta-of-{org}", "run")


def test_insights_totals_match_what_the_store_holds(store: StateStore) -> None:
    seed(store)
    with read_insights(store) as repo:
        totals = repo.totals("acme")
        assert repo.org_names() == ["acme", "beta"]
    assert (totals.items, totals.accounts, totals.alerts_sent) == (3, 3, 3)  # c9 is in no item
    assert (totals.open_dead_letters, totals.runs, totals.pending_groups) == (3, 3, 0)
    assert totals.last_run is not None
    assert totals.last_run.status == "partial"
    assert totals.last_success_at is not None  # the partial run counts as a success


def test_insights_top_items_by_accounts_and_by_arr(store: StateStore) -> None:
    seed(store)
    with read_insights(store) as repo:
        by_accounts = [link.item_key for link in repo.top_items("acme", "accounts")]
        by_arr = [link.item_key for link in repo.top_items("acme", "arr", limit=2)]
    assert by_accounts == ["PROD-1", "PROD-2", "PROD-3"]
    assert by_arr == ["PROD-2", "PROD-1"]


def test_insights_milestones_count_waiting_accounts_and_sent_alerts_per_event(store: StateStore) -> None:
    seed(store)
    with read_insights(store) as repo:
        found = {m.milestone.id: m for m in repo.milestones("acme")}
    with store.unit() as unit:  # the query `syncer status` uses, one milestone at a time
        expected_waiting = {mid: unit.waiting_accounts("acme", mid) for mid in found}
    assert (
        {mid: m.waiting_accounts for mid, m in found.items()}
        == expected_waiting
        == {"100": 2, "200": 1, "300": 0}
    )
    assert dict(found["100"].alerts_sent) == {"scheduled": 2}
    assert dict(found["200"].alerts_sent) == {"slipped": 1}  # the at_risk alert was not sent yet
    assert (found["100"].items, found["300"].alerts_sent_total) == (1, 0)


def test_insights_report_sorts_milestones_and_counts_dead_letters(store: StateStore) -> None:
    seed(store)
    with read_insights(store) as repo:
        report = load_org_report(repo, "acme", NOW)
    assert [v.insight.milestone.name for v in report.slipped] == ["2.5"]
    assert [v.insight.milestone.name for v in report.upcoming] == ["2.4"]
    assert report.dead_letter_counts == (
        DeadLetterCount("hubspot", "map", 2),
        DeadLetterCount("hubspot", "writeback", 1),
    )
    assert report.failed_runs == 1
    assert len(report.runs) == 3
    assert len(report.dead_letters) == 3


def test_insights_empty_org_reads_as_zeros(store: StateStore) -> None:
    with read_insights(store) as repo:
        report = load_org_report(repo, "nobody", NOW)
        assert repo.org_names() == []
    assert (report.totals.items, report.totals.runs, report.lag_seconds) == (0, 0, None)


@pytest.mark.parametrize(
    ("state", "due", "sent", "expected"),
    [
        pytest.param(MilestoneState.RELEASED, TODAY, {"slipped": 1}, "released", id="released-wins"),
        pytest.param(MilestoneState.PLANNED, TODAY, {"at_risk": 2}, "slipped", id="at-risk-sent"),
        pytest.param(MilestoneState.PLANNED, TODAY - timedelta(days=1), {}, "overdue", id="overdue"),
        pytest.param(MilestoneState.PLANNED, None, {"scheduled": 1}, "undated", id="undated"),
        pytest.param(MilestoneState.PLANNED, TODAY, {"scheduled": 3}, "upcoming", id="due-today"),
    ],
)
def test_milestone_status(
    state: MilestoneState, due: date | None, sent: dict[str, int], expected: str
) -> None:
    insight = MilestoneInsight(make_milestone(state=state, due=due), 1, 1, sent)
    assert milestone_status(insight, TODAY) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.2, "<1s"), (45, "45s"), (725, "12m 5s"), (12_000, "3h 20m"), (187_200, "2d 4h")],
)
def test_human_duration(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


def test_lag_is_time_since_last_success_and_never_negative() -> None:
    assert lag_seconds(NOW - timedelta(minutes=5), NOW) == 300
    assert lag_seconds(NOW + timedelta(seconds=3), NOW) == 0
    assert lag_seconds(None, NOW) is None
