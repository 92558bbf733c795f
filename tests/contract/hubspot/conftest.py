"""Shared by the HubSpot contract tests: the real HttpClient (no sleeping) inside a strict respx mock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from adapters.http import HttpClient, RetryPolicy
from adapters.hubspot.client import RATE_LIMITS

BASE = "https://api.hubapi.com"


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(
        BASE,
        system="hubspot",
        headers={"Authorization": "Bearer test-token"},
        limits=RATE_LIMITS,
        retry=RetryPolicy(max_attempts=3),
        sleep=lambda s: None,
    )
    yield client
    client.close()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router
