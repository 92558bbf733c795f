"""The naive script of the comparison (bench/compare_naive.py): one request per record, as counted."""

from __future__ import annotations

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from bench.compare_naive import NaiveSync

TOKEN = "naive-token"


def test_naive_script_makes_one_request_per_record_and_rereads_everything() -> None:
    hub = HubSpotEmulator(token=TOKEN, burst_per_10s=10_000)
    hub.seed_demo(seed=3, companies=4, tickets=30)
    jira = JiraEmulator(token=TOKEN, burst_per_second=10_000)
    jira.seed_demo()
    with ServedApp(hub.app) as hub_app, ServedApp(jira.app) as jira_app:
        script = NaiveSync(hub_app.url, jira_app.url, TOKEN)
        full = script.run()
        with_company = hub.log.count("GET", "/crm/v3/objects/companies/")
        hub.update_ticket(hub.ids("tickets")[0], content="Changed by a user.")
        hub.log.clear()
        jira.log.clear()
        again = script.run()

    assert (full.records, full.created, full.updated) == (30, 30, 0)
    assert 25 <= with_company <= 30  # one company GET per ticket that has a company, no cache
    assert (again.records, again.created, again.updated) == (30, 0, 1)
    assert hub.log.count() == 1 + 30 + with_company  # the incremental run reads everything again
    assert jira.log.count("PUT") == 1
    assert jira.log.count() == 1
