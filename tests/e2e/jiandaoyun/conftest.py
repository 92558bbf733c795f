"""Shared by the Jiandaoyun end-to-end tests: the emulator served on 127.0.0.1 and real HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.http import RateLimit
from adapters.jiandaoyun.client import classify
from tests.e2e.serving import QUICK_RETRY, http_clients
from tests.e2e.serving import Clients as Clients  # the types its tests import from here
from tests.e2e.serving import Serve as Serve
from tests.e2e.serving import serve as serve  # the fixture, for this folder

TOKEN = "e2e-key"
FAST = {"default": RateLimit(rate=1000, burst=1000), "batch": RateLimit(rate=1000, burst=1000)}


@pytest.fixture
def clients() -> Iterator[Clients]:
    with http_clients("jiandaoyun", token=TOKEN, limits=FAST, classify=classify, retry=QUICK_RETRY) as make:
        yield make
