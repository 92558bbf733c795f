"""Milestones back to sales, end to end on the emulators: alerts once, promises, status, revenue."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.emulation import ServedApp
from adapters.webhook.emulator import WebhookEmulator
from mappings.models import Alert, WriteResult
from syncer.engine import Engine
from syncer.records import from_payload
from syncer.service import run_org
from syncer.state import StateStore
from syncer.wiring import build_adapters
from tests.e2e.conftest import Stack

TODAY = datetime.now(UTC).date()


def _accounts_waiting(store: StateStore, item_keys: list[str]) -> dict[str, set[str]]:
    """item key -> ids of the accounts whose feedback is linked to it (from the state store)."""
    with store.unit() as unit:
        links = unit.links.by_items("acme", item_keys)
        members = unit.group_members("acme", [link.group_key for link in links.values()])
    waiting: dict[str, set[str]] = {}
    for key, link in links.items():
        accounts = {from_payload(m.payload)[1] for m in members[link.group_key]}
        waiting[key] = {a.id for a in accounts if a is not None}
    return waiting


def _top_items(store: StateStore, n: int) -> list[str]:
    with store.unit() as unit:
        return [link.item_key for link in unit.links.top("acme", n)]


def _plan(stack: Stack, keys: list[str], version: str, due: date | None) -> None:
    for key in keys:
        stack.jira.set_fix_version(key, version)
    if due is not None:
        stack.jira.set_release_date(version, due)


def test_release_creates_one_task_per_waiting_account_and_none_on_repeat(
    stack: Stack, store: StateStore
) -> None:
    run_org(stack.config(), store, "first")
    keys = _top_items(store, 3)
    _plan(stack, keys, "2.5", TODAY + timedelta(days=40))
    planned = run_org(stack.config(), store, "planned")
    waiting = set().union(*_accounts_waiting(store, keys).values())
    assert planned.alerts_created == len(waiting)  # `scheduled`, once per account
    tasks_before = len(stack.hubspot.tasks())

    stack.jira.release_version("2.5", TODAY)
    released = run_org(stack.config(), store, "released")

    new_tasks = stack.hubspot.tasks()[tasks_before:]
    assert released.alerts_created == len(new_tasks) == len(waiting)
    assert Counter(t["companies"][0] for t in new_tasks) == Counter(dict.fromkeys(waiting, 1))
    for task in new_tasks:
        company = stack.hubspot.company(task["companies"][0])
        assert task["properties"]["hubspot_owner_id"] == company["hubspot_owner_id"]
        assert task["properties"]["hs_task_subject"].startswith(("Shipped: 2.5", "Promise kept: 2.5"))
    again = run_org(stack.config(), store, "again")
    assert again.alerts_created == 0
    assert len(stack.hubspot.tasks()) == tasks_before + len(waiting)


def test_slip_raises_at_risk_only_for_accounts_whose_promise_is_missed(
    stack: Stack, store: StateStore
) -> None:
    run_org(stack.config(), store, "first")
    [key] = _top_items(store, 1)
    due = TODAY + timedelta(days=20)
    _plan(stack, [key], "2.5", due)
    linked = [
        t for t in stack.hubspot.ids("tickets") if stack.hubspot.ticket(t).get("syncer_backlog_key") == key
    ]
    for ticket_id in linked:
        stack.hubspot.set_promised_date(ticket_id, None)
    early, late = linked[0], linked[-1]
    stack.hubspot.set_promised_date(early, due + timedelta(days=5))  # will be missed by the slip
    stack.hubspot.set_promised_date(late, due + timedelta(days=60))  # still kept after the slip
    run_org(stack.config(), store, "planned")
    tasks_before = len(stack.hubspot.tasks())

    stack.jira.set_release_date("2.5", due + timedelta(days=30))
    slipped = run_org(stack.config(), store, "slipped")

    new_tasks = stack.hubspot.tasks()[tasks_before:]
    assert slipped.alerts_created == len(new_tasks) > 0
    at_risk = [t for t in new_tasks if t["properties"]["hs_task_subject"].startswith("At risk")]
    early_company = _company_of(stack, early)
    assert [t["companies"][0] for t in at_risk] == [early_company]
    assert (due + timedelta(days=5)).isoformat() in at_risk[0]["properties"]["hs_task_subject"]
    assert all(
        t["properties"]["hs_task_subject"].startswith("Slipped") for t in new_tasks if t not in at_risk
    )


def _company_of(stack: Stack, ticket_id: str) -> str:
    matches = [t for t in stack.hubspot.tasks() if ticket_id in t.get("tickets", [])]
    assert matches, f"no alert is attached to ticket {ticket_id}"
    return str(matches[-1]["companies"][0])


def test_status_milestone_and_due_flow_back_onto_feedback(stack: Stack, store: StateStore) -> None:
    run_org(stack.config(), store, "first")
    [key] = _top_items(store, 1)
    _plan(stack, [key], "2.5", TODAY + timedelta(days=30))
    stack.jira.transition(key, "In Progress")
    run_org(stack.config(), store, "planned")

    linked = [stack.hubspot.ticket(t) for t in stack.hubspot.ids("tickets")]
    shown = [t for t in linked if t.get("syncer_backlog_key") == key]
    assert shown
    for ticket in shown:
        assert ticket["syncer_backlog_status"] == "in-progress"
        assert ticket["syncer_milestone"] == "2.5"
        assert ticket["syncer_milestone_due"] == (TODAY + timedelta(days=30)).isoformat()
    unchanged = run_org(stack.config(), store, "unchanged")
    assert unchanged.links_written == 0  # written only when something changed


def test_revenue_roll_up_follows_an_account_change(stack: Stack, store: StateStore) -> None:
    run_org(stack.config(), store, "first")
    [key] = _top_items(store, 1)
    company = sorted(_accounts_waiting(store, [key])[key])[0]
    before = stack.jira.issue(key)["fields"]["customfield_10051"]
    arr = float(stack.hubspot.company(company).get("annualrevenue") or 0)
    stack.hubspot.update_company(company, annualrevenue=str(arr + 1_000_000))

    counts = run_org(stack.config(), store, "arr changed")

    assert counts.accounts_refreshed > 0
    assert stack.jira.issue(key)["fields"]["customfield_10051"] == before + 1_000_000


def test_alerts_go_to_a_webhook_when_configured(stack: Stack, store: StateStore) -> None:
    hook = WebhookEmulator()
    with ServedApp(hook.app) as served:
        url_file = stack.workdir / "hook-url"
        url_file.write_text(f"{served.url}/hook")
        config = stack.config(alerts={"channel": "webhook", "webhook_url_file": str(url_file)})
        run_org(config, store, "first")
        keys = _top_items(store, 1)
        _plan(stack, keys, "2.5", TODAY + timedelta(days=30))
        counts = run_org(config, store, "planned")
        run_org(config, store, "again")
    posts = hook.posts()
    assert counts.alerts_created == len(posts) > 0
    assert len({p["syncer"]["key"] for p in posts}) == len(posts)
    assert all(p["text"].startswith(("*Scheduled: 2.5", "*At risk")) for p in posts)
    assert stack.hubspot.tasks() == []


class _CrashAfterSend:
    """The alerts reach the CRM, then the process dies before the outbox records them as sent."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.system = "hubspot"

    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        return self._inner.find_alerts(keys)  # type: ignore[attr-defined, no-any-return]

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        self._inner.create_alerts(alerts)  # type: ignore[attr-defined]
        raise RuntimeError("killed after sending")


