"""The dashboard's words, per locale (an org's `locale:`); a missing translation falls back to English."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from syncer.words import ZH_CN

_ZH: Mapping[str, str] = {
    **ZH_CN,
    "Orgs": "组织",
    "org": "组织",
    "Overview": "总览",
    "last run": "最近运行",
    "lag": "距上次成功",
    "backlog items": "需求",
    "groups waiting": "等待同步的组",
    "duration": "耗时",
    "alerts": "提醒",
    "requests": "请求数",
    "Slipped milestones": "已延期的里程碑",
    "Upcoming milestones": "即将到来的里程碑",
    "Released milestones": "已发布的里程碑",
    "by event": "按事件",
    "Top items by requesting accounts": "需求排行（按客户数）",
    "Top items by ARR": "需求排行（按年度收入）",
    "title": "标题",
    "open deals": "商机金额",
    "none": "无",
    "never": "从未",
    "No runs recorded yet.": "尚无运行记录。",
    "No state yet": "尚无数据",
    "read-only": "只读",
    # enumerated values
    "upcoming": "即将到来",
    "slipped": "已延期",
    "overdue": "已逾期",
    "undated": "未定日期",
    "scheduled": "已排期",
    "due_soon": "即将到期",
    "at_risk": "承诺有风险",
    "kept": "如期交付",
    "item_done": "已完成",
    "item_wont_do": "不做",
}

# English keys that are enumerated values (snake_case in the store) read better spelled out
_EN: Mapping[str, str] = {
    "at_risk": "at risk",
    "due_soon": "due soon",
    "item_done": "item done",
    "item_wont_do": "won't do",
}

_CATALOGS: Mapping[str, Mapping[str, str]] = {"en": _EN, "zh-CN": _ZH}


def translator(locale: str) -> Callable[[str], str]:
    """`t(text)` for templates: the English text is the key."""
    catalog = _CATALOGS.get(locale, {})

    def t(text: str) -> str:
        return catalog.get(text) or _EN.get(text, text)

    return t
