"""PingCode as the tracker: the config section (`tracker: {system: pingcode, ...}`) and its builder.

`build` exchanges the client credentials for an enterprise token once (valid 30 days; PingCode does not
refresh it for us: a revoked or expired token surfaces as AuthError and a restart fetches a new one).
"""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from adapters.http import HttpClient
from adapters.pingcode.client import (
    RATE_LIMITS,
    RETRY_AFTER_HEADERS,
    PingCodeSettings,
    PingCodeTracker,
    fetch_token,
)
from adapters.pingcode.records import DEFAULT_PRIORITY_IDS
from mappings.models import Priority
from syncer.config_base import PriorityTable, RateLimitConfig
from syncer.config_base import Strict as _Strict
from syncer.logging import REDACTOR
from syncer.systems.connect import limits_for, secret, shared_for

if TYPE_CHECKING:
    from syncer.config import OrgConfig


class PingCodePriorities(PriorityTable[str]):
    """Our priorities -> PingCode priority ids (per enterprise; Settings -> 配置中心 -> 优先级)."""

    lowest: str = DEFAULT_PRIORITY_IDS[Priority.LOWEST]
    low: str = DEFAULT_PRIORITY_IDS[Priority.LOW]
    medium: str = DEFAULT_PRIORITY_IDS[Priority.MEDIUM]
    high: str = DEFAULT_PRIORITY_IDS[Priority.HIGH]
    highest: str = DEFAULT_PRIORITY_IDS[Priority.HIGHEST]


class PingCodeConfig(_Strict):
    system: Literal["pingcode"]
    base_url: str = "https://open.pingcode.com"  # private deployments: https://{host}/open
    site_url: str = ""  # the web app for links, e.g. https://acme.pingcode.com ("" = base_url)
    client_id: str = Field(min_length=1)
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    project_id: str = Field(min_length=1)
    type_id: str = Field(min_length=1)  # the 需求 (requirement) work item type id
    marker_property: str = Field(default="syncer_marker", min_length=1)  # custom text property key
    priorities: PingCodePriorities = PingCodePriorities()
    done_state_types: tuple[str, ...] = ("completed",)  # state types (or names) -> done
    wont_do_state_types: tuple[str, ...] = ("closed",)  # -> won't do
    marker_lookback_days: float = Field(default=14, gt=0)  # find_by_markers scans this far back
    utc_offset_hours: float = Field(default=8, ge=-12, le=14)  # release dates read in this zone
    page_size: int = Field(default=100, ge=1, le=100)
    rate_limits: dict[str, RateLimitConfig] = {}
    overlap_seconds: float = Field(default=60, ge=2)  # times are whole unix seconds


def build(
    config: OrgConfig, section: PingCodeConfig, redis_url: str | None = None
) -> tuple[PingCodeTracker, HttpClient]:
    where = f"{config.source or config.org}: tracker.client_secret_env"
    client_secret = secret(section.client_secret_env, section.client_secret_file, where)
    # the token exchange and the API calls share one budget: the same limiter objects for both clients
    limits = limits_for(RATE_LIMITS, section.rate_limits)
    limiters = shared_for(redis_url, "pingcode", f"{section.base_url}#{section.client_id}", limits)
    with HttpClient(
        section.base_url,
        system="pingcode",
        headers={"Accept": "application/json"},
        limits=limits,
        limiters=limiters,
        retry_after_headers=RETRY_AFTER_HEADERS,
    ) as auth_http:
        token = fetch_token(auth_http, section.client_id, client_secret)
    REDACTOR.register([token.access_token])
    http = HttpClient(
        section.base_url,
        system="pingcode",
        headers={"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"},
        limits=limits,
        limiters=limiters,
        retry_after_headers=RETRY_AFTER_HEADERS,
    )
    settings = PingCodeSettings(
        project_id=section.project_id,
        type_id=section.type_id,
        marker_property=section.marker_property,
        priority_ids=section.priorities.as_mapping(),
        done_state_types=frozenset(s.strip().lower() for s in section.done_state_types),
        wont_do_state_types=frozenset(s.strip().lower() for s in section.wont_do_state_types),
        page_size=section.page_size,
        site_url=(section.site_url or section.base_url).rstrip("/"),
        marker_lookback=timedelta(days=section.marker_lookback_days),
        zone=timezone(timedelta(hours=section.utc_offset_hours)),
    )
    return PingCodeTracker(http, settings), http
