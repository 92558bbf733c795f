"""Shared by the HubSpot contract tests: the real HttpClient (no sleeping) inside a strict respx mock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.http import HttpClient
from adapters.hubspot.client import RATE_LIMITS
from tests.contract.fixtures_http import THREE_TRIES, contract_http

BASE = "https://api.hubapi.com"


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with contract_http(
        BASE, system="hubspot", token="test-token", limits=RATE_LIMITS, retry=THREE_TRIES
    ) as client:
        yield client
