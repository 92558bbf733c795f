"""Which Worktile projects, task types and task properties carry what (CRM side and tracker side).

Property keys are per team (custom properties get generated keys in a real team); the defaults here are
the ones the bundled emulator uses. Configure the real ones in the org config (`crm.properties`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.models import Priority, Urgency

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


# Worktile's task state types as seen in third-party client code (unverified): 1 not started,
# 2 in progress, 3 finished (every terminal state, 已完成 as well as 已关闭/已取消 in some teams).
DEFAULT_DONE_STATE_TYPES = frozenset({3})
DEFAULT_IN_PROGRESS_STATE_TYPES = frozenset({2})
DEFAULT_WONT_DO_STATE_TYPES = frozenset({4})  # a "cancelled" type seen in one client's display table
DEFAULT_WONT_DO_STATE_NAMES = frozenset({"已取消", "已关闭", "关闭", "已拒绝", "不处理"})
# priority names of Worktile's default priority set; real teams may rename them (configurable)
DEFAULT_PRIORITY_NAMES: Mapping[Priority, str] = {
    Priority.HIGHEST: "最高",
    Priority.HIGH: "较高",
    Priority.MEDIUM: "普通",
    Priority.LOW: "较低",
    Priority.LOWEST: "最低",
}


@dataclass(frozen=True, slots=True)
class WorktileTrackerSettings:
    """Worktile as the tracker: backlog items are tasks of one project (and one task type); milestones are
    tasks of a milestone task type (里程碑); an item names its milestone in a task property."""

    project_id: str
    task_type_id: str | None = None  # the backlog task type (e.g. 需求); None = every non-milestone task
    milestone_type_id: str = "milestone"  # the task type whose tasks are milestones (里程碑)
    milestone_project_id: str | None = None  # where milestone tasks live (None = project_id)
    marker_property: str = "syncer_marker"  # custom text property holding our marker
    milestone_property: str = "milestone"  # property on an item naming its milestone (text or option)
    # our priority -> Worktile priority (id or name; matched against both when reading)
    priorities: Mapping[Priority, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_NAMES))
    done_state_types: frozenset[int] = DEFAULT_DONE_STATE_TYPES
    in_progress_state_types: frozenset[int] = DEFAULT_IN_PROGRESS_STATE_TYPES
    wont_do_state_types: frozenset[int] = DEFAULT_WONT_DO_STATE_TYPES
    wont_do_state_names: frozenset[str] = DEFAULT_WONT_DO_STATE_NAMES  # checked before the type
    team: str = "demo"
    web_url: str = ""  # links; default https://{team}.worktile.com
    utc_offset_hours: float = 8.0  # milestone due dates are read as calendar days in this zone
    page_size: int = 100

    def task_url(self, project_id: str, task_id: str) -> str:
        base = self.web_url.rstrip("/") or f"https://{self.team}.worktile.com"
        return f"{base}/mission/projects/{project_id}/tasks/{task_id}"

    @property
    def milestones_in(self) -> str:
        return self.milestone_project_id or self.project_id
