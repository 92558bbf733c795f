"""The whole engine against the HubSpot and Jira emulators, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from mappings.models import BacklogDraft, WriteResult
from syncer.engine import Engine
from syncer.service import run_org
from syncer.state import StateStore
from syncer.wiring import build_adapters
from tests.e2e.conftest import Stack


def _feature_tickets(stack: Stack) -> list[dict[str, str | None]]:
    tickets = [stack.hubspot.ticket(t) for t in stack.hubspot.ids("tickets")]
    return [t for t in tickets if t.get("hs_ticket_category") == "FEATURE_REQUEST"]


def _marker_labels(stack: Stack) -> Counter[str]:
    return Counter(
        label
        for issue in stack.jira.issues()
        for label in issue["fields"]["labels"]
        if label.startswith("syncer-")
    )


def test_sync_first_run_groups_feedback_into_fewer_items(stack: Stack, store: StateStore) -> None:
    counts = run_org(stack.config(), store, "first")

    issues = stack.jira.issues()
    features = _feature_tickets(stack)
    assert 0 < counts.items_created == len(issues) < len(features)
    assert all(n == 1 for n in _marker_labels(stack).values()), "an item was created twice"
    keys = {issue["key"] for issue in issues}
    linked = [t for t in features if t.get("syncer_backlog_key")]
    assert len(linked) >= len(features) - counts.dead_letters
    assert {t["syncer_backlog_key"] for t in linked} == keys  # every item answers at least one ticket
    with store.unit() as unit:
        assert unit.links.count("acme") == len(issues)
        top = unit.links.top("acme", 1)[0]
    assert top.account_count > 1, "the most requested item should gather several customers"
    assert stack.jira.issue(top.item_key)["fields"]["customfield_10050"] == top.account_count


def test_sync_second_run_changes_nothing(stack: Stack, store: StateStore) -> None:
    run_org(stack.config(), store, "first")
    stack.jira.log.clear()
    again = run_org(stack.config(), store, "again")
    assert (again.items_created, again.items_updated, again.links_written) == (0, 0, 0)
    assert stack.jira.log.count("POST") == 0
    assert stack.jira.log.count("PUT") == 0


def test_sync_one_edit_updates_exactly_one_issue(stack: Stack, store: StateStore) -> None:
    run_org(stack.config(), store, "first")
    ticket_id = next(t["hs_object_id"] for t in _feature_tickets(stack) if t.get("syncer_backlog_key"))
    assert ticket_id is not None
    key = stack.hubspot.ticket(ticket_id)["syncer_backlog_key"]
    stack.hubspot.update_ticket(ticket_id, content="We now need this before our audit in March.")
    stack.jira.log.clear()

    counts = run_org(stack.config(), store, "edit")

    assert (counts.items_created, counts.items_updated) == (0, 1)
    writes = [r for r in stack.jira.log.entries() if r.method in ("POST", "PUT")]
    assert [(r.method, r.path) for r in writes] == [("PUT", f"/rest/api/3/issue/{key}")]
    assert "before our audit in March" in str(stack.jira.issue(str(key))["fields"]["description"])


class _CrashAfterCreate:
    """Wraps a tracker: the create reaches the vendor, then the process 'dies' before state is saved."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.system = "jira"

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        self._inner.create_items(drafts)  # type: ignore[attr-defined]
        raise RuntimeError("killed after the remote create")


def test_sync_adopts_items_created_before_a_crash(stack: Stack, store: StateStore) -> None:
    config = stack.config()
    adapters = build_adapters(config)
    crashing = _CrashAfterCreate(adapters.tracker)
    engine = Engine(config, store, adapters.crm, adapters.crm, crashing, adapters.tracker, adapters.crm)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="killed"):
        engine.run("crashing")
    adapters.close()
    created_before = len(stack.jira.issues())
    assert created_before > 0

    counts = run_org(config, store, "recovery")

    assert counts.items_adopted > 0
    assert all(n == 1 for n in _marker_labels(stack).values()), "recovery created a duplicate"
    with store.unit() as unit:
        assert unit.links.count("acme") == len(stack.jira.issues())
        assert unit.pending_group_count("acme") == 0


