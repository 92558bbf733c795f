"""What `syncer report` says, computed from what the state store holds. Pure: no I/O, no clock.

Three questions link R&D and sales:
- which backlog items have the most customers and revenue behind them (the link rows, as the
  tracker shows them);
- how reliable milestones are: how often a date slipped, and whether the dates sales promised
  customers were kept, missed or are at risk (from the alert outbox: every slip that reached a
  waiting account is an alert carrying the old and new due dates and that account's promise);
- how long customers wait: from a request's date in the CRM to the release that shipped its item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from syncer.state.insights_repo import MilestoneInsight, OrgTotals
from syncer.state.records import Link
from syncer.state.report_repo import AlertRecord, RequestRecord

TOP_ITEMS = 15
SLIP_EVENTS = frozenset({"slipped", "at_risk"})


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything the report reads, as one snapshot of the state store."""

    org: str
    generated_at: datetime
    since: datetime | None
    totals: OrgTotals
    links: tuple[Link, ...]
    requests: tuple[RequestRecord, ...]
    alerts: tuple[AlertRecord, ...]
    milestones: tuple[MilestoneInsight, ...]


@dataclass(frozen=True, slots=True)
class ItemLine:
    key: str
    title: str
    url: str
    accounts: int
    arr: float
    open_deals: float
    priority: str
    status: str
    milestone: str


@dataclass(frozen=True, slots=True)
class Promises:
    kept: int = 0
    missed: int = 0
    at_risk: int = 0


@dataclass(frozen=True, slots=True)
class MilestoneLine:
    id: str
    name: str
    due: date | None
    state: str
    items: int
    waiting_accounts: int
    slips: int
    days_slipped: int
    promises: Promises
    alerts_sent: int


@dataclass(frozen=True, slots=True)
class LeadTime:
    """One request answered by a release: how many days from the request to the release date."""

    record_id: str
    item_key: str
    milestone: str
    days: int


