"""`syncer demo`: bundled emulators, seeded data, real HTTP, SQLite — and nothing to set up.

Any CRM-TRACKER pair runs the same seven passes: first sync; repeat (nothing changes); one feedback
record edited (exactly one item updated); repeat; R&D plans the most requested items into 2.4 and 2.5
(owners get `scheduled` alerts); 2.4 ships and 2.5 slips 45 days (`released`/`kept`, `slipped`/
`at_risk`, once); repeat (nothing changes).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from adapters.emulation import ServedApp
from syncer.config import OrgConfig, parse_org_config
from syncer.counts import PassCounts
from syncer.demo_systems import SCENARIOS, TOKEN, CrmDemo, TrackerDemo, crm_demo, today, tracker_demo
from syncer.service import open_store, run_org
from syncer.state import DeadLetter, Link, StateStore
from syncer.state.milestone_repo import MilestoneSummary

__all__ = ["SCENARIOS", "DemoResult", "run_demo"]

INDEX_LAG_S = 0.6  # the emulated search indexes lag behind writes, as the vendors' do


@dataclass
class DemoResult:
    scenario: str = "hubspot-jira"
    passes: list[PassCounts] = field(default_factory=list)
    top_items: list[Link] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    tickets: int = 0
    companies: int = 0
    edited_ticket: str = ""
    planned: dict[str, list[str]] = field(default_factory=dict)
    milestones: list[tuple[MilestoneSummary, int]] = field(default_factory=list)
    alert_keys: list[str] = field(default_factory=list)  # as the CRM holds them at the end
    tracker_items: int = 0  # backlog items in the tracker at the end


def demo_config(
    workdir: Path, crm: CrmDemo, crm_url: str, tracker: TrackerDemo, tracker_url: str
) -> OrgConfig:
    """The org config the demo uses; tokens go through secret files, exactly like production."""
    token_file = workdir / "demo-token"
    token_file.write_text(TOKEN, encoding="utf-8")
    data = {
        "org": "demo",
        "crm": crm.section(crm_url, token_file),
        "tracker": tracker.section(tracker_url, token_file),
        "sync": {"adopt_grace_seconds": 5},
        **getattr(crm, "extras", dict)(),
    }
    return parse_org_config(workdir / "demo.yaml", data)


def plan_releases(tracker: TrackerDemo, store: StateStore, org: str) -> dict[str, list[str]]:
    """What R&D does: put the most requested items into 2.4 (dated) and 2.5 (which gets a date)."""
    with store.unit() as unit:
        top = [link.item_key for link in unit.links.top(org, 8)]
    plan = {"2.4": top[:4], "2.5": top[4:8]}
    tracker.set_due("2.4", today() + timedelta(days=14))
    for version, keys in plan.items():
        for key in keys:
            tracker.plan(key, version)
    tracker.set_due("2.5", today() + timedelta(days=30))
    return plan


def ship_and_slip(tracker: TrackerDemo) -> None:
    """2.4 ships today; 2.5 moves 45 days later (past some promises made to customers)."""
    tracker.release("2.4", today())
    tracker.set_due("2.5", today() + timedelta(days=75))


PASSES = 7  # first, repeat, one edit, repeat, planning, release + slip, repeat


def run_demo(
    scenario: str = "hubspot-jira",
    seed: int = 7,
    database_url: str | None = None,
    *,
    small: bool = False,
    on_pass: Callable[[PassCounts], None] | None = None,
) -> DemoResult:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    crm_name, tracker_name = scenario.split("-")
    crm, tracker = crm_demo(crm_name, seed, small=small), tracker_demo(tracker_name)
    companies, tickets = crm.counts()
    result = DemoResult(scenario=scenario, tickets=tickets, companies=companies)
    with (
        tempfile.TemporaryDirectory(prefix="syncer-demo-") as tmp,
        ServedApp(crm.app) as crm_served,
        ServedApp(tracker.app) as tracker_served,
    ):
        workdir = Path(tmp)
        config = demo_config(workdir, crm, crm_served.url, tracker, tracker_served.url)
        store = open_store(database_url or f"sqlite:///{workdir / 'demo.db'}")

        def sync(name: str) -> None:
            counts = run_org(config, store, name)
            result.passes.append(counts)
            if on_pass:
                on_pass(counts)

        try:
            sync("first sync")
            sync("repeat")
            result.edited_ticket = crm.edit_one_linked()
            time.sleep(INDEX_LAG_S)
            sync("one record edited")
            sync("repeat")
            result.planned = plan_releases(tracker, store, config.org)
            time.sleep(INDEX_LAG_S)
            sync("R&D plans 2.4 and 2.5")
            ship_and_slip(tracker)
            sync("2.4 released, 2.5 slipped")
            sync("repeat")
            result.alert_keys, result.tracker_items = crm.alert_keys(), tracker.item_count()
            with store.unit() as unit:
                result.top_items = unit.links.top(config.org, 10)
                result.dead_letters = unit.audit.open_dead_letters(config.org, 10)
                result.milestones = [
                    (m, unit.waiting_accounts(config.org, m.milestone.id))
                    for m in unit.milestones.summaries(config.org)
                ]
        finally:
            store.dispose()
    return result
