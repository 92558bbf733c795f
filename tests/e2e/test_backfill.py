"""`syncer backfill` as an admin runs it: a real subprocess against the emulators, over several pages.

Interrupted (Ctrl-C) or killed (SIGKILL at a failpoint), the same command resumes from its checkpoint
and ends where a clean backfill ends; `--until` bounds the window; a backfill never runs alongside
another run of the same org.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from syncer.state import StateStore
from tests.e2e.conftest import TOKEN

TICKETS = 450  # HubSpot search pages hold 200: three pages
SINCE = (datetime.now(UTC) - timedelta(days=120)).date().isoformat()
SIGKILLED = -signal.SIGKILL
INTERRUPTED = 130


@dataclass
class Portal:
    hubspot: HubSpotEmulator
    jira: JiraEmulator
    config_dir: Path
    env: dict[str, str]
    workdir: Path
    served: list[ServedApp] = field(default_factory=list)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "syncer", *args, "--config-dir", str(self.config_dir)]

    def syncer(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env={**self.env, **env},
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def backfill(self, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.syncer("backfill", "--org", "acme", "--since", SINCE, *extra, **env)

    def runs(self) -> list[dict[str, object]]:
        """The org's recorded runs, oldest first: kind, status and the pass's counts."""
        store = StateStore(self.env["SYNCER_DATABASE_URL"])
        try:
            with store.unit() as unit:
                runs = unit.audit.recent_runs("acme", 10)
        finally:
            store.dispose()
        return [{"kind": r.kind, "status": r.status, **r.counts} for r in reversed(runs)]


def _start(workdir: Path, database_url: str) -> Portal:
    hubspot = HubSpotEmulator(token=TOKEN, search_per_second=50, burst_per_10s=10_000)
    hubspot.seed_demo(seed=11, companies=20, tickets=TICKETS)
    jira = JiraEmulator(token=TOKEN, burst_per_second=1_000)
    jira.seed_demo()
    crm, tracker = ServedApp(hubspot.app).start(), ServedApp(jira.app).start()
    config_dir = workdir / "orgs"
    config_dir.mkdir(parents=True)
    data = {
        "org": "acme",
        "crm": {"system": "hubspot", "base_url": crm.url, "token_env": "ACME_TOKEN", "overlap_seconds": 5},
        "tracker": {
            "system": "jira",
            "base_url": tracker.url,
            "email": "bot@example.com",
            "token_env": "ACME_TOKEN",
            "project": "PROD",
        },
        "sync": {"adopt_grace_seconds": 0},
    }
    (config_dir / "acme.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        {
            "ACME_TOKEN": TOKEN,
            "SYNCER_DATABASE_URL": database_url,
            "SYNCER_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(Path.cwd()),
        }
    )
    return Portal(hubspot, jira, config_dir, env, workdir, [crm, tracker])


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    org = _start(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield org
    finally:
        for app in org.served:
            app.stop()


def _end_state(portal: Portal) -> dict[str, object]:
    issues = portal.jira.issues()
    marker_of = {
        i["key"]: next(lb for lb in i["fields"]["labels"] if lb.startswith("syncer-")) for i in issues
    }
    tickets = {t: portal.hubspot.ticket(t) for t in portal.hubspot.ids("tickets")}
    return {
        "issues": sorted((marker_of[i["key"]], i["fields"]["summary"]) for i in issues),
        "ticket_items": {t: marker_of.get(str(p.get("syncer_backlog_key"))) for t, p in tickets.items()},
    }


@pytest.fixture(scope="module")
def clean_backfill(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The end state of one uninterrupted backfill of the same portal (the reference)."""
    workdir = tmp_path_factory.mktemp("clean")
    org = _start(workdir, f"sqlite:///{workdir / 'clean.db'}")
    try:
        done = org.backfill("--json")
        assert done.returncode == 1, done.stderr[-2000:]  # the seeded orphan tickets are dead letters
        [run] = org.runs()
        assert run["feedback_pulled"] == TICKETS
        return _end_state(org)
    finally:
        for app in org.served:
            app.stop()


def _assert_like_a_clean_backfill(portal: Portal, clean: dict[str, object]) -> None:
    actual = _end_state(portal)
    markers = Counter(marker for marker, _ in actual["issues"])  # type: ignore[attr-defined]
    assert all(n == 1 for n in markers.values()), "a backlog item was created twice"
    linked = [t for t, marker in actual["ticket_items"].items() if marker]  # type: ignore[attr-defined]
    assert len(linked) > TICKETS // 2, "the backfill linked the feedback tickets"
    assert actual == clean


