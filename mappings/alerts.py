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

from mappings.messages import text
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
    locale: str = "en",
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
            final,
            account,
            milestone,
            items,
            due=due,
            previous_due=previous_due,
            promise=promise,
            today=today,
            locale=locale,
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


def _d(value: date | None, locale: str) -> str:
    return value.isoformat() if value else text(locale, "no_date")


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
    locale: str = "en",
) -> tuple[str, str]:
    """Subject and body a salesperson can act on: what happened, which requests, what to say."""
    name = milestone.name if milestone else (items[0].title if items else text(locale, "an_item"))
    what = text(
        locale,
        event.value,
        name=name,
        account=account.name,
        promise=_d(promise, locale),
        before=_d(previous_due, locale),
        due=_d(due, locale),
        days=(due - today).days if due else "?",
    )
    subject = (
        text(locale, "subject", what=what, account=account.name) if event is not AlertEvent.AT_RISK else what
    )
    lines = [what, "", text(locale, "asked_for", account=account.name)]
    lines += [f"- {i.key}: {i.title}" + (f" ({i.url})" if i.url else "") for i in items]
    lines += ["", text(locale, "what_to_do", advice=text(locale, f"advice.{event.value}"))]
    return subject[:250], "\n".join(lines)
