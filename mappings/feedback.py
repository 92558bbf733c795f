"""Feedback -> backlog: filter, group, prioritise, render. Pure functions over frozen models.

Priority formula (documented in README "How priority is computed"):

    value(account)  = tier_weight[account.tier] * (1 + account.arr / arr_unit)
    score(group)    = sum over distinct accounts of
                      urgency_weight[max urgency of that account] * value(account)
    priority        = the first threshold level whose minimum the score reaches (highest first)

So one enterprise customer shouting "critical" counts about as much as several small ones asking
politely, and every additional account adds to the weight of the item.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from mappings.models import Account, Feedback, Priority, Urgency


@dataclass(frozen=True, slots=True)
class FeedbackFilter:
    """Which CRM records count as product feedback. Empty `categories`/`pipelines` means any."""

    categories: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()


def is_product_feedback(fb: Feedback, rule: FeedbackFilter) -> bool:
    """True when the record passes the org's filter; titles that are blank never count."""
    if not fb.title.strip():
        return False
    if fb.category in rule.exclude_categories:
        return False
    if rule.categories and fb.category not in rule.categories:
        return False
    return not (rule.pipelines and fb.pipeline not in rule.pipelines)


REQUEST_PREFIXES = re.compile(
    # latin prefixes need a separator ("FR: x", not "Frontend"); Chinese ones may run straight on
    r"^\s*(?:(?:feature\s*request|fr|request|feedback|idea)\s*[:：\-—]+|(?:需求|功能需求|建议|希望|请求|请)[:：\-—]*)\s*",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "to",
        "for",
        "of",
        "in",
        "on",
        "and",
        "or",
        "with",
        "please",
        "support",
        "add",
        "allow",
        "ability",
        "be",
        "can",
        "could",
        "we",
        "would",
        "like",
        "need",
        "want",
        "our",
        "us",
        "is",
        "are",
        "it",
    }
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
_CJK_FILLERS = ("支持", "希望", "能够", "可以", "请", "功能", "增加", "新增", "提供", "实现", "的")


def normalise_title(title: str) -> tuple[str, ...]:
    """Order-free tokens of a title: NFKC, casefold, prefixes and filler words dropped.

    Latin words are tokens. Chinese has no spaces and free word order ("支持导出 CSV 报表" vs
    "CSV 报表导出"), so after removing filler words (支持, 希望, 功能 ...) each CJK character is a token.
    """
    text = unicodedata.normalize("NFKC", title).casefold()
    for _ in range(3):  # "FR: Feature request: ..." -> strip stacked prefixes
        stripped = REQUEST_PREFIXES.sub("", text)
        if stripped == text:
            break
        text = stripped
    tokens: set[str] = set()
    for token in _TOKEN.findall(text):
        if _CJK_RUN.match(token):
            for filler in _CJK_FILLERS:
                token = token.replace(filler, "")
            tokens.update(token)
        elif token not in _STOPWORDS:
            tokens.add(token)
    return tuple(sorted(tokens))


def fingerprint(title: str) -> str:
    """A short stable hash of the normalised title; equal for titles that differ only cosmetically."""
    tokens = normalise_title(title)
    basis = " ".join(tokens) if tokens else unicodedata.normalize("NFKC", title).strip().casefold()
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def group_key(fb: Feedback) -> str:
    """The grouping key: the explicit hint set by sales wins, else the title fingerprint."""
    if fb.group_hint and fb.group_hint.strip():
        return "hint:" + unicodedata.normalize("NFKC", fb.group_hint).strip().casefold()
    return "fp:" + fingerprint(fb.title)


def group_feedback(fbs: Iterable[Feedback]) -> Mapping[str, tuple[Feedback, ...]]:
    """Group records by `group_key`; members sorted by (updated_at, id), keys sorted: order-independent."""
    groups: dict[str, list[Feedback]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for fb in fbs:
        if (fb.system, fb.id) in seen:
            continue
        seen.add((fb.system, fb.id))
        groups[group_key(fb)].append(fb)
    return MappingProxyType(
        {key: tuple(sorted(groups[key], key=lambda f: (f.updated_at, f.id))) for key in sorted(groups)}
    )


_URGENCY_ORDER = (Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH, Urgency.CRITICAL)


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    urgency: Mapping[Urgency, float] = field(
        default_factory=lambda: MappingProxyType(
            {Urgency.LOW: 1.0, Urgency.MEDIUM: 2.0, Urgency.HIGH: 3.0, Urgency.CRITICAL: 5.0}
        )
    )
    tier: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"enterprise": 3.0, "mid-market": 2.0, "smb": 1.0})
    )
    default_tier_weight: float = 1.0
    arr_unit: float = 100_000.0
    # (minimum score, priority), checked from the top; below every minimum -> LOWEST
    thresholds: tuple[tuple[float, Priority], ...] = (
        (60.0, Priority.HIGHEST),
        (25.0, Priority.HIGH),
        (8.0, Priority.MEDIUM),
        (3.0, Priority.LOW),
    )


def customer_value(account: Account | None, weights: PriorityWeights) -> float:
    """Tier weight times (1 + ARR in units of `arr_unit`); an unknown account counts as the default tier."""
    if account is None:
        return weights.default_tier_weight
    tier = weights.tier.get(account.tier.casefold(), weights.default_tier_weight)
    return tier * (1.0 + max(account.arr, 0.0) / weights.arr_unit)


Member = tuple[Feedback, Account | None]


def priority_score(members: Sequence[Member], weights: PriorityWeights) -> float:
    """Sum over distinct accounts of (their highest urgency weight x their customer value)."""
    per_account: dict[str, tuple[Urgency, Account | None]] = {}
    for fb, account in members:
        who = fb.account_id or f"unknown:{fb.id}"
        previous = per_account.get(who)
        if previous is None or _URGENCY_ORDER.index(fb.urgency) > _URGENCY_ORDER.index(previous[0]):
            per_account[who] = (fb.urgency, account)
    return round(
        sum(weights.urgency.get(u, 1.0) * customer_value(a, weights) for u, a in per_account.values()), 6
    )


def prioritise(members: Sequence[Member], weights: PriorityWeights) -> Priority:
    score = priority_score(members, weights)
    for minimum, level in weights.thresholds:
        if score >= minimum:
            return level
    return Priority.LOWEST
