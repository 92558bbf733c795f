"""The dashboard's words, per locale (an org's `locale:`); a missing translation falls back to English."""

from __future__ import annotations

from collections.abc import Callable, Mapping

_ZH: Mapping[str, str] = {
    "Orgs": "组织",
    "org": "组织",
    "Overview": "总览",
    "last run": "最近运行",
    "lag": "距上次成功",
    "backlog items": "需求",
    "requesting accounts": "提出需求的客户",
    "alerts sent": "已发提醒",
    "open dead letters": "待处理死信",
    "groups waiting": "等待同步的组",
    "runs": "运行次数",
    "Recent runs": "最近运行",
    "started (UTC)": "开始时间 (UTC)",
    "duration": "耗时",
    "kind": "类型",
    "status": "状态",
    "created": "新建",
    "updated": "更新",
    "alerts": "提醒",
    "dead letters": "死信",
    "requests": "请求数",
    "error": "错误",
    "Slipped milestones": "已延期的里程碑",
    "Upcoming milestones": "即将到来的里程碑",
    "Released milestones": "已发布的里程碑",
    "milestone": "里程碑",
    "due": "截止日期",
    "items": "需求数",
    "waiting accounts": "等待中的客户",
    "by event": "按事件",
    "Top items by requesting accounts": "需求排行（按客户数）",
    "Top items by ARR": "需求排行（按年度收入）",
    "item": "需求",
    "title": "标题",
    "accounts": "客户数",
    "ARR": "年度收入",
    "open deals": "商机金额",
    "priority": "优先级",
    "Dead letters (need a fix)": "死信（需要处理）",
    "system": "系统",
    "record": "记录",
    "stage": "阶段",
    "attempts": "尝试次数",
    "reason": "原因",
    "none": "无",
    "never": "从未",
    "No runs recorded yet.": "尚无运行记录。",
    "No state yet": "尚无数据",
    "read-only": "只读",
    # enumerated values
    "ok": "成功",
    "partial": "部分成功",
    "failed": "失败",
    "running": "运行中",
    "interrupted": "已中断",
    "upcoming": "即将到来",
    "slipped": "已延期",
    "overdue": "已逾期",
    "undated": "未定日期",
    "released": "已发布",
    "archived": "已归档",
    "scheduled": "已排期",
    "due_soon": "即将到期",
    "at_risk": "承诺有风险",
    "kept": "如期交付",
    "item_done": "已完成",
    "item_wont_do": "不做",
    "run": "同步",
    "backfill": "回填",
    "retry": "重试",
    "highest": "最高",
    "high": "高",
    "medium": "中",
    "low": "低",
    "lowest": "最低",
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
