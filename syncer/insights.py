"""What people see about an org's syncing, shaped from the read-only insights queries.

Shared by the web dashboard and by reports: loading goes through `syncer.state.insights_repo`; the rest
is pure (the clock is an argument), so a page and a report built at the same instant say the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from mappings.models import AlertEvent, MilestoneState
from syncer.state import DeadLetter, Link, RunRecord
from syncer.state.insights_repo import DeadLetterCount, InsightsRepo, MilestoneInsight, OrgTotals

# alerts that tell sales a date moved later: a milestone with one of these sent has slipped
SLIP_EVENTS = frozenset({AlertEvent.SLIPPED.value, AlertEvent.AT_RISK.value})


@dataclass(frozen=True, slots=True)
class MilestoneView:
    insight: MilestoneInsight
    status: str  # upcoming | slipped | overdue | undated | released | archived


@dataclass(frozen=True, slots=True)
class OrgReport:
    """Everything the per-org page (or a report) shows, read in one snapshot."""

    totals: OrgTotals
    lag_seconds: float | None  # since the end of the last ok/partial run; None: never succeeded
    runs: tuple[RunRecord, ...]
    top_by_accounts: tuple[Link, ...]
    top_by_arr: tuple[Link, ...]
    milestones: tuple[MilestoneView, ...]
    dead_letter_counts: tuple[DeadLetterCount, ...]
    dead_letters: tuple[DeadLetter, ...]

    @property
    def upcoming(self) -> tuple[MilestoneView, ...]:
        return tuple(m for m in self.milestones if m.status in ("upcoming", "overdue", "undated"))

    @property
    def slipped(self) -> tuple[MilestoneView, ...]:
        return tuple(m for m in self.milestones if m.status == "slipped")

    @property
    def failed_runs(self) -> int:
        return sum(1 for r in self.runs if r.status == "failed")


@dataclass(frozen=True, slots=True)
class OrgLine:
    """One row of the overview: an org's headline numbers and how far behind it is."""

    totals: OrgTotals
    lag_seconds: float | None


def lag_seconds(last_success_at: datetime | None, now: datetime) -> float | None:
    """Seconds since the last successful run ended (never negative); None when none succeeded."""
    if last_success_at is None:
        return None
    return max(0.0, (now - last_success_at).total_seconds())


def milestone_status(insight: MilestoneInsight, today: date) -> str:
    """Released/archived as the tracker says; a planned one that slipped (sales was told), is overdue,
    has no date yet, or is upcoming."""
    m = insight.milestone
    if m.state is MilestoneState.RELEASED:
        return "released"
    if m.state is MilestoneState.ARCHIVED:
        return "archived"
    if any(insight.alerts_sent.get(event, 0) for event in SLIP_EVENTS):
        return "slipped"
    if m.due is None:
        return "undated"
    return "overdue" if m.due < today else "upcoming"


def run_error(run: RunRecord) -> str:
    """The error a run ended with, else the first error it recorded while going on ("" if none)."""
    if run.error:
        return run.error
    errors = run.counts.get("errors")
    if isinstance(errors, Sequence) and not isinstance(errors, str) and errors:
        return str(errors[0])
    return ""


def human_duration(seconds: float | None) -> str:
    """`45s`, `12m 5s`, `3h 20m`, `2d 4h`; `-` for unknown."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 1:
        return "<1s"
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def load_org_report(repo: InsightsRepo, org: str, now: datetime, limit: int = 10) -> OrgReport:
    """Read one org's report from a read-only snapshot (`read_insights`)."""
    totals = repo.totals(org)
    today = now.date()
    return OrgReport(
        totals=totals,
        lag_seconds=lag_seconds(totals.last_success_at, now),
        runs=tuple(repo.recent_runs(org, limit)),
        top_by_accounts=tuple(repo.top_items(org, "accounts", limit)),
        top_by_arr=tuple(repo.top_items(org, "arr", limit)),
        milestones=tuple(MilestoneView(m, milestone_status(m, today)) for m in repo.milestones(org)),
        dead_letter_counts=tuple(repo.dead_letter_counts(org)),
        dead_letters=tuple(repo.open_dead_letters(org, limit * 5)),
    )


def load_overview(repo: InsightsRepo, now: datetime, configured: Iterable[str] = ()) -> tuple[OrgLine, ...]:
    """Every org the store knows plus the configured ones (which may not have run yet), by name."""
    orgs = sorted(set(repo.org_names()) | set(configured))
    lines = []
    for org in orgs:
        totals = repo.totals(org)
        lines.append(OrgLine(totals, lag_seconds(totals.last_success_at, now)))
    return tuple(lines)
