"""End to end on the emulator: alerts as tasks/notes, open deal value, changed accounts, promises."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from adapters.hubspot.client import HubSpotCrm, HubSpotSettings
from adapters.hubspot.emulator import HubSpotEmulator
from mappings.models import AlertEvent, Cursor, FeedbackLink, ItemStatus, Owner
from tests.e2e.hubspot.support import TOKEN, Clients, Serve
from tests.factories import make_alert

START = 1_770_000_000.0


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _portal(emulator: HubSpotEmulator) -> tuple[str, str, list[str]]:
    owner = emulator.add_owner("ana@example.com", "Ana", "Owner")
    company = emulator.add_company("Acme", {"hubspot_owner_id": owner})
    tickets = [emulator.add_ticket({"subject": f"Need {n}"}, company) for n in range(2)]
    return owner, company, tickets


def test_create_alerts_writes_tasks_with_owner_associations_and_key(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    owner, company, tickets = _portal(emulator)
    url = serve(emulator)
    crm = HubSpotCrm(clients(url))
    alert = make_alert(
        key="al-risk",
        event=AlertEvent.AT_RISK,
        account_id=company,
        owner=Owner(id=owner),
        feedback_ids=tuple(tickets),
    )

    (result,) = crm.create_alerts([alert])
    found = crm.find_alerts(["al-risk", "al-unknown"])
    assoc = httpx.post(
        f"{url}/crm/v4/associations/tasks/tickets/batch/read",
        json={"inputs": [{"id": result.remote_id}]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()

    (task,) = emulator.tasks()
    assert result.ok
    assert task["id"] == result.remote_id
    assert task["properties"]["hubspot_owner_id"] == owner
    assert task["properties"]["syncer_alert_key"] == "al-risk"
    assert task["properties"]["hs_task_priority"] == "HIGH"
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    assert str(task["properties"]["hs_timestamp"]).endswith("Z")  # stored as a datetime
    assert (task["companies"], sorted(task["tickets"])) == ([company], sorted(tickets))
    assert found == {"al-risk": result.remote_id}
    assert sorted(str(t["toObjectId"]) for t in assoc["results"][0]["to"]) == sorted(tickets)
    assert emulator.notes() == []


def test_create_alerts_as_notes_when_configured(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    owner, company, tickets = _portal(emulator)
    crm = HubSpotCrm(clients(serve(emulator)), HubSpotSettings(alert_channel="note"))

    results = crm.create_alerts(
        [make_alert(key="n1", account_id=company, owner=None, feedback_ids=(tickets[0],))]
    )

    (note,) = emulator.notes()
    assert results[0].remote_id == note["id"]
    assert "hubspot_owner_id" not in note["properties"]
    assert "Shipped: 2.4" in str(note["properties"]["hs_note_body"])
    assert (note["companies"], note["tickets"]) == ([company], [tickets[0]])
    assert crm.find_alerts(["n1"]) == {"n1": note["id"]}
    assert emulator.tasks() == []


def test_create_alerts_refused_by_hubspot_fails_each_element(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    _, company, _ = _portal(emulator)
    crm = HubSpotCrm(clients(serve(emulator)))
    alerts = [
        make_alert(key="ok", account_id=company),
        make_alert(key="bad", account_id=company, feedback_ids=("404",)),
    ]

    results = crm.create_alerts(alerts)

    assert [r.ref for r in results] == ["ok", "bad"]
    assert all(r.error is not None and "TICKET 404 does not exist" in r.error for r in results)
    assert emulator.tasks() == []  # HubSpot refuses the whole batch


def test_get_accounts_open_deal_value_sums_only_open_deals(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    _, company, _ = _portal(emulator)
    quiet = emulator.add_company("Quiet Ltd")
    emulator.add_deal(company, {"amount": "1000", "dealstage": "qualifiedtobuy", "hs_is_closed": "false"})
    emulator.add_deal(company, {"amount": "500.5", "dealstage": "contractsent"})
    emulator.add_deal(company, {"amount": "2000", "dealstage": "closedwon", "hs_is_closed": "true"})
    emulator.add_deal(company, {"amount": "4000", "dealstage": "custom-lost", "hs_is_closed": "true"})
    emulator.add_deal(company, {"amount": "8000", "dealstage": "closedlost"})
    crm = HubSpotCrm(clients(serve(emulator)))

    accounts = crm.get_accounts([company, quiet])

    assert accounts[company].open_deal_value == 1500.5
    assert accounts[quiet].open_deal_value == 0.0
    assert emulator.log.count("POST", "/crm/v4/associations/companies/deals") == 1
    assert emulator.log.count("POST", "/crm/v3/objects/deals/batch/read") == 1


def test_iter_changed_accounts_sees_a_company_edit_and_a_deal_edit(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(START)
    emulator = HubSpotEmulator(token=TOKEN, clock=clock)
    renamed, dealt, untouched = (emulator.add_company(n) for n in ("Renamed", "Dealt", "Untouched"))
    deal = emulator.add_deal(dealt, {"amount": "700", "dealstage": "qualifiedtobuy", "hs_is_closed": "false"})
    emulator.add_deal(untouched, {"amount": "100", "dealstage": "qualifiedtobuy", "hs_is_closed": "false"})
    crm = HubSpotCrm(clients(serve(emulator)))
    assert crm.get_accounts([dealt])[dealt].open_deal_value == 700.0

    clock.now += 60
    since = Cursor(datetime.fromtimestamp(clock.now, UTC))
    emulator.update_company(renamed, name="Renamed Again")
    emulator.update_deal(deal, dealstage="closedwon", hs_is_closed="true")
    clock.now += 1
    pages = list(crm.iter_changed_accounts(since, datetime.fromtimestamp(clock.now, UTC)))

    accounts = {a.id: a for page in pages for a in page.items}
    assert set(accounts) == {renamed, dealt}
    assert accounts[renamed].name == "Renamed Again"
    assert accounts[dealt].open_deal_value == 0.0  # re-read, not served from the cache
    newest = max(p.cursor for p in pages if p.cursor is not None)
    assert newest.updated_at >= since.updated_at  # a vendor stamp, in the vendor's clock


def test_promised_date_and_milestone_write_back_round_trip(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    _, _, (first, second) = _portal(emulator)
    crm = HubSpotCrm(clients(serve(emulator)))
    emulator.set_promised_date(first, date(2026, 6, 30))
    crm.link_feedback(
        [
            FeedbackLink(
                feedback_id=second,
                backlog_key="PROD-1",
                status=ItemStatus.IN_PROGRESS,
                milestone="2.5",
                due=date(2026, 7, 15),
            )
        ]
    )

    until = datetime.now(UTC) + timedelta(seconds=5)
    pulled = {f.id: f for page in crm.iter_changed_feedback(Cursor.epoch(), until) for f in page.items}

    assert pulled[first].promised_date == date(2026, 6, 30)
    assert (pulled[second].backlog_status, pulled[second].backlog_milestone) == ("in-progress", "2.5")
    assert pulled[second].backlog_due == date(2026, 7, 15)
    emulator.set_promised_date(first, None)
    assert emulator.ticket(first)["syncer_promised_date"] == ""


def test_seed_demo_promises_dates_and_closes_some_deals(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    emulator.seed_demo(seed=7, companies=60, tickets=300)
    url = serve(emulator)
    closed = httpx.post(
        f"{url}/crm/v3/objects/deals/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "hs_is_closed", "operator": "EQ", "value": "true"}]}
            ]
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    tickets = [emulator.ticket(t) for t in emulator.ids("tickets")]
    features = [t for t in tickets if t["hs_ticket_category"] == "FEATURE_REQUEST"]
    promised = [
        date.fromisoformat(str(t["syncer_promised_date"])) for t in features if t.get("syncer_promised_date")
    ]
    today = datetime.now(UTC).date()

    assert 0 < closed["total"] < emulator.counts()["deals"]
    assert 0.1 < len(promised) / len(features) < 0.3
    assert all(-11 <= (d - today).days <= 121 for d in promised)
