"""The `tracker: {system: github}` config section and its builder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.github.client import RATE_LIMITS, GitHubSettings, GitHubTracker
from adapters.github.transport import GitHubTransport, classify_github
from adapters.http import HttpClient
from syncer.config_base import RateLimitConfig
from syncer.systems.connect import secret, vendor_client

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
    token = secret(section.token_env, section.token_file, where)
    http = vendor_client(
        section.base_url,
        system="github",
        account=f"{section.base_url}/{section.owner}",
        defaults=RATE_LIMITS,
        overrides=section.rate_limits,
        redis_url=redis_url,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
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
