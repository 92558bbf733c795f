"""In-memory state of the Linear emulator and how it renders as GraphQL JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


def iso(ts: float) -> str:
    """Linear's timestamp form: milliseconds and `Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


@dataclass
class EmuProject:
    id: str
    name: str
    updated: float
    completed: float | None = None
    canceled: float | None = None


@dataclass
class EmuMilestone:
    id: str
    name: str
    project_id: str
    updated: float
    target: date | None = None
    description: str = ""


@dataclass
class EmuIssue:
    id: str
    number: int
    identifier: str
    title: str
    description: str
    priority: int
    created: float
    updated: float
    state_type: str = "unstarted"
    milestone_id: str | None = None
    archived: float | None = None


STATE_NAMES = {
    "backlog": "Backlog",
    "unstarted": "Todo",
    "started": "In Progress",
    "completed": "Done",
    "canceled": "Canceled",
}


def issue_json(issue: EmuIssue, milestones: dict[str, EmuMilestone], site: str) -> dict[str, Any]:
    """The fields the client selects (`ISSUE_FIELDS`), nothing more: GraphQL answers what was asked."""
    ms = milestones.get(issue.milestone_id) if issue.milestone_id else None
    return {
        "id": issue.id,
        "identifier": issue.identifier,
        "title": issue.title,
        "description": issue.description,
        "priority": issue.priority,
        "url": f"{site}/issue/{issue.identifier}",
        "updatedAt": iso(issue.updated),
        "archivedAt": iso(issue.archived) if issue.archived is not None else None,
        "state": {"type": issue.state_type, "name": STATE_NAMES[issue.state_type]},
        "projectMilestone": {"id": ms.id, "name": ms.name} if ms else None,
    }


def project_json(project: EmuProject, milestones: list[EmuMilestone], site: str) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "url": f"{site}/project/{project.id}",
        "updatedAt": iso(project.updated),
        "completedAt": iso(project.completed) if project.completed is not None else None,
        "canceledAt": iso(project.canceled) if project.canceled is not None else None,
        "archivedAt": None,
        "projectMilestones": {
            "nodes": [
                {
                    "id": m.id,
                    "name": m.name,
                    "description": m.description,
                    "targetDate": m.target.isoformat() if m.target else None,
                    "updatedAt": iso(m.updated),
                }
                for m in milestones
            ]
        },
    }


def gql_error(message: str, code: str, path: list[str] | None = None) -> dict[str, Any]:
    """One `errors[]` entry in Linear's shape (`extensions.code`, `extensions.type`, user-facing text)."""
    out: dict[str, Any] = {
        "message": message,
        "extensions": {
            "code": code,
            "type": code.lower().replace("_", " "),
            "userPresentableMessage": message,
        },
    }
    if path is not None:
        out["path"] = path
    return out
