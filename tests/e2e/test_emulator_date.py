"""Emulators date their answers by their own clock (adapters/emulation.py), as a vendor does: a skewed
emulator skews HTTP `Date` and record stamps alike, which is what the engine compares."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.responses import server_date

SKEW_S = -600
TOKEN = "date-token"


@pytest.mark.parametrize("path", ["/crm/v3/owners", "/no/such/route"])
def test_emulator_answers_carry_one_date_from_its_clock(path: str) -> None:
    clock = lambda: datetime.now(UTC).timestamp() + SKEW_S  # noqa: E731
    hub = HubSpotEmulator(token=TOKEN, clock=clock)
    with ServedApp(hub.app) as served, httpx.Client(base_url=served.url) as client:
        response = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})

    assert len(response.headers.get_list("date")) == 1, response.headers
    served_at = server_date(response)
    assert served_at is not None
    assert abs((served_at - datetime.now(UTC)).total_seconds() - SKEW_S) < 5
