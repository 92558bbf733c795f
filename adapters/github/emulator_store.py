"""In-memory state of the GitHub emulator and how it renders as REST JSON (api version 2022-11-28)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

DOCS = "https://docs.github.com/rest"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class EmuMilestone:
    number: int
    title: str
    created: float
    updated: float
    state: str = "open"
    description: str | None = None
    due: date | None = None
    closed: float | None = None


@dataclass
class EmuIssue:
    number: int
    title: str
    body: str | None
    created: float
    updated: float
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    state_reason: str | None = None
    milestone: int | None = None
    closed: float | None = None
    pull_request: bool = False


def label_json(api: str, name: str) -> dict[str, Any]:
    return {
        "id": abs(hash(name)) % 10**9,
        "name": name,
        "url": f"{api}/labels/{name}",
        "color": "ededed",
        "default": False,
        "description": None,
    }


def milestone_json(api: str, site: str, ms: EmuMilestone, issues: list[EmuIssue]) -> dict[str, Any]:
    mine = [i for i in issues if i.milestone == ms.number]
    return {
        "url": f"{api}/milestones/{ms.number}",
        "html_url": f"{site}/milestone/{ms.number}",
        "id": 1_000_000 + ms.number,
        "number": ms.number,
        "title": ms.title,
        "description": ms.description,
        "state": ms.state,
        "open_issues": sum(i.state == "open" for i in mine),
        "closed_issues": sum(i.state == "closed" for i in mine),
        "created_at": iso(ms.created),
        "updated_at": iso(ms.updated),
        "closed_at": iso(ms.closed) if ms.closed is not None else None,
        # GitHub keeps the date only, around Pacific midnight (07:00 UTC in summer time)
        "due_on": f"{ms.due.isoformat()}T07:00:00Z" if ms.due else None,
    }


def issue_json(
    api: str, site: str, issue: EmuIssue, milestones: dict[int, EmuMilestone], issues: list[EmuIssue]
) -> dict[str, Any]:
    kind = "pull" if issue.pull_request else "issues"
    ms = milestones.get(issue.milestone) if issue.milestone is not None else None
    out: dict[str, Any] = {
        "url": f"{api}/issues/{issue.number}",
        "html_url": f"{site}/{kind}/{issue.number}",
        "id": 2_000_000 + issue.number,
        "number": issue.number,
        "title": issue.title,
        "user": {"login": "syncer-bot", "id": 1, "type": "Bot"},
        "labels": [label_json(api, name) for name in issue.labels],
        "state": issue.state,
        "state_reason": issue.state_reason,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": milestone_json(api, site, ms, issues) if ms else None,
        "comments": 0,
        "created_at": iso(issue.created),
        "updated_at": iso(issue.updated),
        "closed_at": iso(issue.closed) if issue.closed is not None else None,
        "author_association": "NONE",
        "body": issue.body,
    }
    if issue.pull_request:
        out["pull_request"] = {
            "url": f"{api}/pulls/{issue.number}",
            "html_url": f"{site}/pull/{issue.number}",
            "merged_at": None,
        }
    return out


def error(message: str, status: int) -> dict[str, Any]:
    return {"message": message, "documentation_url": DOCS, "status": str(status)}
