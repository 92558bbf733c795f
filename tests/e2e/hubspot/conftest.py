"""Shared by the HubSpot end-to-end tests: emulators served on 127.0.0.1 and real HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.hubspot.support import FAST, TOKEN, Clients
from tests.e2e.serving import http_clients
from tests.e2e.serving import serve as serve  # the fixture, for this folder


@pytest.fixture
def clients() -> Iterator[Clients]:
    with http_clients("hubspot", token=TOKEN, limits=FAST) as make:
        yield make
