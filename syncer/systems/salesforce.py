"""Salesforce as the CRM: the config section and the builder of its adapter."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.http import HttpClient
from adapters.salesforce.client import RATE_LIMITS, SalesforceCrm, SalesforceSettings, classify
from syncer.config_base import FeedbackFilterConfig, RateLimitConfig
from syncer.systems.connect import secret, vendor_client

if TYPE_CHECKING:
    from syncer.config import OrgConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SalesforceFields(_Strict):
    """Object and field API names in the customer's org; defaults: standard Case/Account plus ours."""

    feedback_object: str = "Case"
    subject: str = "Subject"
    description: str = "Description"
    category: str = "Type"
    pipeline: str = "Origin"
    urgency: str = "Priority"
    account: str = "AccountId"
    group_hint: str | None = None
    requested_by: str | None = None
    account_tier: str = "Customer_Tier__c"
    account_arr: str = "AnnualRevenue"
    backlog_key: str = "Syncer_Backlog_Key__c"
    backlog_url: str = "Syncer_Backlog_Url__c"
    backlog_status: str = "Syncer_Backlog_Status__c"
    backlog_milestone: str = "Syncer_Milestone__c"
    backlog_due: str = "Syncer_Milestone_Due__c"
    promised_date: str | None = "Syncer_Promised_Date__c"
    alert_key: str = "Syncer_Alert_Key__c"


class SalesforceConfig(_Strict):
    system: Literal["salesforce"]
    instance_url: str  # e.g. https://acme.my.salesforce.com (the `instance_url` of the token response)
    token_env: str | None = None  # an OAuth access token (client-credentials or JWT bearer flow)
    token_file: Path | None = None
    api_version: str = "v61.0"
    record_type_id: str | None = None
    feedback: FeedbackFilterConfig = FeedbackFilterConfig(categories=("Feature Request",))
    fields: SalesforceFields = SalesforceFields()
    rate_limits: dict[str, RateLimitConfig] = {}
    # SystemModstamp has whole-second resolution; system jobs commit late: re-read a minute or more
    overlap_seconds: float = Field(default=120, ge=60)

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        text = value if value.startswith("v") else f"v{value}"
        if not text[1:].replace(".", "", 1).isdigit() or "." not in text:
            raise ValueError("must be an API version like v61.0")
        return text

    @field_validator("instance_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("must be the org's https:// instance URL, e.g. https://acme.my.salesforce.com")
        return value.rstrip("/")


def settings_for(section: SalesforceConfig) -> SalesforceSettings:
    f = section.fields
    return SalesforceSettings(
        api_version=section.api_version,
        instance_url=section.instance_url,
        feedback_object=f.feedback_object,
        subject_field=f.subject,
        description_field=f.description,
        category_field=f.category,
        pipeline_field=f.pipeline,
        urgency_field=f.urgency,
        account_field=f.account,
        record_type_id=section.record_type_id,
        group_hint_field=f.group_hint,
        requested_by_field=f.requested_by,
        account_arr_field=f.account_arr,
        account_tier_field=f.account_tier,
        backlog_key_field=f.backlog_key,
        backlog_url_field=f.backlog_url,
        backlog_status_field=f.backlog_status,
        backlog_milestone_field=f.backlog_milestone,
        backlog_due_field=f.backlog_due,
        promised_date_field=f.promised_date,
        alert_key_field=f.alert_key,
    )


def build(
    config: OrgConfig, section: SalesforceConfig, redis_url: str | None = None
) -> tuple[SalesforceCrm, HttpClient]:
    """The adapter and its HttpClient; Salesforce's 403 REQUEST_LIMIT_EXCEEDED counts as throttling."""
    where = f"{config.source or config.org}: crm.token_env"
    token = secret(section.token_env, section.token_file, where)
    http = vendor_client(
        section.instance_url,
        system="salesforce",
        # the API allocation is org-wide: every replica shares one budget per instance
        account=section.instance_url,
        defaults=RATE_LIMITS,
        overrides=section.rate_limits,
        redis_url=redis_url,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        classify=classify,
    )
    return SalesforceCrm(http, settings_for(section)), http
