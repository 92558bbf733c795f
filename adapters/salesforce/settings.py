"""Which Salesforce objects and fields carry what; defaults match a stock org plus our custom fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.models import Urgency

_DEFAULT_URGENCY: Mapping[str, Urgency] = {
    "LOW": Urgency.LOW,
    "MEDIUM": Urgency.MEDIUM,
    "NORMAL": Urgency.MEDIUM,
    "HIGH": Urgency.HIGH,
    "URGENT": Urgency.CRITICAL,
    "CRITICAL": Urgency.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class SalesforceSettings:
    """Object and field API names in the customer's org; `Case` fields are the standard ones."""

    api_version: str = "v61.0"
    instance_url: str = ""  # for record links; the HTTP client's base URL when empty
    feedback_object: str = "Case"
    subject_field: str = "Subject"
    description_field: str = "Description"
    category_field: str = "Type"
    pipeline_field: str = "Origin"
    urgency_field: str = "Priority"
    urgency_map: Mapping[str, Urgency] = field(default_factory=lambda: dict(_DEFAULT_URGENCY))
    account_field: str = "AccountId"
    record_type_id: str | None = None  # only feedback of this record type (e.g. "Feature Request")
    group_hint_field: str | None = None
    requested_by_field: str | None = None
    account_arr_field: str = "AnnualRevenue"
    account_tier_field: str = "Customer_Tier__c"
    backlog_key_field: str = "Syncer_Backlog_Key__c"
    backlog_url_field: str = "Syncer_Backlog_Url__c"
    backlog_status_field: str = "Syncer_Backlog_Status__c"
    backlog_milestone_field: str = "Syncer_Milestone__c"
    backlog_due_field: str = "Syncer_Milestone_Due__c"  # a Date field
    promised_date_field: str | None = "Syncer_Promised_Date__c"  # a Date field sales fills in
    alert_key_field: str = "Syncer_Alert_Key__c"  # Task custom field: External ID + Unique

    @property
    def base(self) -> str:
        return f"/services/data/{self.api_version}"

    def feedback_fields(self) -> list[str]:
        names = [
            "Id",
            "SystemModstamp",
            self.subject_field,
            self.description_field,
            self.category_field,
            self.pipeline_field,
            self.urgency_field,
            self.account_field,
            self.group_hint_field,
            self.requested_by_field,
            self.backlog_key_field,
            self.backlog_status_field,
            self.backlog_milestone_field,
            self.backlog_due_field,
            self.promised_date_field,
        ]
        return list(dict.fromkeys(n for n in names if n))

    def account_fields(self) -> list[str]:
        names = [
            "Id",
            "Name",
            "SystemModstamp",
            "OwnerId",
            "Owner.Id",
            "Owner.Email",
            "Owner.Name",
            self.account_tier_field,
            self.account_arr_field,
        ]
        return list(dict.fromkeys(names))
