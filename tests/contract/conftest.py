"""Fixtures every contract test may ask for; the helpers they build on are in `fixtures_http`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.contract.fixtures_http import respx_router


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """The strict respx router, active for the whole test."""
    with respx_router() as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    """What the HttpClient would have slept, for tests that pass `sleep=sleeps.append`."""
    return []