def test_sync_defers_unfinished_create_within_grace(stack: Stack, store: StateStore) -> None:
    config = stack.config(adopt_grace_seconds=3600)
    stack.jira.search_lag_s = 3600  # the created issues are not searchable yet
    adapters = build_adapters(config)
    engine = Engine(
        config,
        store,
        adapters.crm,
        adapters.crm,
        _CrashAfterCreate(adapters.tracker),
        adapters.tracker,
        adapters.crm,
    )  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        engine.run("crashing")
    adapters.close()
    before = len(stack.jira.issues())

    counts = run_org(config, store, "too soon")

    assert counts.items_deferred > 0
    assert len(stack.jira.issues()) == before, "re-created an item whose create may have landed"


def test_sync_dead_letters_feedback_without_company_and_goes_on(stack: Stack, store: StateStore) -> None:
    orphan = stack.hubspot.add_ticket(
        {"subject": "Offline mode", "content": "Needs offline mode", "hs_ticket_category": "FEATURE_REQUEST"}
    )
    counts = run_org(stack.config(), store, "first")
    assert counts.items_created > 0
    with store.unit() as unit:
        letters = {d.record_id: d for d in unit.audit.open_dead_letters("acme", 500)}
    assert "no associated account/company" in letters[orphan].reason
    time.sleep(0.01)
    assert run_org(stack.config(), store, "again").dead_letters == 0  # not counted again: unchanged


def test_sync_backfill_is_resumable_from_its_checkpoint(stack: Stack, store: StateStore) -> None:
    since = datetime.now(UTC) - timedelta(days=365)
    first = run_org(stack.config(), store, "backfill", since=since)
    assert first.items_created == len(stack.jira.issues()) > 0
    with store.unit() as unit:
        checkpoint = unit.get_cursor("acme", f"backfill:{since.date().isoformat()}")
    assert checkpoint is not None

    again = run_org(stack.config(), store, "backfill", since=since)

    assert again.feedback_pulled < first.feedback_pulled  # resumed near its checkpoint, not from `since`
    assert (again.items_created, again.items_updated) == (0, 0)


def test_sync_tracker_outage_fails_the_run_and_the_next_run_recovers(stack: Stack, store: StateStore) -> None:
    stack.jira.faults.path_prefix = "/rest/api/3/issue/bulk"
    stack.jira.faults.statuses.extend([502])

    failed = run_org(stack.config(), store, "outage")

    assert failed.errors
    assert "502" in failed.errors[0]
    assert stack.jira.issues() == []
    recovered = run_org(stack.config(), store, "recovered")
    assert recovered.items_created > 0
    assert not recovered.errors
    assert all(n == 1 for n in _marker_labels(stack).values())
    with store.unit() as unit:
        assert unit.links.count("acme") == len(stack.jira.issues())


def test_retry_replays_a_dead_letter_after_the_cause_is_fixed(stack: Stack, store: StateStore) -> None:
    month_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    orphan = stack.hubspot.add_ticket(
        {
            "subject": "Export reports to CSV",
            "content": "Finance needs it",
            "hs_ticket_category": "FEATURE_REQUEST",
            "createdate": month_ago,
            "hs_lastmodifieddate": month_ago,
        }
    )
    run_org(stack.config(), store, "first")
    with store.unit() as unit:
        assert orphan in {d.record_id for d in unit.audit.open_dead_letters("acme", 500)}
    company = stack.hubspot.ids("companies")[0]
    stack.hubspot.associate(
        "tickets", orphan, "companies", company
    )  # the fix; the ticket itself is unchanged

    assert (
        run_org(stack.config(), store, "plain run").feedback_changed == 0
    )  # an incremental pull can't see it
    retried = run_org(stack.config(), store, "retry", replay_dead_letters=True)

    assert retried.dead_letters_replayed >= 1
    assert stack.hubspot.ticket(orphan)["syncer_backlog_key"], "the replayed ticket is now linked"
    with store.unit() as unit:
        assert orphan not in {d.record_id for d in unit.audit.open_dead_letters("acme", 500)}
    assert all(n == 1 for n in _marker_labels(stack).values())


