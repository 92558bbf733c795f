"""`syncer demo`: bundled emulators, seeded data, real HTTP, SQLite — and nothing to set up."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from syncer.config import OrgConfig, parse_org_config
from syncer.counts import PassCounts
from syncer.service import open_store, run_org
from syncer.state import DeadLetter, Link

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
            "fields": {"accounts": "customfield_10050", "arr": "customfield_10051"},
        },
        "sync": {"adopt_grace_seconds": 5},
    }
    return parse_org_config(workdir / "demo.yaml", data)


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
            with store.unit() as unit:
                result.top_items = unit.top_links(config.org, 10)
                result.dead_letters = unit.open_dead_letters(config.org, 10)
        finally:
            store.dispose()
    return result
