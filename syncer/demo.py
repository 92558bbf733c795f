"""`syncer demo`: bundled emulators, seeded data, real HTTP, SQLite — and nothing to set up."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from syncer.config import OrgConfig, parse_org_config
from syncer.counts import PassCounts
from syncer.service import open_store, run_org
from syncer.state import DeadLetter, Link, StateStore
from syncer.state.milestone_repo import MilestoneSummary

SCENARIOS = ("hubspot-jira",)
DEMO_TOKEN = "demo-token-not-a-secret"  # noqa: S105 - the emulators' fixed token
SEARCH_LAG_S = 0.5


@dataclass
class DemoResult:
    passes: list[PassCounts] = field(default_factory=list)
    top_items: list[Link] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    tickets: int = 0
    companies: int = 0
    edited_ticket: str = ""
    planned: dict[str, list[str]] = field(default_factory=dict)
    milestones: list[tuple[MilestoneSummary, int]] = field(default_factory=list)


def demo_config(workdir: Path, crm_url: str, tracker_url: str) -> OrgConfig:
    """The org config the demo uses; tokens go through secret files, exactly like production."""
    token_file = workdir / "demo-token"
    token_file.write_text(DEMO_TOKEN, encoding="utf-8")
    data = {
        "org": "demo",
        "crm": {
            "system": "hubspot",
            "base_url": crm_url,
            "portal_id": "4242",
            "token_file": str(token_file),
            "overlap_seconds": 5,
        },
        "tracker": {
            "system": "jira",
            "base_url": tracker_url,
            "email": "bot@example.com",
            "token_file": str(token_file),
            "project": "PROD",
            "fields": {
                "accounts": "customfield_10050",
                "arr": "customfield_10051",
                "open_deals": "customfield_10052",
            },
        },
        "sync": {"adopt_grace_seconds": 5},
    }
    return parse_org_config(workdir / "demo.yaml", data)


def plan_releases(jira: JiraEmulator, store: StateStore, org: str) -> dict[str, list[str]]:
    """What R&D does in Jira: put the most requested items into 2.4 (dated) and 2.5 (gets a date)."""
    with store.unit() as unit:
        top = [link.item_key for link in unit.top_links(org, 8)]
    plan = {"2.4": top[:4], "2.5": top[4:8]}
    for version, keys in plan.items():
        for key in keys:
            jira.set_fix_version(key, version)
    jira.set_release_date("2.5", jira_today(jira) + timedelta(days=30))
    return plan


def ship_and_slip(jira: JiraEmulator) -> None:
    """2.4 ships today; 2.5 moves 45 days later (past some promises made to customers)."""
    jira.release_version("2.4", jira_today(jira))
    jira.set_release_date("2.5", jira_today(jira) + timedelta(days=75))


def jira_today(jira: JiraEmulator) -> date:
    return datetime.fromtimestamp(jira.clock(), UTC).date()


def edit_one_linked_ticket(hubspot: HubSpotEmulator) -> str:
    """Edit the body of one ticket already linked to a backlog item, like a salesperson would."""
    for ticket_id in sorted(hubspot.ids("tickets"), key=int):
        ticket = hubspot.ticket(ticket_id)
        if ticket.get("syncer_backlog_key"):
            body = ticket.get("content") or ""
            hubspot.update_ticket(
                ticket_id, content=body + " Update: the customer now needs this by end of quarter."
            )
            return ticket_id
    raise RuntimeError("no linked ticket to edit: the first pass created nothing")


def run_demo(scenario: str = "hubspot-jira", seed: int = 7, database_url: str | None = None) -> DemoResult:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    hubspot = HubSpotEmulator(token=DEMO_TOKEN, search_lag_s=SEARCH_LAG_S)
    hubspot.seed_demo(seed)
    jira = JiraEmulator(token=DEMO_TOKEN, search_lag_s=SEARCH_LAG_S)
    jira.seed_demo(seed)
    seeded = hubspot.counts()
    result = DemoResult(tickets=seeded["tickets"], companies=seeded["companies"])
    with (
        tempfile.TemporaryDirectory(prefix="syncer-demo-") as tmp,
        ServedApp(hubspot.app) as crm,
        ServedApp(jira.app) as tracker,
    ):
        workdir = Path(tmp)
        config = demo_config(workdir, crm.url, tracker.url)
        store = open_store(database_url or f"sqlite:///{workdir / 'demo.db'}")
        try:
            result.passes.append(run_org(config, store, "first sync"))
            result.passes.append(run_org(config, store, "repeat"))
            result.edited_ticket = edit_one_linked_ticket(hubspot)
            time.sleep(SEARCH_LAG_S + 0.2)  # HubSpot's search index lags behind writes
            result.passes.append(run_org(config, store, "one ticket edited"))
            result.passes.append(run_org(config, store, "repeat"))
            result.planned = plan_releases(jira, store, config.org)
            time.sleep(SEARCH_LAG_S + 0.2)  # Jira's search index lags behind writes too
            result.passes.append(run_org(config, store, "R&D plans 2.4 and 2.5"))
            ship_and_slip(jira)
            result.passes.append(run_org(config, store, "2.4 released, 2.5 slipped"))
            result.passes.append(run_org(config, store, "repeat"))
            with store.unit() as unit:
                result.top_items = unit.top_links(config.org, 10)
                result.dead_letters = unit.audit.open_dead_letters(config.org, 10)
                result.milestones = [
                    (m, unit.waiting_accounts(config.org, m.milestone.id))
                    for m in unit.milestones.summaries(config.org)
                ]
        finally:
            store.dispose()
    return result
