"""The bundled emulators as demo partners: one small driver per system, so `syncer demo` and the
CRM x tracker matrix test can run any pair the same way (seed, point a config at it, act like a user)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette

from adapters.github.emulator import GitHubEmulator
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jiandaoyun.emulator import JiandaoyunEmulator
from adapters.jira.emulator import JiraEmulator
from adapters.linear.emulator import LinearEmulator
from adapters.pingcode.emulator import PROJECT_ID, REQUIREMENT_TYPE_ID, PingCodeEmulator
from adapters.redmine.emulator import RedmineEmulator
from adapters.salesforce.emulator import SalesforceEmulator
from adapters.worktile.emulator import WorktileEmulator
from adapters.worktile.emulator_tracker import (
    MILESTONE_TYPE,
    PRODUCT_PROJECT,
    REQUIREMENT_TYPE,
    WorktileTrackerEmulator,
)

TOKEN = "demo-token-not-a-secret"  # noqa: S105 - the emulators' fixed token
CRMS = ("hubspot", "salesforce", "jiandaoyun", "worktile")
TRACKERS = ("jira", "github", "redmine", "linear", "pingcode", "worktile")
SCENARIOS = tuple(f"{c}-{t}" for c in CRMS for t in TRACKERS)
FAST = {"default": {"requests": 200, "per_seconds": 1}}  # the demo's emulators are local: no need to crawl


class CrmDemo(Protocol):
    app: Starlette

    def section(self, url: str, token_file: Path) -> dict[str, Any]: ...
    def counts(self) -> tuple[int, int]: ...  # (accounts, feedback records) seeded
    def edit_one_linked(self) -> str: ...
    def alert_keys(self) -> list[str]: ...


class TrackerDemo(Protocol):
    app: Starlette

    def section(self, url: str, token_file: Path) -> dict[str, Any]: ...
    def plan(self, key: str, milestone: str) -> None: ...
    def set_due(self, milestone: str, when: date | None) -> None: ...
    def release(self, milestone: str, when: date) -> None: ...
    def item_count(self) -> int: ...


@dataclass
class HubSpotDemo:
    seed: int
    companies: int = 60
    tickets: int = 600
    search_lag_s: float = 0.5
    emulator: HubSpotEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.emulator = HubSpotEmulator(token=TOKEN, search_lag_s=self.search_lag_s)
        self.emulator.seed_demo(self.seed, companies=self.companies, tickets=self.tickets)
        self.app = self.emulator.app

    def section(self, url: str, token_file: Path) -> dict[str, Any]:
        return {
            "system": "hubspot",
            "base_url": url,
            "portal_id": "4242",
            "token_file": str(token_file),
            "overlap_seconds": 5,
        }

    def counts(self) -> tuple[int, int]:
        seeded = self.emulator.counts()
        return seeded["companies"], seeded["tickets"]

    def edit_one_linked(self) -> str:
        for ticket_id in sorted(self.emulator.ids("tickets"), key=int):
            ticket = self.emulator.ticket(ticket_id)
            if ticket.get("syncer_backlog_key"):
                body = (
                    ticket.get("content") or ""
                ) + " Update: the customer now needs this by end of quarter."
                self.emulator.update_ticket(ticket_id, content=body)
                return ticket_id
        raise RuntimeError("no linked ticket to edit: the first pass created nothing")

    def alert_keys(self) -> list[str]:
        return [str(t["properties"].get("syncer_alert_key")) for t in self.emulator.tasks()]


@dataclass
class SalesforceDemo:
    seed: int
    accounts: int = 40
    cases: int = 300
    emulator: SalesforceEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.emulator = SalesforceEmulator(token=TOKEN)
        self.emulator.seed_demo(self.seed, accounts=self.accounts, cases=self.cases)
        self.app = self.emulator.app

    def section(self, url: str, token_file: Path) -> dict[str, Any]:
        return {
            "system": "salesforce",
            "instance_url": url,
            "token_file": str(token_file),
            "overlap_seconds": 60,
            "rate_limits": FAST,
        }

    def counts(self) -> tuple[int, int]:
        return len(self.emulator.ids("Account")), len(self.emulator.ids("Case"))

    def edit_one_linked(self) -> str:
        for row in sorted(self.emulator.feedback_view(), key=lambda r: str(r["id"])):
            if row.get("backlog_key"):
                case = self.emulator.case(str(row["id"]))
                body = (
                    case.get("Description") or ""
                ) + " Update: the customer now needs this by end of quarter."
                self.emulator.update_case(str(row["id"]), Description=body)
                return str(row["id"])
        raise RuntimeError("no linked case to edit: the first pass created nothing")

    def alert_keys(self) -> list[str]:
        return [str(t.get("Syncer_Alert_Key__c")) for t in self.emulator.tasks()]


@dataclass
class JiraDemo:
    search_lag_s: float = 0.5
    emulator: JiraEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.emulator = JiraEmulator(token=TOKEN, search_lag_s=self.search_lag_s)
        self.emulator.seed_demo()
        self.app = self.emulator.app

    def section(self, url: str, token_file: Path) -> dict[str, Any]:
        return {
            "system": "jira",
            "base_url": url,
            "email": "bot@example.com",
            "token_file": str(token_file),
            "project": "PROD",
            "fields": {
                "accounts": "customfield_10050",
                "arr": "customfield_10051",
                "open_deals": "customfield_10052",
            },
        }

    def plan(self, key: str, milestone: str) -> None:
        self.emulator.set_fix_version(key, milestone)

    def set_due(self, milestone: str, when: date | None) -> None:
        self.emulator.set_release_date(milestone, when)

    def release(self, milestone: str, when: date) -> None:
        self.emulator.release_version(milestone, when)

    def item_count(self) -> int:
        return len(self.emulator.issues())


class _ReleaseEmulator(Protocol):
    """The milestone helpers the GitHub, Redmine, Linear and PingCode emulators share."""

    app: Starlette

    def set_due(self, name: str, when: date | None) -> None: ...
    def release(self, name: str) -> None: ...
    def items_view(self) -> list[dict[str, Any]]: ...


@dataclass
class EmulatedTracker:
    """A tracker emulator with `set_due`/`release`/`items_view`; only its config and how an item is put
    into a milestone differ per system."""

    emulator: _ReleaseEmulator
    settings: dict[str, Any]  # the config section, without the URL and the secret
    assign: Callable[[str, str], None]  # (item key, milestone name)
    file_field: str = "token_file"  # the config key naming the secret file
    url_keys: tuple[str, ...] = ("base_url",)

    def __post_init__(self) -> None:
        self.app = self.emulator.app

    def section(self, url: str, token_file: Path) -> dict[str, Any]:
        return {**self.settings, **dict.fromkeys(self.url_keys, url), self.file_field: str(token_file)}

    def plan(self, key: str, milestone: str) -> None:
        self.assign(key, milestone)

    def set_due(self, milestone: str, when: date | None) -> None:
        self.emulator.set_due(milestone, when)

    def release(self, milestone: str, when: date) -> None:
        self.emulator.release(milestone)

    def item_count(self) -> int:
        return len(self.emulator.items_view())


def github_demo() -> EmulatedTracker:
    emulator = GitHubEmulator(token=TOKEN, creates_per_minute=100_000)
    emulator.seed_demo()
    settings = {
        "system": "github",
        "owner": "acme",
        "repo": "product",
        "overlap_seconds": 5,
        "rate_limits": {**FAST, "create": {"requests": 200, "per_seconds": 1}},
    }
    return EmulatedTracker(
        emulator,
        settings,
        lambda key, name: emulator.set_milestone(int(key), name),
        url_keys=("base_url", "site_url"),
    )


def redmine_demo() -> EmulatedTracker:
    emulator = RedmineEmulator(api_key=TOKEN)
    emulator.seed_demo()
    settings = {"system": "redmine", "project": "product", "marker_field_id": 1, "rate_limits": FAST}
    return EmulatedTracker(emulator, settings, emulator.set_version)


def linear_demo() -> EmulatedTracker:
    emulator = LinearEmulator(api_key=TOKEN, rate_limit=100_000)
    emulator.seed_demo(7)
    settings = {"system": "linear", "team_id": "team-eng", "overlap_seconds": 5, "rate_limits": FAST}
    return EmulatedTracker(emulator, settings, emulator.set_milestone)


def pingcode_demo() -> EmulatedTracker:
    """PingCode: requirements (需求) as items, releases (发布) as milestones."""
    emulator = PingCodeEmulator(client_id="demo", client_secret=TOKEN)
    emulator.seed_demo(7)
    settings = {
        "system": "pingcode",
        "client_id": "demo",
        "project_id": PROJECT_ID,
        "type_id": REQUIREMENT_TYPE_ID,
        "overlap_seconds": 5,
        "rate_limits": FAST,
    }
    return EmulatedTracker(emulator, settings, emulator.set_milestone, file_field="client_secret_file")


def worktile_tracker_demo() -> EmulatedTracker:
    """Worktile: 需求 tasks of a product project as items, 里程碑 tasks as milestones."""
    emulator = WorktileTrackerEmulator(client_id="demo", client_secret=TOKEN)
    emulator.seed_demo(7)
    settings = {
        "system": "worktile",
        "team": "demo",
        "client_id": "demo",
        "project_id": PRODUCT_PROJECT,
        "task_type_id": REQUIREMENT_TYPE,
        "milestone_type_id": MILESTONE_TYPE,
        "overlap_seconds": 5,
        "rate_limits": FAST,
    }
    return EmulatedTracker(emulator, settings, emulator.set_milestone, file_field="client_secret_file")


@dataclass
class JiandaoyunDemo:
    """简道云 as the CRM: a Chinese sales team (org locale zh-CN, Chinese customer tiers)."""

    seed: int
    customers: int = 30
    feedback: int = 200
    emulator: JiandaoyunEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.emulator = JiandaoyunEmulator(api_key=TOKEN)
        self.emulator.seed_demo(self.seed, customers=self.customers, feedback=self.feedback)
        self.app = self.emulator.app

    def section(self, url: str, token_file: Path) -> dict[str, Any]:
        return {
            "system": "jiandaoyun",
            "base_url": url,
            "token_file": str(token_file),
            "app_id": "demo_app",
            "feedback_entry_id": "feedback_entry",
            "customer_entry_id": "customer_entry",
            "followup_entry_id": "followup_entry",
            "overlap_seconds": 60,
        }

    def extras(self) -> dict[str, Any]:
        return {"locale": "zh-CN", "priority": {"tiers": {"战略": 3, "重点": 2, "普通": 1}}}

    def counts(self) -> tuple[int, int]:
        return len(self.emulator.ids("customer")), len(self.emulator.ids("feedback"))

    def edit_one_linked(self) -> str:
        for row in sorted(self.emulator.feedback_view(), key=lambda r: str(r["id"])):
            if row.get("backlog_key"):
                body = str(self.emulator.feedback(str(row["id"])).get("_widget_content") or "")
                self.emulator.update_feedback(
                    str(row["id"]), _widget_content=body + " 补充：客户希望本季度内上线。"
                )
                return str(row["id"])
        raise RuntimeError("no linked feedback to edit: the first pass created nothing")

    def alert_keys(self) -> list[str]:
        return [str(a.get("key")) for a in self.emulator.alerts()]


@dataclass
class WorktileDemo:
    """Worktile tasks in a sales project as feedback (a Chinese team: locale zh-CN)."""

    seed: int
    customers: int = 20
    tasks: int = 120
    emulator: WorktileEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.emulator = WorktileEmulator(team="demo", client_id="demo", client_secret=TOKEN)
        self.emulator.seed_demo(self.seed, customers=self.customers, tasks=self.tasks)
        self.app = self.emulator.app

    def section(self, url: str, token_file: Path) -> dict[str, Any]:
        return {
            "system": "worktile",
            "base_url": url,
            "team": "demo",
            "client_id": "demo",
            "client_secret_file": str(token_file),
            "project_id": "feedback_project",
            "followup_project_id": "followup_project",
            "overlap_seconds": 60,
            "rate_limits": FAST,  # one write per task: the assumed 5 req/s would crawl on a local emulator
        }

    def extras(self) -> dict[str, Any]:
        return {"locale": "zh-CN"}

    def counts(self) -> tuple[int, int]:
        return self.customers, len(self.emulator.ids("feedback"))

    def edit_one_linked(self) -> str:
        for row in sorted(self.emulator.feedback_view(), key=lambda r: str(r["id"])):
            if row.get("backlog_key"):
                task = self.emulator.task(str(row["id"]))
                self.emulator.update_task(
                    str(row["id"]),
                    description=str(task.get("description") or "") + " 补充：客户希望本季度上线。",
                )
                return str(row["id"])
        raise RuntimeError("no linked task to edit: the first pass created nothing")

    def alert_keys(self) -> list[str]:
        return [str(a.get("key")) for a in self.emulator.alerts()]


def crm_demo(system: str, seed: int, *, small: bool = False) -> CrmDemo:
    if system == "hubspot":
        return HubSpotDemo(seed, companies=20, tickets=150) if small else HubSpotDemo(seed)
    if system == "salesforce":
        return SalesforceDemo(seed, accounts=15, cases=120) if small else SalesforceDemo(seed)
    if system == "worktile":
        return WorktileDemo(seed, customers=10, tasks=60) if small else WorktileDemo(seed)
    if system == "jiandaoyun":
        return JiandaoyunDemo(seed, customers=12, feedback=80) if small else JiandaoyunDemo(seed)
    raise ValueError(f"unknown CRM {system!r}; choose one of {', '.join(CRMS)}")


def tracker_demo(system: str) -> TrackerDemo:
    demos: dict[str, Callable[[], TrackerDemo]] = {
        "jira": JiraDemo,
        "github": github_demo,
        "redmine": redmine_demo,
        "linear": linear_demo,
        "pingcode": pingcode_demo,
        "worktile": worktile_tracker_demo,
    }
    if system not in demos:
        raise ValueError(f"unknown tracker {system!r}; choose one of {', '.join(TRACKERS)}")
    return demos[system]()


def today() -> date:
    return datetime.now(UTC).date()
