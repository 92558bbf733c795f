"""Crash safety: SIGKILL the real CLI at every failpoint, restart it, and compare with a clean run.

Each scenario: sync feedback (HubSpot -> Jira), R&D puts items into a dated version, sync again (owner
alerts), sync once more. In the crashing variant one of those runs dies with SIGKILL at the named
failpoint and is simply restarted, like a container after an OOM kill. The end state must equal the
clean run's: every feedback group exactly one Jira issue, every ticket linked to the same item, every
alert exactly once, nothing pending.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from syncer.failpoints import POINTS
from tests.e2e.conftest import TOKEN

# reached only by the story's second run: alerts go out when a milestone moves, and a first sync has no
# account snapshot to refresh (it skips the account backlog), while the second refreshes a changed company
SECOND_RUN_POINTS = {"alerts.remote_done", "accounts.refreshed"}
SIGKILLED = -9


@dataclass
class Org:
    hubspot: HubSpotEmulator
    jira: JiraEmulator
    config_dir: Path
    env: dict[str, str]

    def run(self, failpoint: str | None = None) -> int:
        env = dict(self.env)
        if failpoint:
            env["SYNCER_FAILPOINT"] = failpoint
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "syncer",
                "run",
                "--org",
                "acme",
                "--config-dir",
                str(self.config_dir),
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode in (0, 1, SIGKILLED), done.stderr[-2000:]
        return done.returncode


def _start_org(config_dir: Path, database_url: str) -> tuple[Org, list[ServedApp]]:
    hubspot = HubSpotEmulator(token=TOKEN, search_per_second=50, burst_per_10s=10_000)
    hubspot.seed_demo(seed=5, companies=20, tickets=160)
    jira = JiraEmulator(token=TOKEN, burst_per_second=1_000)
    jira.seed_demo()
    crm, tracker = ServedApp(hubspot.app).start(), ServedApp(jira.app).start()
    config_dir.mkdir(parents=True)
    data = {
        "org": "acme",
        "crm": {"system": "hubspot", "base_url": crm.url, "token_env": "T", "overlap_seconds": 5},
        "tracker": {
            "system": "jira",
            "base_url": tracker.url,
            "email": "bot@example.com",
            "token_env": "T",
            "project": "PROD",
        },
        "sync": {"adopt_grace_seconds": 0, "create_batch_size": 10},
    }
    (config_dir / "acme.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        {
            "T": TOKEN,
            "SYNCER_DATABASE_URL": database_url,
            "SYNCER_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(Path.cwd()),
        }
    )
    return Org(hubspot, jira, config_dir, env), [crm, tracker]


@pytest.fixture(scope="module")
def clean_end_state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The end state of the story run without any crash (the reference; its database doesn't matter)."""
    workdir = tmp_path_factory.mktemp("clean")
    org, served = _start_org(workdir / "orgs", f"sqlite:///{workdir / 'clean.db'}")
    try:
        assert _scenario(org, None) is False
        return _end_state(org)
    finally:
        for app in served:
            app.stop()


def _scenario(org: Org, failpoint: str | None) -> bool:
    """Run the three-step story; crash once at `failpoint` if given. Returns whether a kill happened."""
    killed = False

    def run(point: str | None) -> None:
        nonlocal killed
        if point and org.run(point) == SIGKILLED:
            killed = True
        org.run()

    run(failpoint if failpoint not in SECOND_RUN_POINTS else None)
    summaries = sorted((i["fields"]["summary"], i["key"]) for i in org.jira.issues())
    for _, key in summaries[:3]:
        org.jira.set_fix_version(key, "2.5")
    org.jira.set_release_date("2.5", datetime.now(UTC).date() + timedelta(days=30))
    company = sorted(org.hubspot.ids("companies"), key=int)[0]
    org.hubspot.update_company(company, annualrevenue="4321000")  # sales updates a customer's ARR
    run(failpoint if failpoint in SECOND_RUN_POINTS else None)
    org.run()
    return killed


def _end_state(org: Org) -> dict[str, object]:
    issues = org.jira.issues()
    markers = Counter(lb for i in issues for lb in i["fields"]["labels"] if lb.startswith("syncer-"))
    marker_of = {
        i["key"]: next(lb for lb in i["fields"]["labels"] if lb.startswith("syncer-")) for i in issues
    }
    tickets = {t: org.hubspot.ticket(t) for t in org.hubspot.ids("tickets")}
    return {
        "issues": sorted((marker_of[i["key"]], i["fields"]["summary"]) for i in issues),
        "markers_once": all(n == 1 for n in markers.values()),
        "ticket_items": {t: marker_of.get(str(p.get("syncer_backlog_key"))) for t, p in tickets.items()},
        "alerts": sorted(
            Counter(t["properties"].get("syncer_alert_key") for t in org.hubspot.tasks()).items()
        ),
    }


@pytest.mark.parametrize("point", POINTS)
def test_crash_at_failpoint_then_restart_equals_a_clean_run(
    point: str, database_url: str, tmp_path: Path, clean_end_state: dict[str, object]
) -> None:
    org, served = _start_org(tmp_path / "orgs", database_url)
    try:
        assert _scenario(org, point), f"failpoint {point} was never reached"
        actual = _end_state(org)
    finally:
        for app in served:
            app.stop()

    assert actual["markers_once"] is True, "a backlog item was created twice"
    assert all(n == 1 for _, n in actual["alerts"]), "an alert was sent twice"  # type: ignore[attr-defined]
    assert actual == clean_end_state