def test_backfill_resumes_from_its_checkpoint_after_ctrl_c_and_after_a_crash(
    portal: Portal, clean_backfill: dict[str, object]
) -> None:
    """Ctrl-C during the second page, then the rerun SIGKILLed after its first page, then a third run:
    each continues from the last committed page, and the end equals one clean backfill."""
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        portal.command("backfill", "--org", "acme", "--since", SINCE),
        env=portal.env,
        cwd=portal.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def ctrl_c_while_the_second_page_is_on_its_way(object_type: str, nth: int) -> None:
        if object_type == "tickets" and nth == 2:
            process.send_signal(signal.SIGINT)

    portal.hubspot.after_search = ctrl_c_while_the_second_page_is_on_its_way
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        portal.hubspot.after_search = None
    assert process.returncode == INTERRUPTED, stderr[-2000:]
    assert "run the same command again to resume" in stderr
    assert not portal.jira.issues(), "stopped in the pull: nothing created yet"

    killed = portal.backfill(SYNCER_FAILPOINT="pull.page_saved:1", SYNCER_LEASE_SECONDS="1")
    assert killed.returncode == SIGKILLED, killed.stderr[-2000:]
    time.sleep(1.2)  # the dead run's org lease expires (SYNCER_LEASE_SECONDS)

    finished = portal.backfill("--json")
    assert finished.returncode in (0, 1), finished.stderr[-2000:]  # 1: dead letters (seeded orphans)
    assert json.loads(finished.stdout)["passes"][0]["items_created"] > 0

    interrupted, crashed, last = portal.runs()
    assert interrupted["status"] == "interrupted"
    # stopped at the first page boundary after the signal: the first page (the second may already
    # have been fetched ahead while the first was stored) or the second
    assert 200 <= int(interrupted["feedback_pulled"]) <= 400  # type: ignore[call-overload]
    assert crashed["status"] == "running"  # SIGKILL: nothing recorded its end
    assert last["status"] in ("ok", "partial")
    assert 0 < int(last["feedback_pulled"]) < TICKETS - 200, "resumed from the checkpoint"  # type: ignore[call-overload]
    _assert_like_a_clean_backfill(portal, clean_backfill)


def test_backfill_until_reads_only_the_window(portal: Portal) -> None:
    until = datetime.now(UTC) - timedelta(days=60)
    modified = {
        t: datetime.fromisoformat(str(portal.hubspot.ticket(t)["hs_lastmodifieddate"]))
        for t in portal.hubspot.ids("tickets")
    }
    before = {t for t, stamp in modified.items() if stamp <= until}
    # the engine may bound the CRM query a little later to allow for vendor clock skew (a day at most)
    surely_after = {t for t, stamp in modified.items() if stamp > until + timedelta(days=1)}
    assert before
    assert surely_after

    done = portal.backfill("--until", until.strftime("%Y-%m-%dT%H:%M:%S"))
    assert done.returncode in (0, 1), done.stderr[-2000:]

    [run] = portal.runs()
    assert len(before) <= int(run["feedback_pulled"]) <= TICKETS - len(surely_after)  # type: ignore[call-overload]
    linked = {t for t in modified if portal.hubspot.ticket(t).get("syncer_backlog_key")}
    assert linked, "the window's feedback was synced"
    assert not linked & surely_after, "nothing changed after --until was read"


def test_backfill_until_before_since_is_a_usage_error() -> None:
    from typer.testing import CliRunner

    from syncer.cli import app

    done = CliRunner().invoke(
        app, ["backfill", "--org", "acme", "--since", "2024-02-01", "--until", "2024-01-01"]
    )
    assert done.exit_code == 2
    assert "must be after --since" in done.output


def test_backfill_while_a_scheduled_run_is_in_progress_does_nothing(portal: Portal) -> None:
    """The scheduled run holds the org's lease; the backfill says so, exits 1 and touches nothing."""
    inside, gate = threading.Event(), threading.Event()

    def hold_the_first_search(object_type: str, _nth: int) -> None:
        if object_type == "tickets" and not gate.is_set():
            inside.set()
            gate.wait(60)  # the scheduled run sits in its pull, lease held, until we let it go

    portal.hubspot.after_search = hold_the_first_search
    scheduled = subprocess.Popen(  # noqa: S603 - our own CLI
        portal.command("run", "--org", "acme"),
        env=portal.env,
        cwd=portal.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert inside.wait(60), "the scheduled run never reached HubSpot"
        searches = len(portal.hubspot.log.entries("POST", "/crm/v3/objects/tickets/search"))

        backfill = portal.backfill("--json")

        assert backfill.returncode == 1
        assert "another run of org acme is in progress" in backfill.stderr
        assert "try again when it has finished" in backfill.stderr
        assert backfill.stdout == ""
        assert len(portal.hubspot.log.entries("POST", "/crm/v3/objects/tickets/search")) == searches
    finally:
        scheduled.send_signal(signal.SIGTERM)  # stop it at its next checkpoint: this test is done with it
        gate.set()
        _, stderr = scheduled.communicate(timeout=120)
        portal.hubspot.after_search = None
    assert scheduled.returncode == INTERRUPTED, stderr[-2000:]
    assert [(r["kind"], r["status"]) for r in portal.runs()] == [("run", "interrupted")], "no backfill ran"
