"""What people read, per locale: alert subjects and bodies, item headers. `en` is the default.

Templates use named fields only; a locale missing a key falls back to English, so a new message can
never crash a run in another language.
"""

from __future__ import annotations

from collections.abc import Mapping

from mappings.models import AlertEvent

LOCALES = ("en", "zh-CN")

_EN: Mapping[str, str] = {
    AlertEvent.RELEASED.value: "Shipped: {name}",
    AlertEvent.KEPT.value: "Promise kept: {name} shipped before {promise}",
    AlertEvent.SLIPPED.value: "Slipped: {name} moved from {before} to {due}",
    AlertEvent.AT_RISK.value: "At risk: promise of {promise} to {account} — {name} now {due}",
    AlertEvent.SCHEDULED.value: "Scheduled: {name} planned for {due}",
    AlertEvent.DUE_SOON.value: "Due in {days} days: {name} ({due})",
    AlertEvent.ITEM_DONE.value: "Done: {name}",
    AlertEvent.ITEM_WONT_DO.value: "Won't do: {name}",
    "subject": "{what} ({account})",
    "asked_for": "{account} asked for:",
    "what_to_do": "What to do: {advice}",
    "no_date": "no date",
    "an_item": "an item",
    "advice.released": "It is live: tell them, and offer a short walkthrough.",
    "advice.kept": "We kept our promise: tell them it is live and thank them for their patience.",
    "advice.slipped": "Reset expectations now, before they hear it from someone else.",
    "advice.at_risk": "Call them before the promised date passes and agree a new one.",
    "advice.scheduled": "You can share the planned date; avoid promising anything earlier.",
    "advice.due_soon": "Prepare the conversation: who will try it first, and when.",
    "advice.item_done": "It is done: check whether it answers what they asked.",
    "advice.item_wont_do": "R&D decided against it: explain why and offer an alternative.",
    "requested_by": "Requested by {count} {noun} · ARR {arr}",
    "open_deals": "open deals {amount}",
    "score": "Priority score {score} (urgency × customer value)",
    "more_requests": "… and {count} more {noun}",
    "unknown_account": "(unknown account)",
    "orphan": (
        "No customer request is linked to this item any more: the requests behind it were regrouped, "
        "reclassified or removed in the CRM. Kept for R&D to decide; syncer no longer updates it."
    ),
}

_ZH: Mapping[str, str] = {
    AlertEvent.RELEASED.value: "已发布：{name}",
    AlertEvent.KEPT.value: "承诺已兑现：{name} 在 {promise} 之前发布",
    AlertEvent.SLIPPED.value: "延期：{name} 从 {before} 推迟到 {due}",
    AlertEvent.AT_RISK.value: "风险：对{account}承诺的 {promise} 可能无法兑现——{name} 现计划于 {due}",
    AlertEvent.SCHEDULED.value: "已排期：{name} 计划于 {due}",
    AlertEvent.DUE_SOON.value: "{days} 天后到期：{name}（{due}）",
    AlertEvent.ITEM_DONE.value: "已完成：{name}",
    AlertEvent.ITEM_WONT_DO.value: "不予实现：{name}",
    "subject": "{what}（{account}）",
    "asked_for": "{account}提出的需求：",
    "what_to_do": "建议：{advice}",
    "no_date": "未定日期",
    "an_item": "一项需求",
    "advice.released": "功能已上线：请通知客户，并约一次简短的演示。",
    "advice.kept": "我们兑现了承诺：请告诉客户功能已上线，并感谢客户的耐心。",
    "advice.slipped": "请尽快与客户沟通新的时间，避免客户从别处得知。",
    "advice.at_risk": "请在承诺日期之前联系客户，商定新的时间。",
    "advice.scheduled": "可以向客户同步计划时间，但不要承诺更早的日期。",
    "advice.due_soon": "请提前准备客户沟通：谁先试用，何时试用。",
    "advice.item_done": "已完成：请确认是否满足客户的需求。",
    "advice.item_wont_do": "研发决定暂不实现：请向客户说明原因并提供替代方案。",
    "requested_by": "{count} 个客户提出 · 年度收入 {arr}",
    "open_deals": "在谈商机 {amount}",
    "score": "优先级得分 {score}（紧急程度 × 客户价值）",
    "more_requests": "……另有 {count} 条需求",
    "unknown_account": "（未知客户）",
    "orphan": (
        "此需求已不再关联任何客户反馈：相关反馈已在 CRM 中重新归类或删除。保留供研发决定，syncer 不再更新。"
    ),
}

_CATALOG: Mapping[str, Mapping[str, str]] = {"en": _EN, "zh-CN": _ZH}


def text(locale: str, key: str, **values: object) -> str:
    """The message `key` in `locale` (falling back to English), formatted with `values`."""
    template = _CATALOG.get(locale, _EN).get(key) or _EN[key]
    return template.format(**values)
