"""HubSpot's own Python SDK against the emulator: if the SDK cannot talk to it, the emulator is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator

hubspot = pytest.importorskip("hubspot")
companies_api = pytest.importorskip("hubspot.crm.companies")
tickets_api = pytest.importorskip("hubspot.crm.tickets")

TOKEN = "sdk-token"


@pytest.fixture(scope="module")
def portal() -> Iterator[tuple[HubSpotEmulator, Any]]:
    emulator = HubSpotEmulator(token=TOKEN)
    emulator.seed_demo(seed=11, companies=30, tickets=40)
    with ServedApp(emulator.app) as served:
        yield emulator, hubspot.HubSpot(access_token=TOKEN, host=served.url)


def test_sdk_lists_every_company_page_by_page(portal: tuple[HubSpotEmulator, Any]) -> None:
    emulator, api = portal
    page = api.crm.companies.basic_api.get_page(limit=10, properties=["name", "customer_tier"])
    everything = api.crm.companies.get_all(properties=["name"])

    assert len(page.results) == 10
    assert page.paging.next.after == "10"
    assert set(page.results[0].properties) >= {"name", "customer_tier", "hs_object_id"}
    assert {c.id for c in everything} == set(emulator.ids("companies"))


def test_sdk_search_filters_companies(portal: tuple[HubSpotEmulator, Any]) -> None:
    emulator, api = portal
    request = companies_api.PublicObjectSearchRequest(
        filter_groups=[
            companies_api.FilterGroup(
                filters=[
                    companies_api.Filter(property_name="customer_tier", operator="EQ", value="enterprise")
                ]
            )
        ],
        properties=["name", "customer_tier"],
        limit=100,
    )
    found = api.crm.companies.search_api.do_search(public_object_search_request=request)

    expected = {c for c in emulator.ids("companies") if emulator.company(c)["customer_tier"] == "enterprise"}
    assert found.total == len(expected) > 0
    assert {r.id for r in found.results} == expected


def test_sdk_batch_update_writes_the_ticket(portal: tuple[HubSpotEmulator, Any]) -> None:
    emulator, api = portal
    ticket = emulator.ids("tickets")[0]
    batch = tickets_api.BatchInputSimplePublicObjectBatchInput(
        inputs=[
            tickets_api.SimplePublicObjectBatchInput(id=ticket, properties={"syncer_backlog_key": "SDK-1"})
        ]
    )
    result = api.crm.tickets.batch_api.update(batch_input_simple_public_object_batch_input=batch)

    assert result.status == "COMPLETE"
    assert emulator.ticket(ticket)["syncer_backlog_key"] == "SDK-1"
