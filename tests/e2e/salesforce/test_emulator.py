"""End to end: the Salesforce client against the emulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from adapters.errors import AuthError
from adapters.salesforce.client import SalesforceCrm
from adapters.salesforce.emulator import SalesforceEmulator
from mappings.models import AlertEvent, Cursor, FeedbackLink, ItemStatus, Owner
from tests.e2e.salesforce.conftest import TOKEN, Clients, Serve
from tests.factories import make_alert

START = 1_770_000_000.0


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _until(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock.now, UTC)


def test_full_pull_returns_every_seeded_case_exactly_once(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(START)
    emulator = SalesforceEmulator(token=TOKEN, clock=clock, page_size=70)
    emulator.seed_demo(seed=3, accounts=20, cases=300)
    crm = SalesforceCrm(clients(serve(emulator)))

    pages = list(crm.iter_changed_feedback(Cursor.epoch(), _until(clock)))

    ids = [f.id for p in pages for f in p.items]
    assert sorted(ids) == sorted(emulator.ids("Case"))
    assert len(ids) == len(set(ids)) == 300
    assert len(pages) == 5
    assert pages[0].total == 300
    assert sum(len(p.rejects) for p in pages) == 0
    assert sum(1 for p in pages for f in p.items if f.account_id is None) == 3
    assert any(not f.title.isascii() for p in pages for f in p.items)
    assert any(f.promised_date for p in pages for f in p.items)
    assert emulator.log.count("GET", "/services/data/v61.0/query/") == 4


def test_incremental_pull_sees_only_the_window_and_ascends(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(START)
    emulator = SalesforceEmulator(token=TOKEN, clock=clock)
    old = emulator.add_case("Old request")
    clock.now += 60
    changed = emulator.add_case("Newer request")
    clock.now += 60
    emulator.update_case(old, Description="edited")
    crm = SalesforceCrm(clients(serve(emulator)))

    since = Cursor(datetime.fromtimestamp(START + 30, UTC), "")
    (page,) = crm.iter_changed_feedback(since, _until(clock))

    assert [f.id for f in page.items] == [changed, old]
    assert page.cursor == Cursor(_until(clock), old)


def test_get_accounts_has_owner_tier_arr_and_open_deal_value(serve: Serve, clients: Clients) -> None:
    emulator = SalesforceEmulator(token=TOKEN)
    owner = emulator.add_user("ana@example.com", "Ana Owner")
    acme = emulator.add_account("Acme", owner, Customer_Tier__c="enterprise", AnnualRevenue=1_500_000.0)
    bare = emulator.add_account("Bare")
    emulator.add_opportunity(acme, 100_000.0)
    emulator.add_opportunity(acme, 50_000.0)
    emulator.add_opportunity(acme, 900_000.0, "Closed Won")
    crm = SalesforceCrm(clients(serve(emulator)))

    accounts = crm.get_accounts([acme, bare, "001000000000000AAA", "junk"])

    assert set(accounts) == {acme, bare}
    account = accounts[acme]
    assert account.owner is not None
    assert (account.owner.id, account.owner.email, account.owner.name) == (
        owner,
        "ana@example.com",
        "Ana Owner",
    )
    assert (account.tier, account.arr, account.open_deal_value) == ("enterprise", 1_500_000.0, 150_000.0)
    assert (accounts[bare].owner, accounts[bare].tier, accounts[bare].open_deal_value) == (
        None,
        "unknown",
        0.0,
    )


def test_changed_accounts_include_accounts_of_changed_deals(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(START)
    emulator = SalesforceEmulator(token=TOKEN, clock=clock)
    quiet = emulator.add_account("Quiet")
    deal = emulator.add_opportunity(quiet, 10_000.0)
    edited = emulator.add_account("Edited")
    clock.now += 120
    emulator.update_account(edited, AnnualRevenue=5.0)
    clock.now += 60
    emulator.update_opportunity(deal, Amount=20_000.0)
    crm = SalesforceCrm(clients(serve(emulator)))

    since = Cursor(datetime.fromtimestamp(START + 60, UTC), "")
    pages = list(crm.iter_changed_accounts(since, _until(clock)))

    assert [a.id for p in pages for a in p.items] == [edited, quiet]
    assert [a.open_deal_value for p in pages for a in p.items] == [0.0, 20_000.0]
    assert max(p.cursor for p in pages if p.cursor) == Cursor(_until(clock), "")


def test_link_feedback_round_trips_and_reports_bad_ids(serve: Serve, clients: Clients) -> None:
    emulator = SalesforceEmulator(token=TOKEN)
    case = emulator.add_case("Export to PDF")
    crm = SalesforceCrm(clients(serve(emulator)))
    link = FeedbackLink(
        feedback_id=case,
        backlog_key="PROD-7",
        backlog_url="https://tracker.example/PROD-7",
        status=ItemStatus.IN_PROGRESS,
        milestone="2.4",
        due=date(2026, 5, 1),
    )

    good, bad = crm.link_feedback([link, FeedbackLink(feedback_id="500000000000009AAA", backlog_key="X")])
    page = crm.get_feedback([case])

    assert good.ok
    assert bad.error == "ENTITY_IS_DELETED: entity is deleted"
    (feedback,) = page.items
    assert (
        feedback.backlog_key,
        feedback.backlog_status,
        feedback.backlog_milestone,
        feedback.backlog_due,
    ) == (
        "PROD-7",
        "in-progress",
        "2.4",
        date(2026, 5, 1),
    )
    assert emulator.case(case)["Syncer_Backlog_Url__c"] == "https://tracker.example/PROD-7"
    assert {"id": case, "backlog_key": "PROD-7"} in emulator.feedback_view()
    cleared = crm.link_feedback([FeedbackLink(feedback_id=case, backlog_key="PROD-7")])
    assert cleared[0].ok
    assert emulator.case(case)["Syncer_Milestone_Due__c"] is None


def test_alerts_are_created_once_and_found_by_key(serve: Serve, clients: Clients) -> None:
    emulator = SalesforceEmulator(token=TOKEN)
    owner = emulator.add_user("ana@example.com", "Ana")
    account = emulator.add_account("Acme", owner)
    crm = SalesforceCrm(clients(serve(emulator)), clock=lambda: datetime(2026, 3, 2, tzinfo=UTC))
    alert = make_alert(key="al-risk", event=AlertEvent.AT_RISK, account_id=account, owner=Owner(id=owner))

    (first,) = crm.create_alerts([alert])
    (again,) = crm.create_alerts([alert])  # a resend after a lost answer: upsert, not a duplicate
    found = crm.find_alerts(["al-risk", "al-unknown"])

    (task,) = emulator.tasks()
    assert first.ok
    assert again.remote_id == first.remote_id == task["Id"]
    assert found == {"al-risk": task["Id"]}
    assert (task["OwnerId"], task["WhatId"], task["Priority"], task["Status"], task["ActivityDate"]) == (
        owner,
        account,
        "High",
        "Not Started",
        "2026-03-02",
    )


def test_create_alerts_reports_a_refused_record_and_writes_the_rest(serve: Serve, clients: Clients) -> None:
    emulator = SalesforceEmulator(token=TOKEN)
    account = emulator.add_account("Acme")
    crm = SalesforceCrm(clients(serve(emulator)))
    good = make_alert(key="al-ok", account_id=account, owner=None)
    bad = make_alert(key="al-bad", account_id="not an id", owner=None)

    results = crm.create_alerts([good, bad])

    assert [r.ok for r in results] == [True, False]
    assert "INVALID_FIELD" in (results[1].error or "")
    assert [t["Syncer_Alert_Key__c"] for t in emulator.tasks()] == ["al-ok"]


def test_request_limit_exceeded_is_waited_out(serve: Serve, clients: Clients) -> None:
    emulator = SalesforceEmulator(token=TOKEN)
    emulator.add_case("One")
    emulator.limit_exceeded = 2
    crm = SalesforceCrm(clients(serve(emulator)))

    (page,) = crm.iter_changed_feedback(Cursor.epoch(), datetime.now(UTC) + timedelta(seconds=5))

    assert len(page.items) == 1
    assert emulator.log.statuses()[403] == 2


def test_wrong_token_is_an_auth_error(serve: Serve, clients: Clients) -> None:
    emulator = SalesforceEmulator(token=TOKEN)
    crm = SalesforceCrm(clients(serve(emulator), token="expired"))

    with pytest.raises(AuthError):
        crm.get_feedback(["500000000000001AAA"])


def test_emulator_speaks_salesforce_errors(serve: Serve) -> None:
    emulator = SalesforceEmulator(token=TOKEN)
    url = serve(emulator)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def query(q: str) -> httpx.Response:
        return httpx.get(f"{url}/services/data/v61.0/query", params={"q": q}, headers=auth)

    unsupported = query("SELECT Id FROM Case WHERE Subject = 'a' OR Subject = 'b'")
    quoted = query("SELECT Id FROM Case WHERE SystemModstamp >= '2024-01-01T00:00:00Z'")
    unknown = query("SELECT Nope__c FROM Case")
    too_many = httpx.patch(
        f"{url}/services/data/v61.0/composite/sobjects",
        json={"allOrNone": False, "records": [{"attributes": {"type": "Case"}, "id": "x"}] * 201},
        headers=auth,
    )

    assert (unsupported.status_code, unsupported.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")
    assert (quoted.status_code, quoted.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert (too_many.status_code, too_many.json()[0]["errorCode"]) == (400, "EXCEEDED_ID_LIMIT")
    assert (
        httpx.get(f"{url}/services/data/v61.0/query", params={"q": "SELECT Id FROM Case"}).status_code == 401
    )
