"""Worktile as the CRM (sales feedback = tasks of one project): the config section and the builder.

What Worktile's open API can and cannot do for us is in `adapters.worktile.client`'s docstring: every
pull is a full scan of the project (no updated-since filter), accounts are derived from the tasks'
customer property, alerts are tasks in a follow-up project found again by a scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from adapters.http import HttpClient
from adapters.worktile.client import RATE_LIMITS, WorktileCrm, WorktileSettings, classify, fetch_token
from syncer.config_base import FeedbackFilterConfig, RateLimitConfig, Strict
from syncer.logging import REDACTOR
from syncer.settings import read_secret

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
        if value is None:
            return None
        if not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("must be an https:// URL, e.g. https://acme.worktile.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_secret(self) -> WorktileConfig:
        if not self.client_secret_env and not self.client_secret_file:
            raise ValueError("set client_secret_env or client_secret_file")
        return self

    @property
    def api_url(self) -> str:
        return self.base_url or f"https://{self.team}.worktile.com"


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


def build(
    config: OrgConfig, section: WorktileConfig, redis_url: str | None = None
) -> tuple[WorktileCrm, HttpClient]:
    """The adapter and its HttpClient; the tenant token is exchanged once here (again on a 1103)."""
    # imported here: syncer.wiring imports this module to dispatch on `system`
    from syncer.wiring import limits_for, shared_for

    where = f"{config.source or config.org}: crm.client_secret_env"
    secret = read_secret(env=section.client_secret_env, file=section.client_secret_file, where=where)
    REDACTOR.register([secret.get_secret_value()])
    limits = limits_for(RATE_LIMITS, section.rate_limits)
    http = HttpClient(
        section.api_url,
        system="worktile",
        headers={"Content-Type": "application/json"},
        limits=limits,
        # (unverified) limits are assumed per team: every replica shares one budget
        limiters=shared_for(redis_url, "worktile", section.api_url, limits),
        classify=classify,
    )

    def refresh() -> str:
        token = fetch_token(http, section.client_id, secret.get_secret_value())
        REDACTOR.register([token])
        return token

    return WorktileCrm(http, settings_for(section), token=refresh(), refresh=refresh), http
