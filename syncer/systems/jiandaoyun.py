"""Jiandaoyun (简道云) as the CRM: the config section and the builder of its adapter."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from adapters.http import HttpClient
from adapters.jiandaoyun.client import RATE_LIMITS, JiandaoyunCrm, JiandaoyunSettings, classify
from syncer.config_base import FeedbackFilterConfig, RateLimitConfig, Strict
from syncer.systems.connect import secret, vendor_client

if TYPE_CHECKING:
    from syncer.config import OrgConfig


class JiandaoyunFields(Strict):
    """Widget ids (`_widget_…`) of the three forms; the defaults are the bundled emulator's."""

    # feedback form
    title: str = "_widget_title"
    content: str = "_widget_content"
    category: str = "_widget_category"
    urgency: str = "_widget_urgency"
    customer: str = "_widget_customer"  # text widget holding the customer row's data id
    promised_date: str | None = "_widget_promised"
    requested_by: str | None = None
    group_hint: str | None = None
    backlog_key: str = "_widget_backlog_key"
    backlog_url: str = "_widget_backlog_url"
    backlog_status: str = "_widget_backlog_status"
    backlog_milestone: str = "_widget_milestone"
    backlog_due: str = "_widget_milestone_due"
    # customer form
    customer_name: str = "_widget_name"
    customer_owner: str = "_widget_owner"  # member widget
    customer_tier: str = "_widget_tier"
    customer_arr: str = "_widget_arr"
    customer_open_deal: str = "_widget_open_deal"
    # follow-up form
    alert_title: str = "_widget_alert_title"
    alert_body: str = "_widget_alert_body"
    alert_owner: str = "_widget_alert_owner"  # member widget
    alert_customer: str = "_widget_alert_customer"
    alert_key: str = "_widget_alert_key"


class JiandaoyunConfig(Strict):
    system: Literal["jiandaoyun"]
    base_url: str = "https://api.jiandaoyun.com"
    token_env: str | None = None  # an API key (开放平台 → 密钥管理)
    token_file: Path | None = None
    app_id: str
    feedback_entry_id: str
    customer_entry_id: str
    followup_entry_id: str
    web_url: str = "https://www.jiandaoyun.com"
    feedback: FeedbackFilterConfig = FeedbackFilterConfig(categories=("功能需求",))
    fields: JiandaoyunFields = JiandaoyunFields()
    rate_limits: dict[str, RateLimitConfig] = {}
    # updateTime has ms resolution, but writes commit late and the clocks differ: re-read a minute
    overlap_seconds: float = Field(default=120, ge=60)

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("must be an https:// URL, e.g. https://api.jiandaoyun.com")
        return value.rstrip("/")


def settings_for(section: JiandaoyunConfig) -> JiandaoyunSettings:
    f = section.fields
    return JiandaoyunSettings(
        app_id=section.app_id,
        feedback_entry_id=section.feedback_entry_id,
        customer_entry_id=section.customer_entry_id,
        followup_entry_id=section.followup_entry_id,
        web_url=section.web_url,
        title_field=f.title,
        content_field=f.content,
        category_field=f.category,
        urgency_field=f.urgency,
        customer_field=f.customer,
        promised_date_field=f.promised_date,
        requested_by_field=f.requested_by,
        group_hint_field=f.group_hint,
        backlog_key_field=f.backlog_key,
        backlog_url_field=f.backlog_url,
        backlog_status_field=f.backlog_status,
        backlog_milestone_field=f.backlog_milestone,
        backlog_due_field=f.backlog_due,
        customer_name_field=f.customer_name,
        customer_owner_field=f.customer_owner,
        customer_tier_field=f.customer_tier,
        customer_arr_field=f.customer_arr,
        customer_deal_field=f.customer_open_deal,
        alert_title_field=f.alert_title,
        alert_body_field=f.alert_body,
        alert_owner_field=f.alert_owner,
        alert_customer_field=f.alert_customer,
        alert_key_field=f.alert_key,
    )


def build(
    config: OrgConfig, section: JiandaoyunConfig, redis_url: str | None = None
) -> tuple[JiandaoyunCrm, HttpClient]:
    """The adapter and its HttpClient; Jiandaoyun's 400 `{"code": 8303}` counts as throttling."""
    where = f"{config.source or config.org}: crm.token_env"
    token = secret(section.token_env, section.token_file, where)
    http = vendor_client(
        section.base_url,
        system="jiandaoyun",
        # the 50 req/s budget is per company: every replica shares one budget per app
        account=f"{section.base_url}/{section.app_id}",
        defaults=RATE_LIMITS,
        overrides=section.rate_limits,
        redis_url=redis_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        classify=classify,
    )
    return JiandaoyunCrm(http, settings_for(section)), http
