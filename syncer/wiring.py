"""Build adapters from an org config: the only place that knows which class serves which `system`."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import httpx

from adapters.http import HttpClient
from adapters.hubspot.client import RATE_LIMITS as HUBSPOT_LIMITS
from adapters.hubspot.client import HubSpotCrm, HubSpotSettings
from adapters.jira.client import RATE_LIMITS as JIRA_LIMITS
from adapters.jira.client import JiraSettings, JiraTracker
from adapters.webhook.client import RATE_LIMITS as WEBHOOK_LIMITS
from adapters.webhook.client import WebhookAlerts
from syncer.config import HubSpotConfig, JiraConfig, OrgConfig
from syncer.logging import REDACTOR
from syncer.ports import AlertSink, CrmAdapter, TrackerAdapter
from syncer.systems.connect import secret, vendor_client


@dataclass
class Adapters:
    """The adapters of one org for one run, plus their HTTP clients (for request counts and closing)."""

    crm: CrmAdapter
    tracker: TrackerAdapter
    alerts: AlertSink
    clients: list[HttpClient] = field(default_factory=list)

    def requests(self) -> int:
        return sum(c.requests for c in self.clients)

    def statuses(self) -> dict[int, int]:
        total: dict[int, int] = {}
        for client in self.clients:
            for status, n in client.statuses.items():
                total[status] = total.get(status, 0) + n
        return total

    def close(self) -> None:
        for client in self.clients:
            client.close()


def _where(config: OrgConfig, section: str) -> str:
    return f"{config.source or config.org}: {section}.token_env"


def build_hubspot(
    config: OrgConfig, crm: HubSpotConfig, redis_url: str | None = None
) -> tuple[HubSpotCrm, HttpClient]:
    token = secret(crm.token_env, crm.token_file, _where(config, "crm"))
    http = vendor_client(
        crm.base_url,
        system="hubspot",
        account=crm.portal_id if crm.portal_id != "0" else crm.base_url,
        defaults=HUBSPOT_LIMITS,
        overrides=crm.rate_limits,
        redis_url=redis_url,
        headers={"Authorization": f"Bearer {token}"},
    )
    p = crm.properties
    settings = HubSpotSettings(
        portal_id=crm.portal_id,
        category_property=p.category,
        pipeline_property=p.pipeline,
        urgency_property=p.urgency,
        group_hint_property=p.group_hint,
        requested_by_property=p.requested_by,
        company_tier_property=p.company_tier,
        company_arr_property=p.company_arr,
        backlog_key_property=p.backlog_key,
        backlog_url_property=p.backlog_url,
        backlog_status_property=p.backlog_status,
        backlog_milestone_property=p.backlog_milestone,
        backlog_due_property=p.backlog_due,
        promised_date_property=p.promised_date,
        alert_channel="note" if config.alerts.channel == "crm_note" else "task",
        alert_key_property=p.alert_key,
    )
    return HubSpotCrm(http, settings), http


def build_jira(
    config: OrgConfig, tracker: JiraConfig, redis_url: str | None = None
) -> tuple[JiraTracker, HttpClient]:
    token = secret(tracker.token_env, tracker.token_file, _where(config, "tracker"))
    basic = base64.b64encode(f"{tracker.email}:{token}".encode()).decode()
    REDACTOR.register([basic])
    http = vendor_client(
        tracker.base_url,
        system="jira",
        account=tracker.base_url,
        defaults=JIRA_LIMITS,
        overrides=tracker.rate_limits,
        redis_url=redis_url,
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        retry_after_headers=("Retry-After",),
    )
    settings = JiraSettings(
        project_key=tracker.project,
        site_url=tracker.base_url.rstrip("/"),
        issue_type=tracker.issue_type,
        accounts_field=tracker.fields.accounts,
        arr_field=tracker.fields.arr,
        open_deals_field=tracker.fields.open_deals,
        jql_time_zone=tracker.jql_time_zone,
    )
    return JiraTracker(http, settings), http


def build_webhook(config: OrgConfig) -> tuple[WebhookAlerts, HttpClient]:
    alerts = config.alerts
    where = f"{config.source or config.org}: alerts.webhook_url_env"
    url = secret(alerts.webhook_url_env, alerts.webhook_url_file, where)  # a webhook URL is a credential
    parsed = httpx.URL(url)
    origin = str(parsed.copy_with(path="/", query=None, fragment=None)).rstrip("/")
    path = parsed.raw_path.decode("ascii") or "/"
    http = HttpClient(origin, system="webhook", limits=dict(WEBHOOK_LIMITS))
    return WebhookAlerts(http, path), http


def build_tracker(config: OrgConfig, redis_url: str | None = None) -> tuple[TrackerAdapter, HttpClient]:
    """The tracker adapter named by `tracker.system`."""
    section = config.tracker
    if isinstance(section, JiraConfig):
        return build_jira(config, section, redis_url)
    from syncer.systems import github, linear, pingcode, redmine, worktile

    if isinstance(section, github.GitHubConfig):
        return github.build(config, section, redis_url)
    if isinstance(section, linear.LinearConfig):
        return linear.build(config, section, redis_url)
    if isinstance(section, pingcode.PingCodeConfig):
        return pingcode.build(config, section, redis_url)
    if isinstance(section, worktile.WorktileTrackerConfig):
        return worktile.build_tracker(config, section, redis_url)
    return redmine.build(config, section, redis_url)


def build_crm(config: OrgConfig, redis_url: str | None = None) -> tuple[CrmAdapter, HttpClient]:
    """The CRM adapter named by `crm.system`."""
    section = config.crm
    if isinstance(section, HubSpotConfig):
        return build_hubspot(config, section, redis_url)
    from syncer.systems import jiandaoyun, salesforce, worktile

    if isinstance(section, jiandaoyun.JiandaoyunConfig):
        return jiandaoyun.build(config, section, redis_url)
    if isinstance(section, worktile.WorktileConfig):
        return worktile.build(config, section, redis_url)
    return salesforce.build(config, section, redis_url)


def build_adapters(config: OrgConfig, redis_url: str | None = None) -> Adapters:
    """The org's adapters for one run; with `redis_url`, rate budgets are shared across replicas."""
    crm, crm_http = build_crm(config, redis_url)
    tracker, tracker_http = build_tracker(config, redis_url)
    clients = [crm_http, tracker_http]
    alerts: AlertSink = crm
    if config.alerts.channel == "webhook":
        alerts, hook_http = build_webhook(config)
        clients.append(hook_http)
    return Adapters(crm=crm, tracker=tracker, alerts=alerts, clients=clients)