def test_sync_a_regrouped_ticket_updates_both_items_and_an_emptied_item_says_so(
    stack: Stack, store: StateStore
) -> None:
    company = stack.hubspot.ids("companies")[0]
    lone = stack.hubspot.add_ticket(
        {
            "subject": "Quantum teleport export",
            "content": "only we ask",
            "hs_ticket_category": "FEATURE_REQUEST",
        },
        company,
    )
    run_org(stack.config(), store, "first")
    lone_key = str(stack.hubspot.ticket(lone)["syncer_backlog_key"])
    big_key = _top_key(store)
    big_ticket = next(t for t in _feature_tickets(stack) if t.get("syncer_backlog_key") == big_key)
    big_accounts = stack.jira.issue(big_key)["fields"]["customfield_10050"]

    stack.hubspot.update_ticket(lone, subject=str(big_ticket["subject"]))  # now asks for the big item
    counts = run_org(stack.config(), store, "regrouped")

    assert counts.items_created == 0
    assert stack.hubspot.ticket(lone)["syncer_backlog_key"] == big_key
    assert "No customer request is linked to this item any more" in str(stack.jira.issue(lone_key)["fields"])
    assert stack.jira.issue(lone_key)["fields"]["customfield_10050"] == 0
    assert stack.jira.issue(big_key)["fields"]["customfield_10050"] >= big_accounts
    with store.unit() as unit:
        assert unit.pending_group_count("acme") == 0


def test_sync_feedback_reclassified_away_leaves_its_item(stack: Stack, store: StateStore) -> None:
    run_org(stack.config(), store, "first")
    key = _top_key(store)
    before = stack.jira.issue(key)["fields"]["customfield_10050"]
    members = [t for t in _feature_tickets(stack) if t.get("syncer_backlog_key") == key]
    for ticket in members:
        stack.hubspot.update_ticket(str(ticket["hs_object_id"]), hs_ticket_category="BILLING_ISSUE")

    run_org(stack.config(), store, "reclassified")

    assert stack.jira.issue(key)["fields"]["customfield_10050"] == 0 < before


def _top_key(store: StateStore) -> str:
    with store.unit() as unit:
        return unit.links.top("acme", 1)[0].item_key


def test_sync_a_second_concurrent_run_of_the_same_org_is_skipped(stack: Stack, store: StateStore) -> None:
    from syncer.state.lease import OrgLease

    busy = OrgLease(store, "acme", "someone-else")
    assert busy.acquire()
    skipped = run_org(stack.config(), store, "concurrent")
    assert skipped.skipped is not None
    assert "someone-else" in skipped.skipped
    assert stack.jira.issues() == []
    busy.release()
    assert run_org(stack.config(), store, "after").items_created > 0


def test_sync_a_requested_stop_ends_the_pass_cleanly_and_the_next_run_finishes(
    stack: Stack, store: StateStore
) -> None:
    from syncer.engine import Engine

    config = stack.config(create_batch_size=10)
    adapters = build_adapters(config)
    stops = iter([False, False, True])  # stop at the third safe boundary
    engine = Engine(
        config,
        store,
        adapters.crm,
        adapters.crm,
        adapters.tracker,
        adapters.tracker,
        adapters.crm,
        stop=lambda: next(stops, True),
    )
    interrupted = engine.run("sigterm")
    adapters.close()
    assert interrupted.interrupted
    assert not interrupted.errors

    finished = run_org(config, store, "next")

    assert not finished.interrupted
    assert all(n == 1 for n in _marker_labels(stack).values())
    with store.unit() as unit:
        assert unit.links.count("acme") == len(stack.jira.issues())
        assert unit.pending_group_count("acme") == 0