def test_alerts_sent_before_a_crash_are_adopted_not_sent_twice(stack: Stack, store: StateStore) -> None:
    config = stack.config()
    run_org(config, store, "first")
    _plan(stack, _top_items(store, 2), "2.5", TODAY + timedelta(days=30))
    adapters = build_adapters(config)
    crashing = _CrashAfterSend(adapters.crm)
    engine = Engine(config, store, adapters.crm, adapters.crm, adapters.tracker, adapters.tracker, crashing)
    with pytest.raises(RuntimeError, match="killed"):
        engine.run("crashing")
    adapters.close()
    sent = len(stack.hubspot.tasks())
    assert sent > 0

    recovered = run_org(config, store, "recovery")

    assert recovered.alerts_adopted == sent
    assert recovered.alerts_created == 0
    assert len(stack.hubspot.tasks()) == sent


def test_open_deal_value_follows_a_deal_change(stack: Stack, store: StateStore) -> None:
    run_org(stack.config(), store, "first")
    [key] = _top_items(store, 1)
    company = sorted(_accounts_waiting(store, [key])[key])[0]
    before = stack.jira.issue(key)["fields"]["customfield_10052"]
    deal = stack.hubspot.add_deal(
        company,
        {"dealname": "Expansion", "amount": "250000", "dealstage": "contractsent", "hs_is_closed": "false"},
    )
    assert deal

    counts = run_org(stack.config(), store, "deal added")

    assert counts.accounts_refreshed > 0
    assert counts.items_updated >= 1
    assert stack.jira.issue(key)["fields"]["customfield_10052"] == before + 250_000


def test_alerts_can_be_crm_notes(stack: Stack, store: StateStore) -> None:
    config = stack.config(alerts={"channel": "crm_note"})
    run_org(config, store, "first")
    _plan(stack, _top_items(store, 1), "2.5", TODAY + timedelta(days=30))
    counts = run_org(config, store, "planned")
    notes = stack.hubspot.notes()
    assert counts.alerts_created == len(notes) > 0
    assert stack.hubspot.tasks() == []
    assert all(n["companies"] for n in notes)


def test_status_json_reports_milestones_waiting_accounts_and_alerts(stack: Stack, store: StateStore) -> None:
    from typer.testing import CliRunner

    from syncer.cli import app

    run_org(stack.config(), store, "first")
    _plan(stack, _top_items(store, 2), "2.5", TODAY + timedelta(days=30))
    planned = run_org(stack.config(), store, "planned")
    result = CliRunner().invoke(
        app, ["status", "--org", "acme", "--json"], env={"SYNCER_DATABASE_URL": store.url}
    )
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    [m25] = [m for m in status["milestones"] if m["name"] == "2.5"]
    assert m25["due"] == (TODAY + timedelta(days=30)).isoformat()
    assert m25["waiting_accounts"] > 0
    assert status["alerts_sent"] == planned.alerts_created == m25["alerts_sent"]
