"""The `tracker: {system: linear}` config section and its builder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from adapters.http import HttpClient
from adapters.linear.client import RATE_LIMITS, LinearSettings, LinearTracker
from adapters.linear.transport import LinearTransport, classify_linear
from syncer.config_base import RateLimitConfig, Strict
from syncer.systems.connect import secret, vendor_client

if TYPE_CHECKING:
    from syncer.config import OrgConfig


class LinearConfig(Strict):
    system: Literal["linear"]
    base_url: str = "https://api.linear.app"
    site_url: str = "https://linear.app"
    workspace: str = Field(default="acme", pattern=r"^[A-Za-z0-9_-]{1,100}$")
    team_id: str = Field(min_length=1, max_length=100)
    # personal API keys go in as `Authorization: <key>`; OAuth access tokens as `Bearer <token>`
    auth: Literal["api_key", "oauth"] = "api_key"
    token_env: str | None = None
    token_file: Path | None = None
    label_ids: tuple[str, ...] = ()
    page_size: int = Field(default=100, ge=1, le=250)
    rate_limits: dict[str, RateLimitConfig] = {}
    # `updatedAt >= since` at millisecond resolution; re-read a little for index lag
    overlap_seconds: float = Field(default=60, ge=1)

    @field_validator("base_url", "site_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


def build(
    config: OrgConfig, section: LinearConfig, redis_url: str | None = None
) -> tuple[LinearTracker, HttpClient]:
    where = f"{config.source or config.org}: tracker.token_env"
    token = secret(section.token_env, section.token_file, where)
    http = vendor_client(
        section.base_url,
        system="linear",
        account=f"{section.base_url}/{section.workspace}",
        defaults=RATE_LIMITS,
        overrides=section.rate_limits,
        redis_url=redis_url,
        headers={
            "Authorization": token if section.auth == "api_key" else f"Bearer {token}",
            "Content-Type": "application/json",
        },
        classify=classify_linear,
        retry_after_headers=("Retry-After",),
        transport=LinearTransport(),
    )
    settings = LinearSettings(
        team_id=section.team_id,
        site_url=section.site_url,
        workspace=section.workspace,
        label_ids=section.label_ids,
        page_size=section.page_size,
    )
    return LinearTracker(http, settings), http
