"""Shared by the HubSpot end-to-end tests: emulators served on 127.0.0.1 and real HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.emulation import ServedApp
from adapters.http import HttpClient, RateLimit
from adapters.hubspot.emulator import HubSpotEmulator
from tests.e2e.hubspot.support import FAST, TOKEN, Clients, Serve


@pytest.fixture
def serve() -> Iterator[Serve]:
    served: list[ServedApp] = []

    def start(emulator: HubSpotEmulator) -> str:
        served.append(ServedApp(emulator.app).start())
        return served[-1].url

    yield start
    for app in served:
        app.stop()


@pytest.fixture
def clients() -> Iterator[Clients]:
    made: list[HttpClient] = []

    def make(url: str, limits: dict[str, RateLimit] | None = None, token: str = TOKEN) -> HttpClient:
        made.append(
            HttpClient(
                url, system="hubspot", headers={"Authorization": f"Bearer {token}"}, limits=limits or FAST
            )
        )
        return made[-1]

    yield make
    for client in made:
        client.close()
