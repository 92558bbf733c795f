"""Issue 9, as a user sees it: a quiet run costs next to nothing, echoes of our own write-back are
skipped, and yet no edit a user makes is ever lost (HubSpot + Jira emulators, SQLite)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence

import pytest

from mappings.models import FeedbackLink, WriteResult
from syncer.engine import Engine
from syncer.service import run_org
from syncer.state import StateStore
from syncer.wiring import build_adapters
from tests.e2e.conftest import Stack

ASSOCIATIONS = "/crm/v4/associations/"
COMPANY_READ = "/crm/v3/objects/companies/batch/read"


def _hub_calls(stack: Stack) -> Counter[str]:
    return Counter(f"{e.method} {e.path}" for e in stack.hubspot.log.entries())


def _linked_ticket(stack: Stack) -> str:
    for ticket_id in sorted(stack.hubspot.ids("tickets"), key=int):
        if stack.hubspot.ticket(ticket_id).get("syncer_backlog_key"):
            return ticket_id
    raise AssertionError("the first run linked no ticket")


def test_noop_run_after_a_sync_searches_only_and_writes_nothing(stack: Stack, store: StateStore) -> None:
    first = run_org(stack.config(), store, "first")
    assert first.links_written > 0  # so the next run re-reads every echo of those write-backs
    stack.hubspot.log.clear()
    stack.jira.log.clear()

    again = run_org(stack.config(), store, "again")

    calls = _hub_calls(stack)
    assert again.feedback_pulled >= first.links_written, "the echoes were not even searched"
    assert (again.feedback_changed, again.links_written, again.items_updated) == (0, 0, 0)
    assert not [c for c in calls if ASSOCIATIONS in c], f"association reads on a quiet run: {calls}"
    assert set(calls) <= {
        "POST /crm/v3/objects/tickets/search",
        "POST /crm/v3/objects/companies/search",
        "POST /crm/v3/objects/deals/search",
    }, calls
    assert stack.jira.log.count("POST", "/rest/api/3/issue") == stack.jira.log.count("PUT") == 0


def test_first_sync_reads_each_company_once(stack: Stack, store: StateStore) -> None:
    run_org(stack.config(), store, "first")

    read = Counter(
        str(item["id"]) for e in stack.hubspot.log.entries("POST", COMPANY_READ) for item in e.body["inputs"]
    )
    assert read, "no company was read"
    assert max(read.values()) == 1, f"companies read twice: {[c for c, n in read.items() if n > 1]}"
    assert stack.hubspot.log.count("GET", "/crm/v3/owners") == 1


def test_first_sync_reads_only_the_companies_its_tickets_name(stack: Stack, store: StateStore) -> None:
    lonely = stack.hubspot.add_company("Lonely Co, no tickets")

    run_org(stack.config(), store, "first")

    read = {str(i["id"]) for e in stack.hubspot.log.entries("POST", COMPANY_READ) for i in e.body["inputs"]}
    calls = _hub_calls(stack)
    assert lonely not in read, "a company without feedback was read"
    assert "POST /crm/v3/objects/companies/search" not in calls, calls  # no account backlog to refresh
    assert "POST /crm/v3/objects/deals/search" not in calls, calls
    # the first search page is stored alone, the rest (one association read) together: 2 reads of
    # the companies' deals, however many pages the rest spans
    assert calls["POST /crm/v4/associations/companies/deals/batch/read"] <= 2, calls
    stack.hubspot.update_company(lonely, annualrevenue="1000")
    stack.hubspot.log.clear()

    second = run_org(stack.config(), store, "second")

    assert "POST /crm/v3/objects/companies/search" in _hub_calls(stack), "the account stream never started"
    assert second.accounts_refreshed == 0  # its change touches no stored feedback


class _EditDuringWriteBack:
    """A CRM sink that lets a user edit a ticket after our pull read it, just before our write-back
    stamps it again: the ticket's newest modification stamp is then ours, its content the user's."""

    def __init__(self, inner: object, edit: Callable[[], None]) -> None:
        self._inner, self._edit = inner, edit
        self.system = "hubspot"

    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        self._edit()
        return self._inner.link_feedback(links)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize(
    "when",
    [
        pytest.param("during-write-back", id="between-our-read-and-our-write"),
        pytest.param("after-write-back", id="between-two-runs"),
    ],
)
def test_user_edit_is_never_taken_for_an_echo(stack: Stack, store: StateStore, when: str) -> None:
    run_org(stack.config(), store, "first")
    ticket = _linked_ticket(stack)
    key = str(stack.hubspot.ticket(ticket)["syncer_backlog_key"])
    text = "Now blocking the customer's audit in March."

    def edit() -> None:
        stack.hubspot.update_ticket(ticket, content=text)

    # make the ticket's write-back due again (its item moves), so the next pass writes to it
    stack.jira.transition(key, "In Progress")
    config = stack.config()
    if when == "during-write-back":
        adapters = build_adapters(config)
        sink = _EditDuringWriteBack(adapters.crm, edit)
        engine = Engine(config, store, adapters.crm, sink, adapters.tracker, adapters.tracker, adapters.crm)  # type: ignore[arg-type]
        written = engine.run("edit during write-back")
        adapters.close()
        assert written.links_written > 0
        assert stack.hubspot.ticket(ticket)["syncer_backlog_status"] == "in-progress"
    else:
        run_org(config, store, "status written")
        edit()
    assert text not in str(stack.jira.issue(key)["fields"]["description"])

    after = run_org(config, store, "next run")

    assert after.feedback_changed >= 1
    assert text in str(stack.jira.issue(key)["fields"]["description"]), "the user's edit was lost"


SEARCHES = {
    "POST /crm/v3/objects/tickets/search",
    "POST /crm/v3/objects/companies/search",
    "POST /crm/v3/objects/deals/search",
}


def _settle(stack: Stack, store: StateStore) -> None:
    """A first sync, then the run that reads its write-back's echoes, started once the overlap has
    passed: from then on every stream's cursor is settled."""
    run_org(stack.config(), store, "first")
    time.sleep(stack.config().crm.overlap_seconds + 1.5)  # `Date` has whole seconds
    run_org(stack.config(), store, "echoes")
    stack.hubspot.log.clear()
    stack.jira.log.clear()


