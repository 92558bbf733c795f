"""End to end: the real HubSpot client, retries included, against the emulator served on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.errors import AuthError
from adapters.hubspot.client import RATE_LIMITS, HubSpotCrm, HubSpotSettings
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.hubspot.emulator_wire import iso_ms
from mappings.models import Cursor, Feedback, FeedbackLink, ItemStatus
from tests.e2e.hubspot.support import TOKEN, Clients, Serve

EPOCH = Cursor.epoch()


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def pull(crm: HubSpotCrm, until: datetime, since: Cursor = EPOCH) -> list[Feedback]:
    return [f for page in crm.iter_changed_feedback(since, until) for f in page.items]


def soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=5)


def test_pull_returns_every_seeded_ticket_exactly_once(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    emulator.seed_demo(seed=7, companies=60, tickets=600)
    crm = HubSpotCrm(clients(serve(emulator), RATE_LIMITS))

    items = pull(crm, soon())

    assert len(items) == 600
    assert {f.id for f in items} == set(emulator.ids("tickets"))
    stamps = [f.updated_at for f in items]
    assert stamps == sorted(stamps)
    orphans = [f for f in items if f.account_id is None]
    assert 0 < len(orphans) < 20
    assert sum(f.category == "FEATURE_REQUEST" for f in items) > 400
    assert any(f.group_hint for f in items)
    assert max(stamps.count(s) for s in set(stamps)) >= 50  # the bulk-job cluster


def test_seed_demo_is_deterministic() -> None:
    one, two = HubSpotEmulator(clock=lambda: 1.7e9), HubSpotEmulator(clock=lambda: 1.7e9)
    one.seed_demo(seed=3, tickets=50)
    two.seed_demo(seed=3, tickets=50)
    assert [one.ticket(i) for i in one.ids("tickets")] == [two.ticket(i) for i in two.ids("tickets")]
    assert any("有限公司" in str(one.company(c)["name"]) for c in one.ids("companies"))


def test_get_accounts_returns_all_companies_with_owners_and_caches(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    emulator.seed_demo(tickets=10)
    crm = HubSpotCrm(clients(serve(emulator)))
    ids = emulator.ids("companies")

    accounts = crm.get_accounts([*ids, "424242"])
    requests = emulator.log.count()
    again = crm.get_accounts(ids)

    assert set(accounts) == set(ids)
    assert all(a.owner is not None and a.owner.email.endswith("@example.com") for a in accounts.values())
    assert {a.tier for a in accounts.values()} <= {"enterprise", "mid-market", "smb"}
    assert all(a.arr > 0 for a in accounts.values())
    assert emulator.log.count() == requests
    assert again == {i: accounts[i] for i in ids}


def test_link_feedback_round_trip_is_visible_on_the_ticket(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    first = emulator.add_ticket({"subject": "Dark mode"})
    second = emulator.add_ticket({"subject": "CSV export"})
    crm = HubSpotCrm(clients(serve(emulator)))

    results = crm.link_feedback(
        [
            FeedbackLink(
                feedback_id=first, backlog_key="PROD-7", backlog_url="https://t/7", status=ItemStatus.OPEN
            ),
            FeedbackLink(feedback_id=second, backlog_key="PROD-8"),
            FeedbackLink(feedback_id="31337", backlog_key="PROD-9"),
        ]
    )

    assert [r.ok for r in results] == [True, True, False]
    assert emulator.ticket(first)["syncer_backlog_key"] == "PROD-7"
    assert emulator.ticket(first)["syncer_backlog_status"] == "open"
    assert emulator.ticket(second)["syncer_backlog_url"] == ""
    assert {f.id: f.backlog_key for f in pull(crm, soon())} == {first: "PROD-7", second: "PROD-8"}


def test_search_lags_writes_until_the_index_catches_up(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(1_700_000_000.0)
    emulator = HubSpotEmulator(token=TOKEN, clock=clock, search_lag_s=5.0)
    ticket = emulator.add_ticket({"subject": "SSO please"})
    clock.now += 10
    url = serve(emulator)
    crm = HubSpotCrm(clients(url))
    assert [f.id for f in pull(crm, soon())] == [ticket]

    emulator.update_ticket(ticket, subject="SSO please, urgently")
    edited_at = datetime.fromtimestamp(clock.now, UTC)
    since = Cursor(edited_at - timedelta(milliseconds=1))
    clock.now += 2
    stale = pull(crm, soon(), since)
    direct = httpx.get(
        f"{url}/crm/v3/objects/tickets/{ticket}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    clock.now += 4
    fresh = pull(crm, soon(), since)

    assert stale == []  # search has not seen the edit yet...
    assert direct["properties"]["subject"] == "SSO please, urgently"  # ...while a GET has
    assert [(f.id, f.title) for f in fresh] == [(ticket, "SSO please, urgently")]
    assert emulator.ticket(ticket)["hs_lastmodifieddate"] == iso_ms(int(edited_at.timestamp() * 1000))


def test_search_burst_over_the_limit_is_absorbed_by_retries(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN, search_per_second=2)
    emulator.seed_demo(tickets=500)
    http = clients(serve(emulator))
    crm = HubSpotCrm(http, HubSpotSettings(page_size=100))

    items = pull(crm, soon())

    assert len({f.id for f in items}) == 500
    assert http.statuses[429] >= 1
    assert emulator.log.count("POST", "/crm/v3/objects/tickets/search") > 5  # 5 pages plus the retried ones


def test_wrong_token_is_refused_with_hubspot_error(serve: Serve, clients: Clients) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    crm = HubSpotCrm(clients(serve(emulator), token="nope"))
    with pytest.raises(AuthError, match="INVALID_AUTHENTICATION"):
        pull(crm, soon())


def test_pull_beyond_the_10k_search_cap_is_complete(serve: Serve, clients: Clients) -> None:
    clock = FakeClock(1_700_000_000.0)
    emulator = HubSpotEmulator(token=TOKEN, clock=clock, search_per_second=10_000, burst_per_10s=100_000)
    start = int(clock.now * 1000) - 86_400_000
    bulk = iso_ms(start + 3_600_000)
    for n in range(10_500):
        stamp = iso_ms(start + n * 1000) if n < 400 else bulk  # 10,100 share one bulk-job stamp
        emulator.add_ticket({"subject": f"t{n}", "hs_lastmodifieddate": stamp})
    crm = HubSpotCrm(clients(serve(emulator)))

    items = pull(crm, datetime.fromtimestamp(clock.now, UTC))

    assert len(items) == 10_500
    assert {f.id for f in items} == set(emulator.ids("tickets"))
    searches = emulator.log.entries("POST", "/crm/v3/objects/tickets/search")
    assert all(int(s.body.get("after", 0)) + s.body["limit"] <= 10_000 for s in searches)
