"""RedmineTracker against a real Redmine (Debian packages, SQLite, thin) started by scripts/redmine-local.sh.

The script installs Redmine when it is missing (needs root and the Debian mirror; ~40 s), starts it
(~8 s) and prints `URL APIKEY CUSTOM_FIELD_ID`. When it cannot, the test is skipped with the reason,
except under CI=true, where a missing Redmine is a failure.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from adapters.http import HttpClient, RateLimit
from adapters.redmine.client import RedmineSettings, RedmineTracker
from adapters.redmine.records import parse_time
from mappings.models import BacklogDraft, Cursor, ItemStatus, MilestoneState, Priority

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "redmine-local.sh"
PORT = os.environ.get("REDMINE_PORT", "3301")


def _was_running() -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{PORT}/", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def redmine() -> Iterator[tuple[str, str, int]]:
    already = _was_running()
    env = {**os.environ, "REDMINE_PORT": PORT}
    try:
        done = subprocess.run(  # noqa: S603 - our own script
            [str(SCRIPT), "start"], capture_output=True, text=True, timeout=900, env=env, check=False
        )
        reason = f"exit {done.returncode}: {done.stderr.strip()[-400:]}"
        words = done.stdout.split()
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason, words = str(exc), []
    if len(words) != 3:
        if os.environ.get("CI") == "true":
            pytest.fail(f"real Redmine could not be started: {reason}")
        pytest.skip(f"real Redmine could not be started here: {reason}")
    url, key, field_id = words
    yield url, key, int(field_id)
    if not already:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, env=env, timeout=60, check=False)  # noqa: S603


def test_tracker_against_real_redmine(redmine: tuple[str, str, int]) -> None:
    url, key, field_id = redmine
    http = HttpClient(
        url, system="redmine", headers={"X-Redmine-API-Key": key}, limits={"default": RateLimit(50.0, 50)}
    )
    tracker = RedmineTracker(http, RedmineSettings(project="product", marker_field_id=field_id, tracker_id=2))
    run = uuid.uuid4().hex[:10]

    # versions: one planned with a date, one closed (released)
    due = datetime.now(UTC).date() + timedelta(days=30)
    names = (f"v{run}-a", f"v{run}-b")
    created = [
        http.post_json(
            "/projects/product/versions.json", {"version": {"name": n, "due_date": due.isoformat()}}
        )
        for n in names
    ]
    closed_id = created[1]["version"]["id"]
    http.request("PUT", f"/versions/{closed_id}.json", json_body={"version": {"status": "closed"}})
    milestones = {m.name: m for m in tracker.list_milestones()}
    assert (milestones[names[0]].due, milestones[names[0]].state) == (due, MilestoneState.PLANNED)
    assert milestones[names[1]].state is MilestoneState.RELEASED

    # create with markers, one refused with 422
    # the server's clock (thin sends no Date header), a second back: it filters by the whole second
    start = Cursor(parse_time(created[1]["version"]["created_on"]) - timedelta(seconds=1))
    drafts = [
        (f"{run}-{n}", BacklogDraft(title=f"Real request {n}", body=f"Body {n}", priority=Priority.HIGH))
        for n in range(3)
    ]
    results = tracker.create_items([*drafts, (f"{run}-bad", BacklogDraft(title=" ", body="x"))])
    assert [r.error is None for r in results] == [True, True, True, False]
    assert results[3].error is not None
    assert "Subject" in results[3].error
    items = [r.item for r in results[:3] if r.item]
    assert [i.marker for i in items] == [m for m, _ in drafts]
    assert all(i.priority is Priority.HIGH for i in items)

    # find (closed ones too)
    http.request("PUT", f"/issues/{items[1].key}.json", json_body={"issue": {"status_id": 6}})
    found = tracker.find_by_markers([m for m, _ in drafts] + [f"{run}-missing"])
    assert sorted(found) == sorted(m for m, _ in drafts)
    assert found[drafts[1][0]].status is ItemStatus.WONT_DO

    # update: description and priority only; the target version set by R&D survives
    open_id = created[0]["version"]["id"]
    http.request("PUT", f"/issues/{items[0].key}.json", json_body={"issue": {"fixed_version_id": open_id}})
    updated = tracker.update_item(
        items[0].key, BacklogDraft(title="ignored", body="New body", priority=Priority.LOW)
    )
    assert (updated.body, updated.priority, updated.title, updated.milestone) == (
        "New body",
        Priority.LOW,
        "Real request 0",
        names[0],
    )

    # pull changes since before the creates: all three, ascending, small pages
    small = RedmineTracker(
        http, RedmineSettings(project="product", marker_field_id=field_id, tracker_id=2, page_size=2)
    )
    pulled = [i for page in small.iter_changed_items(start) for i in page.items]
    mine = [i for i in pulled if i.marker and i.marker.startswith(run)]
    assert sorted(i.key for i in mine) == sorted(i.key for i in items)
    assert len({(i.id, i.updated_at) for i in pulled}) == len(pulled)
    # Redmine sorts by the stored microseconds, then id: whole-second stamps never go backwards
    stamps = [i.updated_at for i in pulled]
    assert stamps == sorted(stamps)
    http.close()
