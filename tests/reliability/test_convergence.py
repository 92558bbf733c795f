"""Convergence: random interleavings of CRM edits, tracker edits and runs (some of them crashing at a
failpoint) end in the same state as one clean run over the final data.

Each example builds a small world (HubSpot and Jira emulators, 6 companies, 30 tickets, a fresh SQLite
state store), plays a random list of steps, then settles with two fault-free runs and checks against
the final CRM data: one Jira issue per feedback group, every ticket linked to its group's issue, the
revenue roll-up right (0 accounts on items whose group emptied), nothing pending, no alert twice, and
a further run changes nothing. A second world gets only the CRM edits and one run; every live item's
description, priority and roll-up must equal the first world's.

A crash is an in-process failpoint raising `Crash` at the n-th hit of one named point (which a run may
never reach) or at the n-th failpoint of any name; the engine only catches `SyncError`, so it leaves
the state store and both vendors as a kill would (apart from the `runs` row). Examples are
derandomized (the same 12 every time, about 30 s) and three explicit ones pin the crash windows that
matter most: items created, and alerts sent, just before a crash. SQLite only: the store's behaviour
on PostgreSQL is covered by tests/reliability/test_crash.py and the e2e suite.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.hubspot.seed import FEATURES
from adapters.jira.emulator import JiraEmulator
from mappings.feedback import FeedbackFilter, group_key, is_product_feedback
from mappings.models import Feedback
from syncer.config import OrgConfig, RateLimitConfig
from syncer.counts import PassCounts
from syncer.failpoints import POINTS, Failpoint
from syncer.records import marker_for
from syncer.service import run_org
from syncer.state import StateStore
from tests.e2e.conftest import TOKEN, Stack

SEED = 11
FEATURE = "FEATURE_REQUEST"
# a few seeded features (some spelled differently, so the fingerprint must collapse them) and two
# brand-new ones, so that edits both merge groups and empty them
SUBJECTS = (
    *FEATURES[:4],
    "FR: export REPORTS to csv!",
    FEATURES[32],
    "Brand new: offline sync",
    "Usage-based billing",
)
URGENCIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
STATUSES = ("To Do", "In Progress", "Done")
RULE = FeedbackFilter(categories=(FEATURE,))
ANY_POINT = "*"
_TICKET_REF = re.compile(r"(?<=#)\d+|(?<=/ticket/)\d+")


class Crash(Exception):  # noqa: N818 - a simulated kill, not an error condition
    """Raised by the failpoint: propagates through the engine like a SIGKILL would stop it."""


@dataclass(frozen=True)
class Step:
    kind: str
    index: int = 0  # ticket, company or issue, modulo how many exist when the step runs
    value: str = ""
    number: int = 0


CRM_KINDS = frozenset({"body", "urgency", "subject", "category", "hint", "add"})

_crm_steps = st.one_of(
    st.builds(Step, st.just("body"), st.integers(0, 99), number=st.integers(0, 9)),
    st.builds(Step, st.just("urgency"), st.integers(0, 99), st.sampled_from(URGENCIES)),
    st.builds(Step, st.just("subject"), st.integers(0, 99), st.sampled_from(SUBJECTS)),
    st.builds(Step, st.just("category"), st.integers(0, 99), st.sampled_from((FEATURE, "GENERAL_INQUIRY"))),
    st.builds(Step, st.just("hint"), st.integers(0, 99), st.sampled_from(("FR-0001", "fr-0002", ""))),
    st.builds(Step, st.just("add"), st.integers(0, 99), st.sampled_from(SUBJECTS)),
)
_tracker_steps = st.one_of(
    st.builds(Step, st.just("transition"), st.integers(0, 99), st.sampled_from(STATUSES)),
    st.builds(Step, st.just("fix_version"), st.integers(0, 99)),
    st.builds(Step, st.just("release_date"), number=st.integers(-3, 60)),
    st.builds(Step, st.just("release"), number=st.integers(-3, 3)),
)
# a crash at the n-th hit of one failpoint (which may never come), or at the n-th failpoint of any name
_crash_at_point = st.builds(Step, st.just("crash"), st.integers(1, 3), st.sampled_from(POINTS))
_crash_anywhere = st.builds(Step, st.just("crash"), st.integers(1, 12), st.just(ANY_POINT))
_run_steps = st.one_of(_crash_at_point, _crash_anywhere, st.just(Step("run")))
# rounds of a few edits followed by a run (which may crash), flattened into one list of steps
STEPS = st.lists(
    st.tuples(st.lists(st.one_of(_crm_steps, _tracker_steps), max_size=4), _run_steps),
    min_size=2,
    max_size=5,
).map(lambda rounds: [step for edits, run in rounds for step in (*edits, run)])


@dataclass
class World:
    stack: Stack
    store: StateStore
    config: OrgConfig

    def run(self, name: str, crash: Step | None = None) -> PassCounts | None:
        if crash is None:
            return run_org(self.config, self.store, name)
        try:
            return run_org(self.config, self.store, name, failpoint=_crash_at(crash.value, crash.index))
        except Crash as crashed:
            if currently_in_test_context():  # the statistics show which crashes were reached
                event(f"crashed at {crashed}")
            return None

    def tickets(self) -> list[str]:
        return sorted(self.stack.hubspot.ids("tickets"), key=int)


@contextmanager
def _world(workdir: Path) -> Iterator[World]:
    workdir.mkdir()
    hubspot = HubSpotEmulator(token=TOKEN, search_per_second=50, burst_per_10s=10_000)
    hubspot.seed_demo(seed=SEED, companies=6, tickets=30)
    jira = JiraEmulator(token=TOKEN, burst_per_second=1_000)
    jira.seed_demo()
    store = StateStore(f"sqlite:///{workdir / 'state.db'}")
    store.migrate()
    try:
        with ServedApp(hubspot.app) as crm, ServedApp(jira.app) as tracker:
            stack = Stack(hubspot, jira, crm.url, tracker.url, workdir)
            yield World(stack, store, _fast(stack.config(create_batch_size=4)))
    finally:
        store.dispose()


def _fast(config: OrgConfig) -> OrgConfig:
    """The emulators allow far more than the vendors: lift the client-side token buckets."""
    fast = {name: RateLimitConfig(requests=1_000, per_seconds=1) for name in ("default", "search")}
    return config.model_copy(
        update={
            "crm": config.crm.model_copy(update={"rate_limits": fast}),
            "tracker": config.tracker.model_copy(update={"rate_limits": fast}),
        }
    )


def _crash_at(point: str, nth: int) -> Failpoint:
    remaining = [nth]

    def hit(name: str) -> None:
        if point in (name, ANY_POINT):
            remaining[0] -= 1
            if remaining[0] == 0:
                raise Crash(name)

    return hit


def _apply_crm(world: World, step: Step) -> None:
    """One sales edit; indices resolve against the current tickets, so replaying gives the same data."""
    hubspot = world.stack.hubspot
    if step.kind == "add":
        companies = sorted(hubspot.ids("companies"), key=int)
        props = {
            "subject": step.value,
            "content": f"New request for {step.value}",
            "hs_ticket_category": FEATURE,
        }
        hubspot.add_ticket({**props, "hs_ticket_priority": "MEDIUM"}, companies[step.index % len(companies)])
        return
    tickets = world.tickets()
    ticket = tickets[step.index % len(tickets)]
    edits = {
        "body": {"content": f"Revised need #{step.number}: we still want this."},
        "urgency": {"hs_ticket_priority": step.value},
        "subject": {"subject": step.value},
        "category": {"hs_ticket_category": step.value},
        "hint": {"feature_request_id": step.value},
    }[step.kind]
    hubspot.update_ticket(ticket, **edits)


def _apply_tracker(world: World, step: Step) -> None:
    """One R&D edit: move an issue, plan it into 2.5, (re)schedule 2.5 or release it."""
    jira = world.stack.jira
    today = datetime.now(UTC).date()
    if step.kind == "release_date":
        jira.set_release_date("2.5", today + timedelta(days=step.number))
        return
    if step.kind == "release":
        jira.release_version("2.5", today + timedelta(days=step.number))
        return
    keys = sorted((i["key"] for i in jira.issues()), key=lambda k: int(k.split("-")[1]))
    if not keys:
        return
    key = keys[step.index % len(keys)]
    if step.kind == "transition":
        jira.transition(key, step.value)
    else:
        jira.set_fix_version(key, "2.5")


def _play(world: World, steps: Sequence[Step]) -> None:
    for n, step in enumerate(steps):
        if step.kind in CRM_KINDS:
            _apply_crm(world, step)
        elif step.kind in ("run", "crash"):
            world.run(f"step-{n}", step if step.kind == "crash" else None)
        else:
            _apply_tracker(world, step)


def _companies_of(world: World, tickets: Sequence[str]) -> dict[str, str]:
    """Each ticket's company, read through the CRM's public association API (not the engine's code)."""
    response = httpx.post(
        f"{world.stack.hubspot_url}/crm/v4/associations/tickets/companies/batch/read",
        json={"inputs": [{"id": t} for t in tickets]},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    return {str(r["from"]["id"]): str(r["to"][0]["toObjectId"]) for r in response.json()["results"]}


def _expected_groups(world: World) -> dict[str, dict[str, str]]:
    """Group key -> {ticket id: company id} over the final feature tickets that have a company."""
    hubspot, tickets = world.stack.hubspot, world.tickets()
    companies = _companies_of(world, tickets)
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    for ticket_id in tickets:
        props = hubspot.ticket(ticket_id)
        fb = Feedback(
            system="hubspot",
            id=ticket_id,
            updated_at=datetime.now(UTC),
            account_id=companies.get(ticket_id),
            title=(props.get("subject") or "").strip(),
            category=(props.get("hs_ticket_category") or "").strip(),
            group_hint=(props.get("feature_request_id") or "").strip() or None,
        )
        if fb.account_id and is_product_feedback(fb, RULE):
            groups[group_key(fb)][ticket_id] = fb.account_id
    return dict(groups)


def _issues_by_marker(world: World) -> dict[str, dict[str, Any]]:
    issues = world.stack.jira.issues()
    labels = Counter(lb for i in issues for lb in i["fields"]["labels"] if lb.startswith("syncer-"))
    twice = sorted(lb for lb, n in labels.items() if n > 1)
    assert not twice, f"markers on more than one issue: {twice}"
    return {lb: i for i in issues for lb in i["fields"]["labels"] if lb.startswith("syncer-")}


def _label(key: str) -> str:
    return "syncer-" + marker_for("acme", key)


def _assert_converged(world: World, groups: dict[str, dict[str, str]]) -> None:
    issues = _issues_by_marker(world)
    for key, members in groups.items():
        label = _label(key)
        assert label in issues, f"group {key} ({sorted(members)}) has no issue"
        issue = issues[label]
        assert issue["fields"]["customfield_10050"] == len(set(members.values())), key
        for ticket_id in members:
            shown = world.stack.hubspot.ticket(ticket_id).get("syncer_backlog_key")
            assert shown == issue["key"], (
                f"ticket {ticket_id} shows {shown}, its group's item is {issue['key']}"
            )
    live = {_label(k) for k in groups}
    for label, issue in issues.items():
        if label not in live:
            assert issue["fields"]["customfield_10050"] == 0, (
                f"{issue['key']} lost its group but shows accounts"
            )
    with world.store.unit() as unit:
        assert unit.pending_group_count("acme") == 0
    alert_keys = Counter(t["properties"].get("syncer_alert_key") for t in world.stack.hubspot.tasks())
    assert all(n == 1 for n in alert_keys.values()), f"alerts sent twice: {alert_keys}"


def _comparable(issue: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """What must equal between worlds; ticket ids are translated (tasks take ids from the same counter)."""
    fields = issue["fields"]
    description = _TICKET_REF.sub(lambda m: ids.get(m.group(0), m.group(0)), str(fields["description"]))
    return {
        "description": description,
        "priority": fields["priority"]["name"],
        "accounts": fields["customfield_10050"],
        "arr": fields["customfield_10051"],
        "open_deals": fields["customfield_10052"],
    }


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
# the adoption of items created just before a crash, and of alerts sent just before one
@example(steps=[Step("crash", 2, "create.remote_done"), Step("run")])
@example(
    steps=[
        Step("run"),
        *(Step("fix_version", n) for n in range(3)),
        Step("release_date", number=30),
        Step("crash", 1, "alerts.remote_done"),
        Step("run"),
    ]
)
# an item created just before a crash whose group empties before the next run
@example(
    steps=[Step("crash", 1, "create.remote_done"), Step("subject", 3, "Usage-based billing"), Step("run")]
)
def test_convergence_random_edits_runs_and_crashes_equal_one_clean_run(steps: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as tmp, _world(Path(tmp) / "a") as world:
        _play(world, steps)
        world.run("settle-1")
        world.run("settle-2")
        groups = _expected_groups(world)
        _assert_converged(world, groups)
        again = world.run("again")
        assert again is not None
        assert (again.items_created, again.items_updated, again.alerts_created) == (0, 0, 0)
        issues_a, tickets_a = _issues_by_marker(world), world.tickets()

        with _world(Path(tmp) / "b") as clean:
            for step in steps:
                if step.kind in CRM_KINDS:
                    _apply_crm(clean, step)
            clean.run("clean")
            _assert_converged(clean, _expected_groups(clean))
            issues_b, tickets_b = _issues_by_marker(clean), clean.tickets()

    ids = dict(zip(tickets_b, tickets_a, strict=True))
    for key in groups:
        label = _label(key)
        assert _comparable(issues_a[label], {}) == _comparable(issues_b[label], ids), key
