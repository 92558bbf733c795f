"""Rich tables a newcomer can read: pass summaries, top backlog items, dead letters, runs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from mappings.render import money
from syncer.counts import PassCounts
from syncer.state import DeadLetter, Link, RunRecord
from syncer.state.milestone_repo import MilestoneSummary
from syncer.words import ZH_CN


def passes_table(passes: Sequence[PassCounts], title: str = "Sync passes") -> Table:
    table = Table(title=title, title_justify="left")
    table.caption = (
        "pulled: records read (re-reads of the overlap window included) · changed: new or edited "
        "feedback · created/updated: backlog items · linked: CRM records shown their item's state · "
        "alerts: tasks for account owners"
    )
    table.caption_justify = "left"
    table.add_column("pass", no_wrap=True)
    for column in (
        "pulled",
        "changed",
        "ignored",
        "created",
        "updated",
        "linked",
        "alerts",
        "dead",
        "requests",
    ):
        table.add_column(column, justify="right")
    for p in passes:
        table.add_row(
            p.name,
            str(p.feedback_pulled),
            str(p.feedback_changed),
            str(p.feedback_ignored),
            str(p.items_created),
            str(p.items_updated),
            str(p.links_written),
            str(p.alerts_created),
            str(p.dead_letters),
            str(p.requests),
        )
    return table


def items_table(links: Sequence[Link], title: str = "Top backlog items (by requesting accounts)") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("item", "title", "accounts", "ARR", "priority"):
        table.add_column(
            column, justify="right" if column in ("accounts", "ARR") else "left", no_wrap=column != "title"
        )
    for link in links:
        table.add_row(
            link.item_key, link.title[:48], str(link.account_count), money(link.total_arr), link.priority
        )
    return table


def dead_letters_table(letters: Sequence[DeadLetter], title: str = "Dead letters (need a fix)") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("system", "record", "stage", "attempts", "reason"):
        table.add_column(column)
    for d in letters:
        table.add_row(d.system, d.record_id, d.stage, str(d.attempts), d.reason[:120])
    return table


def runs_table(runs: Sequence[RunRecord], title: str = "Recent runs") -> Table:
    table = Table(title=title, title_justify="left")
    for column in (
        "started (UTC)",
        "kind",
        "status",
        "created",
        "updated",
        "dead letters",
        "requests",
        "error",
    ):
        table.add_column(column)
    for r in runs:
        c = r.counts
        table.add_row(
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.kind,
            r.status,
            str(c.get("items_created", 0)),
            str(c.get("items_updated", 0)),
            str(c.get("dead_letters", 0)),
            str(c.get("requests", 0)),
            (r.error or "")[:80],
        )
    return table


def milestones_table(
    rows: Sequence[tuple[MilestoneSummary, int]], title: str = "Milestones (what sales hears about)"
) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("milestone", "due", "state", "waiting accounts", "alerts sent", "promises at risk"):
        table.add_column(column, justify="right" if column not in ("milestone", "state") else "left")
    for summary, waiting in rows:
        m = summary.milestone
        table.add_row(
            m.name[:40],
            m.due.isoformat() if m.due else "-",
            m.state.value,
            str(waiting),
            str(summary.alerts_sent),
            str(summary.at_risk),
        )
    return table


_ZH_UI = {
    **ZH_CN,
    "requests": "请求数",
    "Top backlog items (by requesting accounts)": "需求排行（按提出的客户数）",
    "title": "标题",
    "Milestones (what sales hears about)": "里程碑（销售会收到的提醒）",
    "promises at risk": "有风险的承诺",
}


def localize(table: Table, locale: str) -> Table:
    """Translate a status table's title, headers and enumerated cell values (`en` stays as is)."""
    if locale != "zh-CN":
        return table
    if isinstance(table.title, str):
        table.title = _ZH_UI.get(table.title, table.title)
    for column in table.columns:
        if isinstance(column.header, str):
            column.header = _ZH_UI.get(column.header, column.header)
        column._cells = [_ZH_UI.get(c, c) if isinstance(c, str) else c for c in column._cells]
    return table


def org_summary(org: str, items: int, letters: int, pending: int, cursor: str, locale: str) -> str:
    if locale == "zh-CN":
        return (
            f"[bold]{org}[/bold]：已关联 {items} 个需求，{letters} 条待处理死信，"
            f"{pending} 组等待同步，游标 {cursor}"
        )
    return (
        f"[bold]{org}[/bold]: {items} backlog items linked, {letters} open dead letters, "
        f"{pending} groups waiting, cursor {cursor}"
    )
