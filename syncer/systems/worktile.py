"""Worktile as the CRM (`crm: {system: worktile}`: sales feedback = tasks of one project) and as the
tracker (`tracker: {system: worktile}`: backlog items = tasks of a product project, milestones = tasks of a
里程碑 type): the config sections and their builders.

What Worktile's open API can and cannot do for us is in the docstrings of `adapters.worktile.client`
(CRM) and `adapters.worktile.tracker` (tracker): every pull is a full scan of the project (no
updated-since filter), markers are found again by a scan, there is no version/sprint API.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from adapters.http import HttpClient
from adapters.worktile.client import RATE_LIMITS, WorktileCrm, WorktileSettings, classify, fetch_token
from adapters.worktile.settings import (
    DEFAULT_DONE_STATE_TYPES,
    DEFAULT_IN_PROGRESS_STATE_TYPES,
    DEFAULT_PRIORITY_NAMES,
    DEFAULT_WONT_DO_STATE_NAMES,
    DEFAULT_WONT_DO_STATE_TYPES,
    WorktileTrackerSettings,
)
from adapters.worktile.tracker import WorktileTracker
from mappings.models import Priority
from syncer.config_base import FeedbackFilterConfig, PriorityTable, RateLimitConfig, Strict
from syncer.logging import REDACTOR
from syncer.systems.connect import secret, vendor_client

if TYPE_CHECKING:
    from syncer.config import OrgConfig


class WorktileProperties(Strict):
    """Keys of task properties (custom properties have per-team keys); the defaults are the emulator's."""

    category: str = "category"  # falls back to the first tag's name
    customer: str = "customer"  # text property: the customer's name, used as the account id
    requested_by: str | None = None
    backlog_key: str = "syncer_backlog_key"
    backlog_url: str = "syncer_backlog_url"
    backlog_status: str = "syncer_backlog_status"
    backlog_milestone: str = "syncer_backlog_milestone"
    backlog_due: str = "syncer_backlog_due"
    alert_key: str = "syncer_alert_key"
    alert_customer: str = "customer"


class WorktileConfig(Strict):
    system: Literal["worktile"]
    base_url: str | None = None  # default https://{team}.worktile.com
    team: str
    client_id: str
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    project_id: str
    followup_project_id: str
    web_url: str | None = None
    feedback: FeedbackFilterConfig = FeedbackFilterConfig(categories=("功能需求",))
    properties: WorktileProperties = WorktileProperties()
    rate_limits: dict[str, RateLimitConfig] = {}
    # every pull is a full scan; the window only trims what is handed on. Stamps are whole seconds.
    overlap_seconds: float = Field(default=120, ge=60)

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        return _https_url(value)

    @model_validator(mode="after")
    def _one_secret(self) -> WorktileConfig:
        _require_secret(self.client_secret_env, self.client_secret_file)
        return self

    @property
    def api_url(self) -> str:
        return self.base_url or f"https://{self.team}.worktile.com"


def _https_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ValueError("must be an https:// URL, e.g. https://acme.worktile.com")
    return value.rstrip("/")


def _require_secret(env: str | None, file: Path | None) -> None:
    if not env and not file:
        raise ValueError("set client_secret_env (or client_secret_file) naming the app's client secret")


class WorktilePriorities(PriorityTable[str]):
    """Our priorities -> Worktile priorities (id or name; the defaults are Worktile's default names)."""

    lowest: str = DEFAULT_PRIORITY_NAMES[Priority.LOWEST]
    low: str = DEFAULT_PRIORITY_NAMES[Priority.LOW]
    medium: str = DEFAULT_PRIORITY_NAMES[Priority.MEDIUM]
    high: str = DEFAULT_PRIORITY_NAMES[Priority.HIGH]
    highest: str = DEFAULT_PRIORITY_NAMES[Priority.HIGHEST]


