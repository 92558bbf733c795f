"""`syncer report` over a small fabricated state, on SQLite and PostgreSQL: what it reads, what it says,
and that its charts are drawn and embedded."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mappings.models import AlertEvent, MilestoneState
from syncer.records import to_payload
from syncer.report_charts import render_charts
from syncer.report_data import Report, ReportInput, build_report
from syncer.report_render import render_report
from syncer.state import Link, StateStore, StoredFeedback
from syncer.state.report_repo import read_report
from tests.factories import make_account, make_alert, make_feedback, make_milestone

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
RELEASED_ON = date(2026, 3, 5)


def _stored(n: int, group: str, account: str, arr: float, asked: datetime) -> StoredFeedback:
    fb = make_feedback(n, account_id=account, updated_at=asked)
    payload = to_payload(fb, make_account(id=account, name=f"Customer {account}", arr=arr))
    return StoredFeedback("hubspot", str(n), group, f"h{n}", payload, None, account)


def seed(store: StateStore, org: str = "acme") -> None:
    """PROD-1 (c1, c2) shipped in 2.4; PROD-2 (c3) in 2.5, which slipped twice; PROD-3 (c1) unplanned.
    c1 was promised 2.4 by 3-8 (kept); c3 was promised 2.5 by 3-20 (at risk)."""
    asked = RELEASED_ON - timedelta(days=20)
    t = datetime(asked.year, asked.month, asked.day, 9, tzinfo=UTC)
    with store.unit() as unit:
        unit.audit.start_run(org, "r1", "run")
        unit.audit.finish_run("r1", "ok", {})
        unit.save_feedback(
            org,
            [
                _stored(1, "g1", "c1", 500_000.0, t),
                _stored(2, "g1", "c2", 200_000.0, t + timedelta(days=10)),
                _stored(3, "g2", "c3", 50_000.0, t),
                _stored(4, "g3", "c1", 500_000.0, t),
                _stored(5, "dead:", "c9", 1e9, t),
            ],
            pending=False,
        )
        unit.links.save(
            org,
            [
                Link(
                    "g1",
                    "m1",
                    "jira",
                    "PROD-1",
                    "https://j.example/browse/PROD-1",
                    "d",
                    "Export | CSV",
                    2,
                    700_000.0,
                    "highest",
                ),
                Link("g2", "m2", "jira", "PROD-2", "", "d", "单点登录 SSO", 1, 50_000.0, "high"),
                Link("g3", "m3", "jira", "PROD-3", "", "d", "Dark mode", 1, 500_000.0, "low"),
            ],
        )
        unit.links.update_item_states(org, {"PROD-1": ("done", "100", "s"), "PROD-2": ("open", "200", "s")})
        unit.milestones.save_snapshots(
            org,
            [
                make_milestone(id="100", name="2.4", due=RELEASED_ON, state=MilestoneState.RELEASED),
                make_milestone(id="200", name="2.5", due=date(2026, 4, 30)),
            ],
        )
        alerts = [
            make_alert(
                key="k1", event=AlertEvent.KEPT, account_id="c1", due=RELEASED_ON, promised=date(2026, 3, 8)
            ),
            make_alert(key="k2", event=AlertEvent.RELEASED, account_id="c2", due=RELEASED_ON),
            make_alert(
                key="k3",
                event=AlertEvent.SLIPPED,
                account_id="c3",
                milestone_id="200",
                due=date(2026, 4, 10),
                previous_due=date(2026, 4, 1),
            ),
            make_alert(
                key="k4",
                event=AlertEvent.AT_RISK,
                account_id="c3",
                milestone_id="200",
                due=date(2026, 4, 30),
                previous_due=date(2026, 4, 10),
                promised=date(2026, 3, 20),
            ),
        ]
        unit.milestones.enqueue(org, alerts, "task")
        unit.milestones.mark(org, "sent", {a.key: f"remote-{a.key}" for a in alerts})


def load(store: StateStore, org: str = "acme") -> Report:
    with read_report(store) as repo:
        data = ReportInput(
            org=org,
            generated_at=NOW,
            since=None,
            totals=repo.insights.totals(org),
            links=tuple(repo.links(org)),
            requests=tuple(repo.requests(org)),
            alerts=tuple(repo.alerts(org)),
            milestones=tuple(repo.insights.milestones(org)),
        )
    return build_report(data)


def test_report_reads_items_milestone_reliability_and_lead_times(store: StateStore) -> None:
    seed(store)
    report = load(store)

    s = report.summary
    assert (s.items, s.accounts, s.arr, s.requests, s.alerts_sent, s.runs) == (3, 3, 750_000.0, 4, 4, 1)
    assert [(i.key, i.accounts, i.status, i.milestone) for i in report.items] == [
        ("PROD-1", 2, "done", "2.4"),
        ("PROD-3", 1, "open", ""),
        ("PROD-2", 1, "open", "2.5"),
    ]
    by_name = {m.name: m for m in report.milestones}
    assert (by_name["2.4"].slips, by_name["2.4"].promises.kept, by_name["2.4"].waiting_accounts) == (0, 1, 2)
    assert (by_name["2.5"].slips, by_name["2.5"].days_slipped, by_name["2.5"].promises.at_risk) == (2, 29, 1)
    assert (report.promises.kept, report.promises.missed, report.promises.at_risk) == (1, 0, 1)
    assert sorted(x.days for x in report.lead_times.samples) == [10, 20]  # c2 asked 10 days later
    assert report.lead_times.median == 15


def test_report_renders_markdown_with_chart_files_and_html_with_embedded_charts(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")  # drawing is the same on either database
    store.migrate()
    seed(store)
    report = load(store)
    store.dispose()
    charts = render_charts(report, "png")
    assert [c.name for c in charts] == ["items", "milestones", "lead-time"]
    assert all(c.data.startswith(b"\x89PNG") for c in charts)

    md = render_report(report, "md", charts, chart_refs={c.name: f"out/{c.filename}" for c in charts})
    assert "![Top backlog items: requesting accounts and ARR](out/items.png)" in md
    assert "| [PROD-1](https://j.example/browse/PROD-1) | Export \\| CSV | 2 | $700.0k |" in md
    assert "| 2.5 | 2026-04-30 | planned | 1 | 1 | 2 | 29 | 0 | 0 | 1 | 2 |" in md
    assert "Promises to customers: 1 kept, 0 missed, 1 at risk." in md
    assert "2 requests answered by 1 items in released milestones: median 15 days" in md

    svg = render_charts(report, "svg")
    html = render_report(report, "html", svg, locale="zh-CN")
    assert html.count('src="data:image/svg+xml;base64,') == 3
    first = html.split('src="data:image/svg+xml;base64,')[1].split('"')[0]
    assert b"<svg" in base64.b64decode(first)
    assert "<h2>里程碑可靠性</h2>" in html
    assert "单点登录 SSO" in html
    assert "<td>已完成</td>" in html  # PROD-1's status, localised


def test_report_of_an_org_without_releases_says_so_and_draws_no_lead_time_chart(store: StateStore) -> None:
    with store.unit() as unit:
        unit.audit.start_run("quiet", "r1", "run")
    report = load(store, "quiet")
    assert render_charts(report) == ()
    md = render_report(report, "md")
    assert "No backlog item is linked to customer feedback yet." in md
    assert "Nothing has shipped yet" in md
