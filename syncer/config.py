"""Org config files: one YAML per organisation, validated, with errors that name file, key and fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from croniter import CroniterError, croniter
from pydantic import Field, ValidationError, field_validator, model_validator

from syncer.config_base import FeedbackFilterConfig, RateLimitConfig, Strict
from syncer.errors import ConfigError
from syncer.systems.github import GitHubConfig
from syncer.systems.jiandaoyun import JiandaoyunConfig
from syncer.systems.linear import LinearConfig
from syncer.systems.pingcode import PingCodeConfig
from syncer.systems.redmine import RedmineConfig
from syncer.systems.salesforce import SalesforceConfig
from syncer.systems.worktile import WorktileConfig, WorktileTrackerConfig

_Strict = Strict


class HubSpotProperties(_Strict):
    """Property names in the customer's portal; defaults match HubSpot's built-ins plus ours."""

    category: str = "hs_ticket_category"
    pipeline: str = "hs_pipeline"
    urgency: str = "hs_ticket_priority"
    group_hint: str | None = "feature_request_id"
    requested_by: str | None = None
    company_tier: str = "customer_tier"
    company_arr: str = "annualrevenue"
    backlog_key: str = "syncer_backlog_key"
    backlog_url: str = "syncer_backlog_url"
    backlog_status: str = "syncer_backlog_status"
    backlog_milestone: str = "syncer_milestone"
    backlog_due: str = "syncer_milestone_due"
    promised_date: str | None = "syncer_promised_date"
    alert_key: str = "syncer_alert_key"


class HubSpotConfig(_Strict):
    system: Literal["hubspot"]
    base_url: str = "https://api.hubapi.com"
    portal_id: str = "0"
    token_env: str | None = None
    token_file: Path | None = None
    feedback: FeedbackFilterConfig = FeedbackFilterConfig(categories=("FEATURE_REQUEST",))
    properties: HubSpotProperties = HubSpotProperties()
    rate_limits: dict[str, RateLimitConfig] = {}
    overlap_seconds: float = Field(default=120, ge=0)


class JiraFields(_Strict):
    accounts: str | None = None
    arr: str | None = None
    open_deals: str | None = None


class JiraConfig(_Strict):
    system: Literal["jira"]
    base_url: str
    email: str
    token_env: str | None = None
    token_file: Path | None = None
    project: str
    issue_type: str = "Story"
    fields: JiraFields = JiraFields()
    jql_time_zone: str = "UTC"
    rate_limits: dict[str, RateLimitConfig] = {}
    overlap_seconds: float = Field(default=120, ge=60)  # JQL has minute resolution

    @field_validator("project")
    @classmethod
    def _project_key(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,9}", value):
            raise ValueError("must be a Jira project key like PROD (upper-case letters and digits)")
        return value


CrmConfig = Annotated[
    HubSpotConfig | SalesforceConfig | JiandaoyunConfig | WorktileConfig, Field(discriminator="system")
]
TrackerConfig = Annotated[
    JiraConfig | GitHubConfig | RedmineConfig | LinearConfig | PingCodeConfig | WorktileTrackerConfig,
    Field(discriminator="system"),
]


class PriorityConfig(_Strict):
    urgency: dict[Literal["low", "medium", "high", "critical"], float] = {
        "low": 1.0,
        "medium": 2.0,
        "high": 3.0,
        "critical": 5.0,
    }
    tiers: dict[str, float] = {"enterprise": 3.0, "mid-market": 2.0, "smb": 1.0}
    default_tier_weight: float = 1.0
    arr_unit: float = Field(default=100_000.0, gt=0)
    thresholds: dict[Literal["highest", "high", "medium", "low"], float] = {
        "highest": 60.0,
        "high": 25.0,
        "medium": 8.0,
        "low": 3.0,
    }


class SyncConfig(_Strict):
    labels: tuple[str, ...] = ("customer-feedback",)
    require_account: bool = True
    # an unfinished create younger than this is not retried: the tracker's search may not show it yet
    adopt_grace_seconds: float = Field(default=60, ge=0)
    max_body_chars: int = Field(default=30_000, ge=1_000, le=32_000)
    # items created per tracker call (and per recorded intent batch); smaller = less to adopt after a crash
    create_batch_size: int = Field(default=50, ge=1, le=50)


class AlertsConfig(_Strict):
    """Where milestone alerts go: a CRM task for the owner, a CRM note, or a webhook (Slack-compatible)."""

    channel: Literal["crm_task", "crm_note", "webhook"] = "crm_task"
    webhook_url_env: str | None = None
    webhook_url_file: Path | None = None
    due_soon_days: int = Field(default=14, ge=0, le=365)

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> AlertsConfig:
        if self.channel == "webhook" and not (self.webhook_url_env or self.webhook_url_file):
            raise ValueError(
                "channel webhook needs `webhook_url_env:` (or `webhook_url_file:`) naming the secret URL"
            )
        return self


_CRON_PROBE = datetime(2000, 1, 1, tzinfo=UTC)


class OrgConfig(_Strict):
    org: str
    crm: CrmConfig
    tracker: TrackerConfig
    priority: PriorityConfig = PriorityConfig()
    sync: SyncConfig = SyncConfig()
    alerts: AlertsConfig = AlertsConfig()
    # the language of what people read: alerts, notes and item bodies (`syncer status` follows it too)
    locale: Literal["en", "zh-CN"] = "en"
    schedule: str = "*/15 * * * *"  # cron (UTC) for `syncer schedule`
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("org")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", value):
            raise ValueError("must be a short slug: lower-case letters, digits, '-' or '_'")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        value = value.strip()
        fields = len(value.split())
        if not (fields == 5 or (fields == 1 and value.startswith("@"))) or not croniter.is_valid(value):
            raise ValueError(
                f"{value!r} is not a cron expression: give 5 fields (minute hour day-of-month month "
                "day-of-week, UTC) like '*/15 * * * *', or @hourly / @daily"
            )
        try:  # valid syntax that never fires (e.g. 30 February) would stall the org forever
            croniter(value, _CRON_PROBE).get_next(datetime)
        except CroniterError as exc:
            raise ValueError(f"{value!r} never fires: pick days that exist") from exc
        return value


SYSTEM_TAGS = frozenset(
    {"hubspot", "salesforce", "jiandaoyun", "worktile", "jira", "github", "redmine", "linear", "pingcode"}
)  # union tags in error paths

_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it or check its spelling",
    "literal_error": "use one of the allowed values",
    "union_tag_invalid": "set `system:` to a supported system",
    "union_tag_not_found": "add `system:` (for example `system: hubspot` or `system: jira`)",
    "string_type": "give a text value (quote it if it looks like a number)",
    "greater_than": "use a larger number",
    "greater_than_equal": "use a larger number",
    "int_parsing": "give a whole number",
    "float_parsing": "give a number",
    "value_error": "see the message",
}


def _describe(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"] if str(p) not in SYSTEM_TAGS) or "(top level)"
        fix = _FIXES.get(err["type"], "see the config reference in README.md")
        lines.append(f"  {key}: {err['msg']} -> fix: {fix}")
    return "\n".join(lines)


def parse_org_config(path: Path, data: Any) -> OrgConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level (org:, crm:, tracker:)")
    try:
        config = OrgConfig.model_validate({**data, "source": path})
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc)) from exc
    if config.org != path.stem and path.suffix in (".yaml", ".yml"):
        raise ConfigError(
            f"{path}: org: '{config.org}' must match the file name; rename the file to {config.org}.yaml"
        )
    return config


def load_org_config(path: Path) -> OrgConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    return parse_org_config(path, data)


def iter_config_files(config_dir: Path) -> Iterator[Path]:
    if not config_dir.is_dir():
        raise ConfigError(f"{config_dir}: not a directory; pass --config-dir or set SYNCER_CONFIG_DIR")
    yield from sorted(p for p in config_dir.iterdir() if p.suffix in (".yaml", ".yml"))


def find_org_config(config_dir: Path, org: str) -> OrgConfig:
    for candidate in (config_dir / f"{org}.yaml", config_dir / f"{org}.yml"):
        if candidate.exists():
            return load_org_config(candidate)
    raise ConfigError(f"{config_dir}: no config for org '{org}'; create {config_dir / (org + '.yaml')}")
