"""Shared by the Jiandaoyun end-to-end tests: the emulator served on 127.0.0.1 and real HTTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from adapters.emulation import ServedApp
from adapters.http import HttpClient, RateLimit, RetryPolicy
from adapters.jiandaoyun.client import classify
from adapters.jiandaoyun.emulator import JiandaoyunEmulator

TOKEN = "e2e-key"
FAST = {"default": RateLimit(rate=1000, burst=1000), "batch": RateLimit(rate=1000, burst=1000)}
Serve = Callable[[JiandaoyunEmulator], str]
Clients = Callable[..., HttpClient]


@pytest.fixture
def serve() -> Iterator[Serve]:
    served: list[ServedApp] = []

    def start(emulator: JiandaoyunEmulator) -> str:
        served.append(ServedApp(emulator.app).start())
        return served[-1].url

    yield start
    for app in served:
        app.stop()


@pytest.fixture
def clients() -> Iterator[Clients]:
    made: list[HttpClient] = []

    def make(url: str, token: str = TOKEN) -> HttpClient:
        made.append(
            HttpClient(
                url,
                system="jiandaoyun",
                headers={"Authorization": f"Bearer {token}"},
                limits=FAST,
                classify=classify,
                retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05),
            )
        )
        return made[-1]

    yield make
    for client in made:
        client.close()
