"""Fixtures for the GitHub end-to-end tests."""

from __future__ import annotations

import pytest

from tests.e2e.github.support import T0, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)