def test_quiet_run_once_settled_costs_one_search_per_object_type(stack: Stack, store: StateStore) -> None:
    _settle(stack, store)

    quiet = run_org(stack.config(), store, "quiet")

    assert Counter(_hub_calls(stack)) == Counter(SEARCHES), _hub_calls(stack)
    assert quiet.feedback_pulled == 0, "records re-read from the overlap window"
    assert len(stack.jira.log.entries()) == 2, stack.jira.log.entries()  # issues + versions


def test_edits_after_a_settled_run_are_all_taken(stack: Stack, store: StateStore) -> None:
    _settle(stack, store)
    ticket = _linked_ticket(stack)
    key = str(stack.hubspot.ticket(ticket)["syncer_backlog_key"])
    company = sorted(stack.hubspot.ids("companies"), key=int)[0]
    text = "Settled or not, this edit must arrive."
    stack.hubspot.update_ticket(ticket, content=text)
    stack.hubspot.update_company(company, annualrevenue="7654321")

    changed = run_org(stack.config(), store, "one edit")

    assert changed.feedback_changed == 1
    assert changed.accounts_refreshed >= 1
    assert text in str(stack.jira.issue(key)["fields"]["description"]), "the edit was lost"
    assert _hub_calls(stack)["POST /crm/v3/objects/tickets/search"] == 1


def test_an_edit_indexed_late_is_not_lost_behind_a_newer_one(stack: Stack, store: StateStore) -> None:
    _settle(stack, store)
    linked = [
        t
        for t in sorted(stack.hubspot.ids("tickets"), key=int)
        if stack.hubspot.ticket(t).get("syncer_backlog_key")
    ]
    by_key = {str(stack.hubspot.ticket(t)["syncer_backlog_key"]): t for t in linked}
    (late_key, late), (_, newer) = list(by_key.items())[:2]
    text = "Indexed late, but never lost."
    stack.hubspot.search_lag_s = 60.0
    stack.hubspot.update_ticket(late, content=text)  # searchable only in a minute
    stack.hubspot.search_lag_s = 0.0
    stack.hubspot.update_ticket(newer, content="Searchable at once.")  # stamped later than `late`

    first = run_org(stack.config(), store, "before the index caught up")
    real_clock = stack.hubspot.clock
    stack.hubspot.clock = lambda: real_clock() + 61  # a minute on: the index has caught up
    second = run_org(stack.config(), store, "after")

    assert first.feedback_changed == 1  # only the newer edit was searchable
    assert second.feedback_changed == 1
    assert text in str(stack.jira.issue(late_key)["fields"]["description"]), "the late edit was lost"
