"""Shared by the Salesforce contract tests: the real HttpClient (no sleeping) inside a strict respx mock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from adapters.http import HttpClient, RetryPolicy
from adapters.salesforce.client import RATE_LIMITS, classify

BASE = "https://acme.my.salesforce.com"
API = f"{BASE}/services/data/v61.0"
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def body_of(call: Any) -> Any:
    return json.loads(call.request.content)


def soql_of(call: Any) -> str:
    return str(call.request.url.params["q"])


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(
        BASE,
        system="salesforce",
        headers={"Authorization": "Bearer test-token"},
        limits=RATE_LIMITS,
        retry=RetryPolicy(max_attempts=3),
        classify=classify,
        sleep=lambda s: None,
    )
    yield client
    client.close()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router
