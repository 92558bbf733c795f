"""Shared by the Salesforce contract tests: the real HttpClient (no sleeping) inside a strict respx mock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.http import HttpClient
from adapters.salesforce.client import RATE_LIMITS, classify
from tests.contract.fixtures_http import THREE_TRIES, contract_http

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
    with contract_http(
        BASE,
        system="salesforce",
        token="test-token",
        limits=RATE_LIMITS,
        retry=THREE_TRIES,
        classify=classify,
    ) as client:
        yield client
