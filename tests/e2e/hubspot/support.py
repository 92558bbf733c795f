"""Constants and fixture types the HubSpot end-to-end tests share."""

from __future__ import annotations

from collections.abc import Callable

from adapters.http import HttpClient, RateLimit
from adapters.hubspot.emulator import HubSpotEmulator

TOKEN = "e2e-token"
FAST = {"default": RateLimit(rate=1000, burst=1000), "search": RateLimit(rate=1000, burst=1000)}
Serve = Callable[[HubSpotEmulator], str]
Clients = Callable[..., HttpClient]
