"""Redmine as the tracker: the config section (`tracker: {system: redmine, ...}`) and its builder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from adapters.http import HttpClient
from adapters.redmine.client import RATE_LIMITS, RedmineSettings, RedmineTracker
from adapters.redmine.records import DEFAULT_PRIORITY_IDS
from mappings.models import Priority
from syncer.config_base import PriorityTable, RateLimitConfig
from syncer.config_base import Strict as _Strict
from syncer.systems.connect import secret, vendor_client

if TYPE_CHECKING:
    from syncer.config import OrgConfig


class RedminePriorities(PriorityTable[int]):
    """Our priorities -> Redmine IssuePriority ids (defaults: Low 1, Normal 2, High 3, Urgent 4)."""

    lowest: int = DEFAULT_PRIORITY_IDS[Priority.LOWEST]
    low: int = DEFAULT_PRIORITY_IDS[Priority.LOW]
    medium: int = DEFAULT_PRIORITY_IDS[Priority.MEDIUM]
    high: int = DEFAULT_PRIORITY_IDS[Priority.HIGH]
    highest: int = DEFAULT_PRIORITY_IDS[Priority.HIGHEST]


class RedmineConfig(_Strict):
    system: Literal["redmine"]
    base_url: str
    token_env: str | None = None  # the API key (My account -> API access key)
    token_file: Path | None = None
    project: str  # identifier or numeric id
    tracker_id: int | None = None  # None: the project's default tracker
    marker_field_id: int = Field(gt=0)  # issue custom field: string, for all projects, used as a filter
    priorities: RedminePriorities = RedminePriorities()
    done_statuses: tuple[str, ...] = ("Closed",)
    wont_do_statuses: tuple[str, ...] = ("Rejected",)
    rate_limits: dict[str, RateLimitConfig] = {}
    overlap_seconds: float = Field(default=60, ge=2)  # `updated_on` has whole-second resolution


def build(
    config: OrgConfig, section: RedmineConfig, redis_url: str | None = None
) -> tuple[RedmineTracker, HttpClient]:
    where = f"{config.source or config.org}: tracker.token_env"
    key = secret(section.token_env, section.token_file, where)
    http = vendor_client(
        section.base_url,
        system="redmine",
        account=section.base_url,
        defaults=RATE_LIMITS,
        overrides=section.rate_limits,
        redis_url=redis_url,
        headers={"X-Redmine-API-Key": key, "Accept": "application/json"},
    )
    settings = RedmineSettings(
        project=section.project,
        marker_field_id=section.marker_field_id,
        tracker_id=section.tracker_id,
        priority_ids=section.priorities.as_mapping(),
        done_statuses=frozenset(s.strip().lower() for s in section.done_statuses),
        wont_do_statuses=frozenset(s.strip().lower() for s in section.wont_do_statuses),
        site_url=section.base_url.rstrip("/"),
    )
    return RedmineTracker(http, settings), http
