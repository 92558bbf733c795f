"""Fixtures for the Jira end-to-end tests."""

from __future__ import annotations

import pytest

from tests.e2e.jira.support import T0, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)