@dataclass(frozen=True, slots=True)
class ReleaseWait:
    """Request-to-release days of one released milestone."""

    milestone: str
    requests: int
    median: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class LeadTimes:
    samples: tuple[LeadTime, ...]
    median: float | None
    p90: float | None
    mean: float | None
    shipped_items: int
    by_milestone: tuple[ReleaseWait, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    items: int
    accounts: int
    arr: float  # the ARR of the distinct accounts behind the items (each account counted once)
    requests: int
    alerts_sent: int
    open_dead_letters: int
    runs: int


@dataclass(frozen=True, slots=True)
class Report:
    org: str
    generated_at: datetime
    since: datetime | None
    summary: Summary
    items: tuple[ItemLine, ...]
    milestones: tuple[MilestoneLine, ...]
    promises: Promises
    lead_times: LeadTimes


def build_report(data: ReportInput, top: int = TOP_ITEMS) -> Report:
    """The whole report; `data.since` bounds the events (alerts, releases), not the current backlog."""
    names = {m.milestone.id: m.milestone.name for m in data.milestones}
    linked = {link.group_key for link in data.links}
    lines = tuple(_milestone_line(m, data.alerts, data.generated_at.date()) for m in data.milestones)
    return Report(
        org=data.org,
        generated_at=data.generated_at,
        since=data.since,
        summary=summarise(data.totals, data.links, [r for r in data.requests if r.group_key in linked]),
        items=item_lines(data.links, names, top),
        milestones=lines,
        promises=Promises(
            kept=sum(m.promises.kept for m in lines),
            missed=sum(m.promises.missed for m in lines),
            at_risk=sum(m.promises.at_risk for m in lines),
        ),
        lead_times=lead_times(data.links, data.requests, data.milestones, data.since),
    )


def summarise(totals: OrgTotals, links: Sequence[Link], requests: Sequence[RequestRecord]) -> Summary:
    arr_by_account = {r.account_id: r.arr for r in requests if r.account_id}
    return Summary(
        items=len(links),
        accounts=len(arr_by_account),
        arr=sum(arr_by_account.values()),
        requests=len(requests),
        alerts_sent=totals.alerts_sent,
        open_dead_letters=totals.open_dead_letters,
        runs=totals.runs,
    )


def item_lines(links: Sequence[Link], milestone_names: dict[str, str], top: int) -> tuple[ItemLine, ...]:
    """The `top` items by requesting accounts, then ARR, then key (a stable order)."""
    ranked = sorted(links, key=lambda link: (-link.account_count, -link.total_arr, link.item_key))
    return tuple(
        ItemLine(
            key=link.item_key,
            title=link.title,
            url=link.item_url,
            accounts=link.account_count,
            arr=link.total_arr,
            open_deals=link.open_deal_value,
            priority=link.priority,
            status=link.item_status or "open",
            milestone=milestone_names.get(link.milestone_id or "", ""),
        )
        for link in ranked[:top]
    )


def slips(alerts: Iterable[AlertRecord]) -> tuple[int, int]:
    """(slips, days slipped) of one milestone: each distinct move to a later (or no) date is one slip,
    however many accounts were told about it."""
    moves = {
        (a.previous_due, a.due)
        for a in alerts
        if a.event in SLIP_EVENTS and a.previous_due is not None and (a.due is None or a.due > a.previous_due)
    }
    days = sum((after - before).days for before, after in moves if after is not None and before is not None)
    return len(moves), days


def promise_outcomes(alerts: Iterable[AlertRecord], released: bool, today: date) -> Promises:
    """Per account with a promise on this milestone: kept (shipped by the promised date), missed
    (shipped later, or the promised date passed unshipped) or still at risk."""
    promised: dict[str, date] = {}
    kept: set[str] = set()
    shipped: set[str] = set()
    for a in alerts:
        if a.event in ("at_risk", "kept") and a.promised is not None:
            promised[a.account_id] = a.promised
        if a.event == "kept":
            kept.add(a.account_id)
        elif a.event == "released":
            shipped.add(a.account_id)
    outcome = Promises()
    for account, promise in promised.items():
        if account in kept:
            outcome = Promises(outcome.kept + 1, outcome.missed, outcome.at_risk)
        elif account in shipped or released or promise < today:
            outcome = Promises(outcome.kept, outcome.missed + 1, outcome.at_risk)
        else:
            outcome = Promises(outcome.kept, outcome.missed, outcome.at_risk + 1)
    return outcome


def _milestone_line(insight: MilestoneInsight, alerts: Sequence[AlertRecord], today: date) -> MilestoneLine:
    m = insight.milestone
    mine = [a for a in alerts if a.milestone_id == m.id]
    count, days = slips(mine)
    released = m.state.value == "released"
    return MilestoneLine(
        id=m.id,
        name=m.name,
        due=m.due,
        state=m.state.value,
        items=insight.items,
        waiting_accounts=insight.waiting_accounts,
        slips=count,
        days_slipped=days,
        promises=promise_outcomes(mine, released, today),
        alerts_sent=sum(1 for a in mine if a.state == "sent"),
    )


def lead_times(
    links: Sequence[Link],
    requests: Sequence[RequestRecord],
    milestones: Sequence[MilestoneInsight],
    since: datetime | None,
) -> LeadTimes:
    """Days from each request to the release of its item; a request recorded after that release
    (asking for what had already shipped) is not a wait and is left out."""
    shipped_on = {
        m.milestone.id: (m.milestone.due or m.milestone.updated_at.date(), m.milestone.name)
        for m in milestones
        if m.milestone.state.value == "released"
    }
    by_group = {link.group_key: link for link in links if link.milestone_id in shipped_on}
    if since is not None:
        by_group = {
            g: link for g, link in by_group.items() if shipped_on[link.milestone_id or ""][0] >= since.date()
        }
    samples = []
    for r in requests:
        link = by_group.get(r.group_key)
        if link is None:
            continue
        shipped, name = shipped_on[link.milestone_id or ""]
        days = (shipped - r.requested_at.date()).days
        if days >= 0:
            samples.append(LeadTime(r.record_id, link.item_key, name, days))
    values = sorted(s.days for s in samples)
    return LeadTimes(
        samples=tuple(sorted(samples, key=lambda s: (s.days, s.item_key, s.record_id))),
        median=percentile(values, 50),
        p90=percentile(values, 90),
        mean=round(sum(values) / len(values), 1) if values else None,
        shipped_items=len(by_group),
        by_milestone=_by_milestone(samples),
    )


def _by_milestone(samples: Sequence[LeadTime]) -> tuple[ReleaseWait, ...]:
    days: dict[str, list[int]] = {}
    for s in samples:
        days.setdefault(s.milestone, []).append(s.days)
    return tuple(
        ReleaseWait(name, len(values), percentile(values, 50), percentile(values, 90))
        for name, values in sorted(days.items())
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 1)
