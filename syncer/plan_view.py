"""Rich tables of a dry run's plan: what would be created, updated, written back and alerted."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from mappings.render import money
from syncer.dryrun import Plan, PlannedItem

SHOWN = 20  # rows per table; the caption says how many more there are


def plan_tables(plan: Plan) -> list[Table]:
    tables = [
        _items_table("Items to create", plan.creates),
        _items_table("Items to update (their rendered content changed)", plan.updates),
    ]
    writes = Table(title="CRM records to update (backlog key, status, milestone)", title_justify="left")
    for column in ("record", "item", "status", "milestone"):
        writes.add_column(column)
    for w in plan.write_backs[:SHOWN]:
        writes.add_row(w.record_id, w.backlog_key, w.status or "-", w.milestone or "-")
    _caption(writes, len(plan.write_backs))
    alerts = Table(title="Alerts to send (one per milestone, event and account)", title_justify="left")
    for column in ("event", "milestone", "account", "owner", "subject"):
        alerts.add_column(column)
    for a in plan.alerts[:SHOWN]:
        alerts.add_row(a.event, a.milestone or "-", a.account, a.owner or "(no owner)", a.subject)
    _caption(alerts, len(plan.alerts))
    tables += [writes, alerts]
    return tables


def _items_table(title: str, items: Sequence[PlannedItem]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("item", "title", "priority", "accounts", "ARR"):
        table.add_column(column, justify="right" if column in ("accounts", "ARR") else "left")
    for item in items[:SHOWN]:
        table.add_row(item.key, item.title, item.priority, str(item.accounts), money(item.arr))
    _caption(table, len(items))
    return table


def _caption(table: Table, total: int) -> None:
    hidden = total - min(total, SHOWN)
    table.caption = f"{total} in all" + (f"; {hidden} more not shown (--json lists all)" if hidden else "")
    table.caption_justify = "left"
