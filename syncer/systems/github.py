"""The `tracker: {system: github}` config section and its builder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.github.client import RATE_LIMITS, GitHubSettings, GitHubTracker
from adapters.github.transport import GitHubTransport, classify_github
from adapters.http import HttpClient, Limiter, RateLimit
from syncer.config_base import RateLimitConfig
from syncer.logging import REDACTOR
from syncer.settings import read_secret
from syncer.shared_limits import shared_limiters

if TYPE_CHECKING:
    from syncer.config import OrgConfig

_NAME = r"^[A-Za-z0-9_.-]{1,100}$"


class GitHubConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: Literal["github"]
    base_url: str = "https://api.github.com"  # GHES: https://{host}/api/v3
    site_url: str = "https://github.com"
    owner: str = Field(pattern=_NAME)
    repo: str = Field(pattern=_NAME)
    token_env: str | None = None
    token_file: Path | None = None
    marker_prefix: str = "syncer-"
    labels: tuple[str, ...] = ()
    rate_limits: dict[str, RateLimitConfig] = {}
    # `since` has second resolution and the sort is on a mutable field: re-read a little
    overlap_seconds: float = Field(default=120, ge=1)

    @field_validator("base_url", "site_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


def build(
    config: OrgConfig, section: GitHubConfig, redis_url: str | None = None
) -> tuple[GitHubTracker, HttpClient]:
    where = f"{config.source or config.org}: tracker.token_env"
    token = read_secret(env=section.token_env, file=section.token_file, where=where).get_secret_value()
    REDACTOR.register([token])
    # not syncer.wiring's helpers: wiring imports this module, so importing it back would be circular
    limits = dict(RATE_LIMITS)
    for name, cfg in section.rate_limits.items():
        limits[name] = RateLimit(rate=cfg.requests / cfg.per_seconds, burst=max(1, min(cfg.requests, 10)))
    account = f"{section.base_url}/{section.owner}"
    shared: dict[str, Limiter] = (
        dict(shared_limiters(redis_url, "github", account, limits)) if redis_url else {}
    )
    http = HttpClient(
        section.base_url,
        system="github",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        limits=limits,
        limiters=shared,
        classify=classify_github,
        retry_after_headers=("Retry-After",),
        transport=GitHubTransport(),
    )
    settings = GitHubSettings(
        owner=section.owner,
        repo=section.repo,
        site_url=section.site_url,
        marker_prefix=section.marker_prefix,
        labels=section.labels,
    )
    return GitHubTracker(http, settings), http
