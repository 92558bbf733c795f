"""What every system's builder does before it builds an adapter: read a credential (and hide it from the
logs at once) and open an HttpClient with the vendor's limits, the org's overrides, and one budget per
vendor account shared by every replica. A module of its own so that `syncer.wiring` and
`syncer/systems/*` both import it (wiring imports the systems, so they cannot import wiring back)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.http import HttpClient, Limiter, RateLimit
from syncer.config_base import RateLimitConfig
from syncer.logging import REDACTOR
from syncer.settings import read_secret
from syncer.shared_limits import shared_limiters


def limits_for(
    defaults: Mapping[str, RateLimit], overrides: Mapping[str, RateLimitConfig]
) -> dict[str, RateLimit]:
    limits = dict(defaults)
    for name, cfg in overrides.items():
        limits[name] = RateLimit(rate=cfg.requests / cfg.per_seconds, burst=max(1, min(cfg.requests, 10)))
    return limits


def shared_for(
    redis_url: str | None, system: str, account: str, limits: dict[str, RateLimit]
) -> dict[str, Limiter]:
    """Budgets shared by every replica through Redis (one per vendor account), when configured."""
    return dict(shared_limiters(redis_url, system, account, limits)) if redis_url else {}


def secret(env: str | None, file: Path | None, where: str) -> str:
    """A credential from its environment variable or secret file, registered with the log redactor
    before anything can print it; `where` names the config key in errors."""
    value = read_secret(env=env, file=file, where=where).get_secret_value()
    REDACTOR.register([value])
    return value


def vendor_client(
    base_url: str,
    *,
    system: str,
    account: str,
    defaults: Mapping[str, RateLimit],
    overrides: Mapping[str, RateLimitConfig],
    redis_url: str | None,
    **options: Any,
) -> HttpClient:
    """The HttpClient of one vendor account: `defaults` limits with the org's `overrides`, shared by
    every replica under `account` when Redis is configured; `options` go to HttpClient as they are."""
    limits = limits_for(defaults, overrides)
    return HttpClient(
        base_url,
        system=system,
        limits=limits,
        limiters=shared_for(redis_url, system, account, limits),
        **options,
    )
