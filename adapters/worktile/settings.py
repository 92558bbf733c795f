"""Which Worktile projects and task properties carry what.

Property keys are per team (custom properties get generated keys in a real team); the defaults here are
the ones the bundled emulator uses. Configure the real ones in the org config (`crm.properties`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.models import Urgency

_DEFAULT_URGENCY: Mapping[str, Urgency] = {
    "最低": Urgency.LOW,
    "较低": Urgency.LOW,
    "低": Urgency.LOW,
    "普通": Urgency.MEDIUM,
    "中": Urgency.MEDIUM,
    "较高": Urgency.HIGH,
    "高": Urgency.HIGH,
    "最高": Urgency.CRITICAL,
    "紧急": Urgency.CRITICAL,
    "LOW": Urgency.LOW,
    "MEDIUM": Urgency.MEDIUM,
    "HIGH": Urgency.HIGH,
    "URGENT": Urgency.CRITICAL,
    "CRITICAL": Urgency.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class WorktileSettings:
    team: str = "demo"
    project_id: str = "feedback_project"  # the sales-feedback project
    followup_project_id: str = "followup_project"  # where alert tasks are created
    web_url: str = ""  # for task links; default https://{team}.worktile.com (unverified URL shape)
    # feedback task properties (keys inside `task.properties`)
    category_property: str = "category"  # falls back to the first tag's name when empty
    customer_property: str = "customer"  # a text property holding the customer's name = the account id
    requested_by_property: str | None = None
    backlog_key_property: str = "syncer_backlog_key"
    backlog_url_property: str = "syncer_backlog_url"
    backlog_status_property: str = "syncer_backlog_status"
    backlog_milestone_property: str = "syncer_backlog_milestone"
    backlog_due_property: str = "syncer_backlog_due"
    # follow-up (alert) task properties
    alert_key_property: str = "syncer_alert_key"
    alert_customer_property: str = "customer"
    urgency_map: Mapping[str, Urgency] = field(default_factory=lambda: dict(_DEFAULT_URGENCY))

    def task_url(self, task_id: str) -> str:
        base = self.web_url.rstrip("/") or f"https://{self.team}.worktile.com"
        return f"{base}/mission/tasks/{task_id}"
