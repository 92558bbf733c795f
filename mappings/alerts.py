"""Fan milestone and item events out to the account owners waiting on them. Pure.

One alert per (subject, event, account, due date): an account waiting on three items in one
release hears about it once, listing all three. Promises turn a `slipped`/`scheduled` into
`at_risk` when the new date misses them, and a `released` into `kept` when it ships in time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from mappings.models import Account, Alert, AlertEvent, AlertItem, Feedback, Milestone


@dataclass(frozen=True, slots=True)
class Waiting:
    """One account waiting on one backlog item, through one or more of its feedback records."""

    account: Account
    item: AlertItem
    feedback: tuple[Feedback, ...]


def alert_key(org: str, subject: str, event: AlertEvent, account_id: str, due: date | None) -> str:
    """Deterministic: the same event for the same account and date is one alert, whatever reruns."""
    basis = "\x1f".join((org, subject, event.value, account_id, due.isoformat() if due else "-"))
    return "al-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def effective_event(event: AlertEvent, due: date | None, promise: date | None, shipped: date) -> AlertEvent:
    """Apply this account's promise to a milestone event."""
    if promise is None:
        return event
    if event is AlertEvent.RELEASED:
        return AlertEvent.KEPT if shipped <= promise else AlertEvent.RELEASED
    if event in (AlertEvent.SLIPPED, AlertEvent.SCHEDULED) and (due is None or due > promise):
        return AlertEvent.AT_RISK
    return event


def fan_out(
    org: str,
    event: AlertEvent,
    milestone: Milestone | None,
    waiting: Sequence[Waiting],
    *,
    today: date,
    previous_due: date | None = None,
    subject_id: str | None = None,
) -> tuple[Alert, ...]:
    """One alert per waiting account, addressed to its owner, sorted by account id."""
    by_account: dict[str, list[Waiting]] = {}
    for w in waiting:
        by_account.setdefault(w.account.id, []).append(w)
    due = milestone.due if milestone else None
    subject = subject_id or (milestone.id if milestone else "-")
    alerts = []
    for account_id in sorted(by_account):
        entries = by_account[account_id]
        account = entries[0].account
        items = tuple(sorted({w.item.key: w.item for w in entries}.values(), key=lambda i: i.key))
        feedback = tuple(sorted({fb.id for w in entries for fb in w.feedback}))
        promises = [fb.promised_date for w in entries for fb in w.feedback if fb.promised_date]
        promise = min(promises) if promises else None
        shipped = due if (due and event is AlertEvent.RELEASED and due <= today) else today
        final = effective_event(event, due, promise, shipped)
        title, message = render_alert(
            final, account, milestone, items, due=due, previous_due=previous_due, promise=promise, today=today
        )
        alerts.append(
            Alert(
                key=alert_key(org, subject, final, account_id, due),
                event=final,
                account_id=account_id,
                account_name=account.name,
                owner=account.owner,
                milestone_id=milestone.id if milestone else None,
                milestone_name=milestone.name if milestone else None,
                due=due,
                previous_due=previous_due,
                promised=promise if final in (AlertEvent.AT_RISK, AlertEvent.KEPT) else None,
                items=items,
                feedback_ids=feedback,
                subject=title,
                message=message,
            )
        )
    return tuple(alerts)


_ADVICE = {
    AlertEvent.RELEASED: "It is live: tell them, and offer a short walkthrough.",
    AlertEvent.KEPT: "We kept our promise: tell them it is live and thank them for their patience.",
    AlertEvent.SLIPPED: "Reset expectations now, before they hear it from someone else.",
    AlertEvent.AT_RISK: "Call them before the promised date passes and agree a new one.",
    AlertEvent.SCHEDULED: "You can share the planned date; avoid promising anything earlier.",
    AlertEvent.DUE_SOON: "Prepare the conversation: who will try it first, and when.",
    AlertEvent.ITEM_DONE: "It is done: check whether it answers what they asked.",
    AlertEvent.ITEM_WONT_DO: "R&D decided against it: explain why and offer an alternative.",
}


def _d(value: date | None) -> str:
    return value.isoformat() if value else "no date"


def render_alert(
    event: AlertEvent,
    account: Account,
    milestone: Milestone | None,
    items: Sequence[AlertItem],
    *,
    due: date | None,
    previous_due: date | None,
    promise: date | None,
    today: date,
) -> tuple[str, str]:
    """Subject and body a salesperson can act on: what happened, which requests, what to say."""
    name = milestone.name if milestone else (items[0].title if items else "an item")
    what = {
        AlertEvent.RELEASED: f"Shipped: {name}",
        AlertEvent.KEPT: f"Promise kept: {name} shipped before {_d(promise)}",
        AlertEvent.SLIPPED: f"Slipped: {name} moved from {_d(previous_due)} to {_d(due)}",
        AlertEvent.AT_RISK: f"At risk: promise of {_d(promise)} to {account.name} — {name} now {_d(due)}",
        AlertEvent.SCHEDULED: f"Scheduled: {name} planned for {_d(due)}",
        AlertEvent.DUE_SOON: f"Due in {(due - today).days if due else '?'} days: {name} ({_d(due)})",
        AlertEvent.ITEM_DONE: f"Done: {name}",
        AlertEvent.ITEM_WONT_DO: f"Won't do: {name}",
    }[event]
    subject = f"{what} ({account.name})" if event is not AlertEvent.AT_RISK else what
    lines = [what + ".", "", f"{account.name} asked for:"]
    lines += [f"- {i.key}: {i.title}" + (f" ({i.url})" if i.url else "") for i in items]
    lines += ["", "What to do: " + _ADVICE[event]]
    return subject[:250], "\n".join(lines)
