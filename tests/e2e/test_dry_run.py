"""Dry run and rescan end to end: a dry run changes nothing remote nor in the state store and predicts
exactly what the real pass then does; a rescan after a mapping change updates only what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, create_engine, select

from syncer.service import plan_org, run_org
from syncer.state import StateStore
from tests.e2e.conftest import Stack

TODAY = datetime.now(UTC).date()


def _state_dump(store: StateStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every state table, sorted: equal dumps mean an untouched state store."""
    engine = create_engine(store.url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        dump = {
            name: sorted((tuple(map(repr, row)) for row in conn.execute(select(table))), key=repr)
            for name, table in meta.tables.items()
        }
    engine.dispose()
    return dump


def _remote(stack: Stack) -> tuple[Any, ...]:
    tickets = [stack.hubspot.ticket(t) for t in stack.hubspot.ids("tickets")]
    return (stack.jira.issues(), tickets, stack.hubspot.tasks(), stack.hubspot.notes())


def test_dry_run_first_pass_writes_nothing_and_predicts_the_real_pass(
    stack: Stack, store: StateStore
) -> None:
    remote, state = _remote(stack), _state_dump(store)

    counts, plan = plan_org(stack.config(), store, "dry")

    assert _remote(stack) == remote, "a dry run changed something in HubSpot or Jira"
    assert _state_dump(store) == state, "a dry run wrote to the state store"
    assert len(plan.creates) == counts.items_created > 0
    assert len(plan.write_backs) == counts.links_written > 0
    assert {w.backlog_key for w in plan.write_backs} == {c.key for c in plan.creates}
    real = run_org(stack.config(), store, "real")
    assert (real.items_created, real.links_written) == (len(plan.creates), len(plan.write_backs))
    assert sorted(i["fields"]["summary"] for i in stack.jira.issues()) == sorted(
        c.title for c in plan.creates
    )


def test_dry_run_after_planning_lists_alerts_and_the_real_run_sends_exactly_those(
    stack: Stack, store: StateStore
) -> None:
    run_org(stack.config(), store, "first")
    with store.unit() as unit:
        keys = [link.item_key for link in unit.links.top("acme", 2)]
    for key in keys:
        stack.jira.set_fix_version(key, "2.5")
    stack.jira.set_release_date("2.5", TODAY + timedelta(days=30))
    remote, state = _remote(stack), _state_dump(store)

    counts, plan = plan_org(stack.config(), store, "dry")

    assert _remote(stack) == remote
    assert _state_dump(store) == state
    events = {a.event for a in plan.alerts}
    assert "scheduled" in events
    assert events <= {"scheduled", "at_risk"}  # at risk: a promise to that customer is missed
    assert all(a.milestone == "2.5" and a.owner for a in plan.alerts)
    assert counts.alerts_created == len(plan.alerts)
    real = run_org(stack.config(), store, "real")
    assert real.alerts_created == len(plan.alerts)
    sent = sorted(t["properties"]["hs_task_subject"] for t in stack.hubspot.tasks())
    assert sent == sorted(a.subject for a in plan.alerts)


def test_rescan_after_a_label_change_updates_every_item_once_and_creates_none(
    stack: Stack, store: StateStore
) -> None:
    first = run_org(stack.config(), store, "first")
    issues_before = {i["key"] for i in stack.jira.issues()}
    changed = stack.config(labels=["customer-feedback", "from-sales"])

    _, plan = plan_org(changed, store, "rescan", rescan=True)
    assert not plan.creates
    assert len(plan.updates) == first.items_created
    assert all(u.key in issues_before for u in plan.updates)
    assert all("from-sales" not in i["fields"]["labels"] for i in stack.jira.issues()), "dry run wrote"

    real = run_org(changed, store, "rescan", rescan=True)
    assert (real.items_created, real.items_updated) == (0, first.items_created)
    assert {i["key"] for i in stack.jira.issues()} == issues_before, "a rescan created an item"
    assert all("from-sales" in i["fields"]["labels"] for i in stack.jira.issues())
    again = run_org(changed, store, "again", rescan=True)
    assert (again.items_created, again.items_updated, again.links_written) == (0, 0, 0)
