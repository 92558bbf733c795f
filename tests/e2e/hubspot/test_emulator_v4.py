"""The endpoints tap-hubspot 4.5 reads (bench/compare.py), over real HTTP: OAuth refresh, v4 list, schema."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.hubspot.emulator import HubSpotEmulator
from adapters.hubspot.emulator_v4 import REFRESH_TOKEN
from tests.e2e.hubspot.support import TOKEN, Serve


def _token_form(refresh_token: str) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "client_id": "client",
        "client_secret": "secret",
        "redirect_uri": "http://127.0.0.1/callback",
        "refresh_token": refresh_token,
    }


def test_v4_ticket_list_pages_every_ticket_once_with_its_company(serve: Serve) -> None:
    emulator = HubSpotEmulator(token=TOKEN, burst_per_10s=1000)
    emulator.seed_demo(seed=5, companies=12, tickets=230)
    url = serve(emulator)
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 500, "associations": "contact,company,deals"}
    params["properties"] = "subject"
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        pages = 0
        while True:
            body = client.get("/crm/v4/objects/tickets", params=params).raise_for_status().json()
            pages += 1
            assert len(body["results"]) <= 100  # limit=500 is capped at 100
            seen += body["results"]
            if "paging" not in body:
                break
            params["after"] = body["paging"]["next"]["after"]

    assert pages == 3
    assert [row["id"] for row in seen] == sorted(emulator.ids("tickets"), key=int)
    first = seen[0]
    assert set(first["properties"]) >= {"subject", "hs_lastmodifieddate"}
    assert first["updatedAt"] == emulator.ticket(str(first["id"]))["hs_lastmodifieddate"]
    linked = [row for row in seen if "associations" in row]
    assert len(seen) - 10 < len(linked) < len(seen)  # a few tickets have no company (~1%)
    company = linked[0]["associations"]["companies"]["results"][0]
    assert company["type"] == "ticket_to_company"
    assert company["id"] in emulator.ids("companies")


def test_oauth_refresh_token_buys_a_token_the_crm_endpoints_accept(serve: Serve) -> None:
    emulator = HubSpotEmulator(token=TOKEN)
    emulator.seed_demo(seed=5, companies=2, tickets=3)
    with httpx.Client(base_url=serve(emulator)) as client:
        refused = client.post("/oauth/2026-03/token", data=_token_form("stolen"))
        granted = client.post("/oauth/2026-03/token", data=_token_form(REFRESH_TOKEN)).json()
        anonymous = client.get("/crm/v4/objects/tickets")
        auth = {"Authorization": f"Bearer {granted['access_token']}"}
        tickets = client.get("/crm/v4/objects/tickets", headers=auth)
        properties = client.get("/crm/v3/properties/tickets", headers=auth).json()
        schemas = client.get("/crm/v3/schemas", headers=auth).json()

    assert refused.status_code == 400
    assert refused.json()["status"] == "BAD_REFRESH_TOKEN"
    assert granted["expires_in"] > 600  # the tap refreshes 600 s before expiry
    assert granted["refresh_token"] == REFRESH_TOKEN
    assert anonymous.status_code == 401
    assert tickets.status_code == 200
    assert len(tickets.json()["results"]) == 3
    by_name = {p["name"]: p["type"] for p in properties["results"]}
    assert by_name["subject"] == "string"
    assert by_name["hs_lastmodifieddate"] == "datetime"
    assert schemas == {"results": []}
