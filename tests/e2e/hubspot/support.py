"""Constants and fixture types the HubSpot end-to-end tests share."""

from __future__ import annotations

from adapters.http import RateLimit
from tests.e2e.serving import Clients as Clients
from tests.e2e.serving import Serve as Serve

TOKEN = "e2e-token"
FAST = {"default": RateLimit(rate=1000, burst=1000), "search": RateLimit(rate=1000, burst=1000)}
