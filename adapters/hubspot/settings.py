"""Which HubSpot properties carry what; defaults match a stock Service Hub portal plus our own properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from adapters.hubspot.search import MAX_SEARCH_LIMIT
from mappings.models import Urgency

_DEFAULT_URGENCY: Mapping[str, Urgency] = {
    "LOW": Urgency.LOW,
    "MEDIUM": Urgency.MEDIUM,
    "HIGH": Urgency.HIGH,
    "URGENT": Urgency.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class HubSpotSettings:
    """Which ticket/company properties carry what; defaults match a stock HubSpot Service Hub."""

    portal_id: str = "0"
    category_property: str = "hs_ticket_category"
    pipeline_property: str = "hs_pipeline"
    urgency_property: str = "hs_ticket_priority"
    urgency_map: Mapping[str, Urgency] = field(default_factory=lambda: dict(_DEFAULT_URGENCY))
    group_hint_property: str | None = "feature_request_id"
    requested_by_property: str | None = None
    company_tier_property: str = "customer_tier"
    company_arr_property: str = "annualrevenue"
    backlog_key_property: str = "syncer_backlog_key"
    backlog_url_property: str = "syncer_backlog_url"
    backlog_status_property: str = "syncer_backlog_status"
    backlog_milestone_property: str = "syncer_milestone"
    backlog_due_property: str = "syncer_milestone_due"  # a HubSpot *date* property
    promised_date_property: str | None = "syncer_promised_date"  # a date property sales fills in
    # alerts to account owners become tasks (a to-do in the owner's queue) or notes (timeline only)
    alert_channel: Literal["task", "note"] = "task"
    alert_key_property: str = "syncer_alert_key"  # custom text property on tasks/notes holding Alert.key
    page_size: int = MAX_SEARCH_LIMIT

    def ticket_properties(self) -> list[str]:
        names = [
            "subject",
            "content",
            "hs_lastmodifieddate",
            "createdate",
            self.category_property,
            self.pipeline_property,
            self.urgency_property,
            self.group_hint_property,
            self.requested_by_property,
            self.backlog_key_property,
            self.backlog_status_property,
            self.backlog_milestone_property,
            self.backlog_due_property,
            self.promised_date_property,
        ]
        return list(dict.fromkeys(n for n in names if n))

    def company_properties(self) -> list[str]:
        names = ["name", "hubspot_owner_id", self.company_tier_property, self.company_arr_property]
        return list(dict.fromkeys(names))

    @property
    def alert_object(self) -> Literal["tasks", "notes"]:
        """The CRM object type alerts are written as."""
        return "tasks" if self.alert_channel == "task" else "notes"