class WorktileTrackerConfig(Strict):
    """`tracker: {system: worktile}`: backlog items are tasks of `project_id` (of `task_type_id`)."""

    system: Literal["worktile"]
    base_url: str | None = None  # default https://{team}.worktile.com
    team: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    project_id: str = Field(min_length=1)
    task_type_id: str | None = None  # the 需求 task type; unset = every task that is not a milestone
    milestone_type_id: str = Field(default="milestone", min_length=1)  # the 里程碑 task type
    milestone_project_id: str | None = None  # where milestone tasks live (default: project_id)
    marker_property: str = Field(default="syncer_marker", min_length=1)  # custom text property key
    milestone_property: str = Field(default="milestone", min_length=1)  # item property naming its milestone
    priorities: WorktilePriorities = WorktilePriorities()
    done_state_types: tuple[int, ...] = tuple(sorted(DEFAULT_DONE_STATE_TYPES))
    in_progress_state_types: tuple[int, ...] = tuple(sorted(DEFAULT_IN_PROGRESS_STATE_TYPES))
    wont_do_state_types: tuple[int, ...] = tuple(sorted(DEFAULT_WONT_DO_STATE_TYPES))
    wont_do_state_names: tuple[str, ...] = tuple(sorted(DEFAULT_WONT_DO_STATE_NAMES))
    web_url: str | None = None  # links; default https://{team}.worktile.com
    utc_offset_hours: float = Field(default=8, ge=-12, le=14)  # milestone due days are read in this zone
    page_size: int = Field(default=100, ge=1, le=100)
    rate_limits: dict[str, RateLimitConfig] = {}
    overlap_seconds: float = Field(default=60, ge=2)  # stamps are whole seconds; every pull is a scan

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        return _https_url(value)

    @model_validator(mode="after")
    def _consistent(self) -> WorktileTrackerConfig:
        _require_secret(self.client_secret_env, self.client_secret_file)
        if self.task_type_id is not None and self.task_type_id == self.milestone_type_id:
            raise ValueError(
                "task_type_id and milestone_type_id are the same type: set milestone_type_id to the "
                "里程碑 task type's id"
            )
        if self.marker_property == self.milestone_property:
            raise ValueError("marker_property and milestone_property must be different task properties")
        return self

    @property
    def api_url(self) -> str:
        return self.base_url or f"https://{self.team}.worktile.com"


def tracker_settings_for(section: WorktileTrackerConfig) -> WorktileTrackerSettings:
    return WorktileTrackerSettings(
        project_id=section.project_id,
        task_type_id=section.task_type_id,
        milestone_type_id=section.milestone_type_id,
        milestone_project_id=section.milestone_project_id,
        marker_property=section.marker_property,
        milestone_property=section.milestone_property,
        priorities=section.priorities.as_mapping(),
        done_state_types=frozenset(section.done_state_types),
        in_progress_state_types=frozenset(section.in_progress_state_types),
        wont_do_state_types=frozenset(section.wont_do_state_types),
        wont_do_state_names=frozenset(n.strip() for n in section.wont_do_state_names),
        team=section.team,
        web_url=section.web_url or "",
        utc_offset_hours=section.utc_offset_hours,
        page_size=section.page_size,
    )


def settings_for(section: WorktileConfig) -> WorktileSettings:
    p = section.properties
    return WorktileSettings(
        team=section.team,
        project_id=section.project_id,
        followup_project_id=section.followup_project_id,
        web_url=section.web_url or "",
        category_property=p.category,
        customer_property=p.customer,
        requested_by_property=p.requested_by,
        backlog_key_property=p.backlog_key,
        backlog_url_property=p.backlog_url,
        backlog_status_property=p.backlog_status,
        backlog_milestone_property=p.backlog_milestone,
        backlog_due_property=p.backlog_due,
        alert_key_property=p.alert_key,
        alert_customer_property=p.alert_customer,
    )


def _connect(
    config: OrgConfig,
    section: WorktileConfig | WorktileTrackerConfig,
    role: str,
    redis_url: str | None,
) -> tuple[HttpClient, Callable[[], str]]:
    """The HttpClient for a team and a function exchanging the tenant token (again on a 1103)."""
    where = f"{config.source or config.org}: {role}.client_secret_env"
    client_secret = secret(section.client_secret_env, section.client_secret_file, where)
    http = vendor_client(
        section.api_url,
        system="worktile",
        # (unverified) limits are assumed per team: every replica (and CRM + tracker) shares one budget
        account=section.api_url,
        defaults=RATE_LIMITS,
        overrides=section.rate_limits,
        redis_url=redis_url,
        headers={"Content-Type": "application/json"},
        classify=classify,
    )

    def refresh() -> str:
        token = fetch_token(http, section.client_id, client_secret)
        REDACTOR.register([token])
        return token

    return http, refresh


def build(
    config: OrgConfig, section: WorktileConfig, redis_url: str | None = None
) -> tuple[WorktileCrm, HttpClient]:
    """The CRM adapter and its HttpClient; the tenant token is exchanged once here (again on a 1103)."""
    http, refresh = _connect(config, section, "crm", redis_url)
    return WorktileCrm(http, settings_for(section), token=refresh(), refresh=refresh), http


def build_tracker(
    config: OrgConfig, section: WorktileTrackerConfig, redis_url: str | None = None
) -> tuple[WorktileTracker, HttpClient]:
    """The tracker adapter and its HttpClient; the tenant token is exchanged once here."""
    http, refresh = _connect(config, section, "tracker", redis_url)
    return WorktileTracker(http, tracker_settings_for(section), token=refresh(), refresh=refresh), http
