"""Which Jiandaoyun app, forms (entries) and widgets carry what.

Widget ids (`_widget_1432728651402`) are per form and random in a real app; the defaults here are the
ones the bundled emulator uses. Configure the real ones in the org config (`crm.fields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.models import Urgency

_DEFAULT_URGENCY: Mapping[str, Urgency] = {
    "低": Urgency.LOW,
    "中": Urgency.MEDIUM,
    "普通": Urgency.MEDIUM,
    "高": Urgency.HIGH,
    "紧急": Urgency.CRITICAL,
    "LOW": Urgency.LOW,
    "MEDIUM": Urgency.MEDIUM,
    "HIGH": Urgency.HIGH,
    "URGENT": Urgency.CRITICAL,
    "CRITICAL": Urgency.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class JiandaoyunSettings:
    app_id: str = "demo_app"
    feedback_entry_id: str = "feedback_entry"
    customer_entry_id: str = "customer_entry"
    followup_entry_id: str = "followup_entry"
    web_url: str = "https://www.jiandaoyun.com"  # for record links (unverified URL shape)
    # feedback form
    title_field: str = "_widget_title"
    content_field: str = "_widget_content"
    category_field: str = "_widget_category"
    urgency_field: str = "_widget_urgency"
    customer_field: str = "_widget_customer"  # a text widget holding the customer entry's data id
    promised_date_field: str | None = "_widget_promised"
    requested_by_field: str | None = None
    group_hint_field: str | None = None
    backlog_key_field: str = "_widget_backlog_key"
    backlog_url_field: str = "_widget_backlog_url"
    backlog_status_field: str = "_widget_backlog_status"
    backlog_milestone_field: str = "_widget_milestone"
    backlog_due_field: str = "_widget_milestone_due"
    urgency_map: Mapping[str, Urgency] = field(default_factory=lambda: dict(_DEFAULT_URGENCY))
    # customer form
    customer_name_field: str = "_widget_name"
    customer_owner_field: str = "_widget_owner"  # a member widget: {username, name}
    customer_tier_field: str = "_widget_tier"
    customer_arr_field: str = "_widget_arr"
    customer_deal_field: str = "_widget_open_deal"
    # follow-up form (alerts)
    alert_title_field: str = "_widget_alert_title"
    alert_body_field: str = "_widget_alert_body"
    alert_owner_field: str = "_widget_alert_owner"  # a member widget, written as the username
    alert_customer_field: str = "_widget_alert_customer"
    alert_key_field: str = "_widget_alert_key"

    def feedback_fields(self) -> list[str]:
        names = [
            self.title_field,
            self.content_field,
            self.category_field,
            self.urgency_field,
            self.customer_field,
            self.promised_date_field,
            self.requested_by_field,
            self.group_hint_field,
            self.backlog_key_field,
            self.backlog_status_field,
            self.backlog_milestone_field,
            self.backlog_due_field,
            "updateTime",
        ]
        return list(dict.fromkeys(n for n in names if n))

    def customer_fields(self) -> list[str]:
        names = [
            self.customer_name_field,
            self.customer_owner_field,
            self.customer_tier_field,
            self.customer_arr_field,
            self.customer_deal_field,
            "updateTime",
        ]
        return list(dict.fromkeys(names))
