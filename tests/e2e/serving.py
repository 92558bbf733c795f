"""What the end-to-end tests share: a settable clock, emulators served on 127.0.0.1, real HTTP clients.

Per-system constants (tokens, rate limits, classifiers) stay with each system's tests; this module only
knows how to serve an emulator and how to build and close the clients that talk to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol, TypeVar

import pytest
from starlette.applications import Starlette

from adapters.emulation import ServedApp
from adapters.http import HttpClient, RateLimit, RetryPolicy

# quick enough for a test to see a retry happen, without waiting out real back-off
QUICK_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


class Servable(Protocol):
    app: Starlette


class Seedable(Servable, Protocol):
    def seed_demo(self) -> None: ...


SeedableT = TypeVar("SeedableT", bound=Seedable)
Serve = Callable[[Servable], str]


class FakeClock:
    """A clock the test moves by hand; with `tick`, every reading also moves it on by that much."""

    def __init__(self, start: datetime | float, tick: float = 0.0) -> None:
        self.now = start.timestamp() if isinstance(start, datetime) else start
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def served(emulator: SeedableT) -> Iterator[tuple[SeedableT, str]]:
    """The emulator seeded with its demo data and served; yields it with its base URL."""
    emulator.seed_demo()
    with ServedApp(emulator.app) as app:
        yield emulator, app.url


@contextmanager
def served_apps() -> Iterator[Serve]:
    """Yields `start(emulator) -> url`; every emulator started through it is stopped on exit."""
    started: list[ServedApp] = []

    def start(emulator: Servable) -> str:
        started.append(ServedApp(emulator.app).start())
        return started[-1].url

    try:
        yield start
    finally:
        for app in started:
            app.stop()


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(emulator) -> url` for the test; conftests that want it import it by name."""
    with served_apps() as start:
        yield start


class HttpClients:
    """Makes real HttpClients for one system, each with a bearer token unless `token` is None."""

    def __init__(
        self, system: str, *, token: str | None, limits: Mapping[str, RateLimit], **options: Any
    ) -> None:
        self._system, self._token, self._limits, self._options = system, token, limits, options
        self.made: list[HttpClient] = []

    def __call__(
        self, url: str, limits: Mapping[str, RateLimit] | None = None, token: str | None = None
    ) -> HttpClient:
        token = token or self._token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = HttpClient(
            url, system=self._system, headers=headers, limits=limits or self._limits, **self._options
        )
        self.made.append(client)
        return client


Clients = HttpClients


@contextmanager
def http_clients(
    system: str, *, token: str | None, limits: Mapping[str, RateLimit], **options: Any
) -> Iterator[HttpClients]:
    """Yields an `HttpClients` factory (options go to every HttpClient); closes all it made on exit."""
    clients = HttpClients(system, token=token, limits=limits, **options)
    try:
        yield clients
    finally:
        for client in clients.made:
            client.close()
