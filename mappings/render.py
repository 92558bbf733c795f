"""Render a feedback group as the backlog draft R&D reads: title, customer quotes, labels, revenue."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mappings.feedback import (
    REQUEST_PREFIXES,
    Member,
    PriorityWeights,
    customer_value,
    prioritise,
    priority_score,
)
from mappings.messages import text
from mappings.models import Account, BacklogDraft, Feedback, Priority


@dataclass(frozen=True, slots=True)
class RenderOptions:
    labels: tuple[str, ...] = ("customer-feedback",)
    max_body_chars: int = 30_000  # Jira descriptions stop at 32,767 characters
    max_quote_chars: int = 600
    currency: str = "$"
    locale: str = "en"


def display_title(title: str) -> str:
    """A clean title: NFKC (full-width to half-width), request prefixes ("FR:", "需求：") and trailing
    exclamation marks dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", title)
    cleaned = re.sub(r"\s+", " ", REQUEST_PREFIXES.sub("", text)).strip().rstrip("!?。.,;:").strip()
    return cleaned or title.strip()


def representative_title(fbs: Sequence[Feedback]) -> str:
    """The most common clean title among the requests, in its best-cased spelling (not ALL CAPS or
    all lower case when another spelling exists); ties go to the earliest record. At most 255 chars."""
    cleaned = [(display_title(fb.title), _stable_id(fb)) for fb in fbs]
    spelling = Counter(title.casefold() for title, _ in cleaned)
    exact = Counter(title for title, _ in cleaned)

    def rank(entry: tuple[str, tuple[int, str]]) -> tuple[int, bool, int, tuple[int, str]]:
        title, stable = entry
        badly_cased = title.islower() or (title.isupper() and len(title) > 3)
        return (-spelling[title.casefold()], badly_cased, -exact[title], stable)

    return min(cleaned, key=rank)[0][:255]


def money(amount: float, currency: str = "$") -> str:
    """Compact money for humans: $950, $12.5k, $1.2M."""
    if amount >= 1_000_000:
        return f"{currency}{amount / 1_000_000:.1f}M"
    if amount >= 1_000:
        return f"{currency}{amount / 1_000:.1f}k"
    return f"{currency}{amount:.0f}"


def _stable_id(fb: Feedback) -> tuple[int, str]:
    return (len(fb.id), fb.id)  # numeric ids compare as numbers, others lexically


def _distinct_accounts(members: Sequence[Member]) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for fb, account in members:
        if account is not None and fb.account_id:
            accounts[fb.account_id] = account
    return accounts


def _quote(fb: Feedback, account: Account | None, options: RenderOptions) -> str:
    quote = " ".join((fb.body or fb.title).split())
    if len(quote) > options.max_quote_chars:
        quote = quote[: options.max_quote_chars - 1].rstrip() + "…"
    who = account.name if account else text(options.locale, "unknown_account")
    facts = [account.tier] if account else []
    if account and account.arr:
        facts.append(f"ARR {money(account.arr, options.currency)}")
    facts.append(f"urgency {fb.urgency.value}")
    by = f", asked by {fb.requested_by}" if fb.requested_by else ""
    link = f" {fb.url}" if fb.url else ""
    return f"> {quote}\n— {who} ({', '.join(facts)}){by}, {fb.system} #{fb.id}{link}"


def render_draft(members: Sequence[Member], weights: PriorityWeights, options: RenderOptions) -> BacklogDraft:
    """One draft per group. Deterministic: the same members in any order render the same draft."""
    if not members:
        raise ValueError("cannot render an empty group")
    ordered = sorted(members, key=lambda m: _stable_id(m[0]))
    title = representative_title([fb for fb, _ in ordered])
    accounts = _distinct_accounts(ordered)
    total_arr = sum(a.arr for a in accounts.values())
    open_deals = sum(a.open_deal_value for a in accounts.values())
    count = len({fb.account_id or f"unknown:{fb.id}" for fb, _ in ordered})
    score = priority_score(ordered, weights)
    loc = options.locale
    noun = "account" if count == 1 else "accounts"
    header = [text(loc, "requested_by", count=count, noun=noun, arr=money(total_arr, options.currency))]
    if open_deals:
        header.append(text(loc, "open_deals", amount=money(open_deals, options.currency)))
    lines = [" · ".join(header), text(loc, "score", score=f"{score:g}"), ""]
    by_value = sorted(ordered, key=lambda m: (-customer_value(m[1], weights), _stable_id(m[0])))
    body = "\n".join(lines)
    for shown, (fb, account) in enumerate(by_value):
        block = "\n\n" + _quote(fb, account, options)
        remaining = len(by_value) - shown
        if len(body) + len(block) > options.max_body_chars - 80:
            more = "request" if remaining == 1 else "requests"
            body += "\n\n" + text(loc, "more_requests", count=remaining, noun=more)
            break
        body += block
    return BacklogDraft(
        title=title,
        body=body,
        labels=tuple(sorted(set(options.labels))),
        priority=prioritise(ordered, weights),
        account_count=count,
        total_arr=total_arr,
        open_deal_value=open_deals,
    )


def render_orphan(title: str, options: RenderOptions) -> BacklogDraft:
    """The draft for an item whose group lost its last request (we never delete R&D's items)."""
    return BacklogDraft(
        title=title,
        body=text(options.locale, "orphan"),
        labels=tuple(sorted(set(options.labels))),
        priority=Priority.LOWEST,
        account_count=0,
        total_arr=0.0,
    )
