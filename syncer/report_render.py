"""`syncer report` as Markdown or as one self-contained HTML page (Jinja2 templates, kept here).

Markdown links its charts by relative path (files written beside it); HTML embeds them as data URIs,
so the page can be mailed or attached as is. Headings and column names follow the org's `locale`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Literal

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from mappings.render import money
from syncer.report_charts import Chart
from syncer.report_data import Report
from syncer.words import ZH_CN

ReportFormat = Literal["md", "html"]

_EN: Mapping[str, str] = {
    "title": "Product health report",
    "generated": "Generated",
    "window": "Events since",
    "all_time": "all recorded history",
    "summary": "Summary",
    "items_heading": "Items by requesting accounts and revenue",
    "milestones_heading": "Milestone reliability",
    "lead_heading": "Time from feedback to shipped",
    "backlog items": "backlog items",
    "requesting accounts": "requesting accounts",
    "arr_behind": "ARR behind requests",
    "feedback records": "feedback records",
    "alerts sent": "alerts sent",
    "open dead letters": "open dead letters",
    "runs": "runs",
    "item": "item",
    "title_col": "title",
    "accounts": "accounts",
    "ARR": "ARR",
    "open deals": "open deals",
    "priority": "priority",
    "status": "status",
    "milestone": "milestone",
    "due": "due",
    "state": "state",
    "items": "items",
    "waiting accounts": "waiting accounts",
    "slips": "slips",
    "days slipped": "days slipped",
    "kept": "promises kept",
    "missed": "promises missed",
    "at risk": "promises at risk",
    "requests": "requests",
    "median days": "median days",
    "p90 days": "p90 days",
    "promises_line": "Promises to customers: {kept} kept, {missed} missed, {at_risk} at risk.",
    "milestones_note": (
        "A slip is a move of a milestone's date to a later (or no) date that reached at least one "
        "waiting account. A promise is a date sales gave a customer: kept when the release came by then, "
        "missed when it came later or the date passed, at risk when the current date is later."
    ),
    "lead_line": (
        "{requests} requests answered by {items} items in released milestones: median {median} days, "
        "p90 {p90} days, mean {mean} days."
    ),
    "lead_note": (
        "Measured from the request's date in the CRM (its last edit there: creation times are not "
        "synced) to the release date of the milestone that shipped its item."
    ),
    "no_items": "No backlog item is linked to customer feedback yet.",
    "no_milestones": "No milestone seen in the tracker yet.",
    "no_shipped": "Nothing has shipped yet: no item with customer requests is in a released milestone.",
    "top_note": "Top {shown} of {total} items; ARR is the sum over the accounts asking for each item.",
}

_ZH: Mapping[str, str] = {
    **ZH_CN,
    "title": "产品健康报告",
    "generated": "生成时间",
    "window": "统计起始",
    "all_time": "全部历史记录",
    "summary": "概览",
    "items_heading": "需求排行（按提出的客户数与收入）",
    "milestones_heading": "里程碑可靠性",
    "lead_heading": "从客户反馈到发布的时间",
    "backlog items": "需求数",
    "arr_behind": "需求背后的年度收入",
    "feedback records": "反馈记录",
    "title_col": "标题",
    "open deals": "在谈商机",
    "slips": "延期次数",
    "days slipped": "延期天数",
    "kept": "已兑现承诺",
    "missed": "未兑现承诺",
    "at risk": "有风险的承诺",
    "requests": "反馈数",
    "median days": "中位天数",
    "p90 days": "P90 天数",
    "promises_line": "对客户的承诺：{kept} 个已兑现，{missed} 个未兑现，{at_risk} 个有风险。",
    "milestones_note": (
        "延期：里程碑日期推后（或取消日期）且已通知至少一个等待中的客户。承诺：销售告诉客户的日期；"
        "按期发布为已兑现，晚于承诺或日期已过为未兑现，当前计划晚于承诺为有风险。"
    ),
    "lead_line": (
        "已发布里程碑中的 {items} 个需求回应了 {requests} 条反馈：中位 {median} 天，P90 {p90} 天，"
        "平均 {mean} 天。"
    ),
    "lead_note": "从反馈在 CRM 中的日期（最后编辑时间；未同步创建时间）算到其需求所在里程碑的发布日期。",
    "no_items": "还没有与客户反馈关联的需求。",
    "no_milestones": "还没有在需求系统中看到里程碑。",
    "no_shipped": "尚无发布：没有带客户反馈的需求处于已发布的里程碑中。",
    "top_note": "显示 {total} 个需求中的前 {shown} 个；年度收入为提出该需求的客户之和。",
}

_VALUES_ZH: Mapping[str, str] = {
    **ZH_CN,
}

_MD = """\
# {{ t.title }}: {{ r.org }}

{{ t.generated }}: {{ r.generated_at.strftime("%Y-%m-%d %H:%M") }} UTC · \
{{ t.window }}: {{ r.since.date().isoformat() if r.since else t.all_time }}

## {{ t.summary }}

| {{ t["backlog items"] }} | {{ t["requesting accounts"] }} | {{ t.arr_behind }} \
| {{ t["feedback records"] }} \
| {{ t["alerts sent"] }} | {{ t["open dead letters"] }} | {{ t.runs }} |
|---:|---:|---:|---:|---:|---:|---:|
| {{ s.items }} | {{ s.accounts }} | {{ s.arr | money }} | {{ s.requests }} | {{ s.alerts_sent }} \
| {{ s.open_dead_letters }} | {{ s.runs }} |

## {{ t.items_heading }}

{% if r.items -%}
{% if charts.get("items") %}![{{ charts["items"].alt }}]({{ refs["items"] }})

{% endif -%}
{{ t.top_note.format(shown=r.items | length, total=s.items) }}

| {{ t.item }} | {{ t.title_col }} | {{ t.accounts }} | {{ t.ARR }} | {{ t["open deals"] }} \
| {{ t.priority }} | {{ t.status }} | {{ t.milestone }} |
|---|---|---:|---:|---:|---|---|---|
{% for i in r.items -%}
| {% if i.url %}[{{ i.key | md }}]({{ i.url }}){% else %}{{ i.key | md }}{% endif %} | {{ i.title | md }} \
| {{ i.accounts }} | {{ i.arr | money }} | {{ i.open_deals | money }} | {{ i.priority | v }} \
| {{ i.status | v }} \
| {{ i.milestone | md }} |
{% endfor %}
{%- else %}{{ t.no_items }}
{% endif %}
## {{ t.milestones_heading }}

{% if r.milestones -%}
{% if charts.get("milestones") %}![{{ charts["milestones"].alt }}]({{ refs["milestones"] }})

{% endif -%}
{{ t.promises_line.format(kept=r.promises.kept, missed=r.promises.missed, at_risk=r.promises.at_risk) }}

| {{ t.milestone }} | {{ t.due }} | {{ t.state }} | {{ t["items"] }} | {{ t["waiting accounts"] }} \
| {{ t.slips }} \
| {{ t["days slipped"] }} | {{ t.kept }} | {{ t.missed }} | {{ t["at risk"] }} | {{ t["alerts sent"] }} |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
{% for m in r.milestones -%}
| {{ m.name | md }} | {{ m.due | day }} | {{ m.state | v }} | {{ m.items }} | {{ m.waiting_accounts }} \
| {{ m.slips }} \
| {{ m.days_slipped }} | {{ m.promises.kept }} | {{ m.promises.missed }} | {{ m.promises.at_risk }} \
| {{ m.alerts_sent }} |
{% endfor %}
_{{ t.milestones_note }}_
{% else %}{{ t.no_milestones }}
{% endif %}
## {{ t.lead_heading }}

{% if lead.samples -%}
{{ t.lead_line.format(requests=lead.samples | length, items=lead.shipped_items, median=lead.median | num, \
p90=lead.p90 | num, mean=lead.mean | num) }}

{% if charts.get("lead-time") %}![{{ charts["lead-time"].alt }}]({{ refs["lead-time"] }})

{% endif -%}
| {{ t.milestone }} | {{ t.requests }} | {{ t["median days"] }} | {{ t["p90 days"] }} |
|---|---:|---:|---:|
{% for w in lead.by_milestone -%}
| {{ w.milestone | md }} | {{ w.requests }} | {{ w.median | num }} | {{ w.p90 | num }} |
{% endfor %}
_{{ t.lead_note }}_
{% else %}{{ t.no_shipped }}
{% endif %}"""

_HTML = """\
<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<title>{{ t.title }}: {{ r.org }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; }
th { background: #f4f4f4; } td.n { text-align: right; }
img { max-width: 100%; } .note { color: #666; font-size: 13px; }
</style>
</head>
<body>
<h1>{{ t.title }}: {{ r.org }}</h1>
<p>{{ t.generated }}: {{ r.generated_at.strftime("%Y-%m-%d %H:%M") }} UTC ·
{{ t.window }}: {{ r.since.date().isoformat() if r.since else t.all_time }}</p>
<h2>{{ t.summary }}</h2>
<table><tr>{% for h in ["backlog items", "requesting accounts", "arr_behind", "feedback records",
"alerts sent", "open dead letters", "runs"] %}<th>{{ t[h] }}</th>{% endfor %}</tr>
<tr><td class="n">{{ s.items }}</td><td class="n">{{ s.accounts }}</td><td class="n">{{ s.arr | money }}</td>
<td class="n">{{ s.requests }}</td><td class="n">{{ s.alerts_sent }}</td>
<td class="n">{{ s.open_dead_letters }}</td><td class="n">{{ s.runs }}</td></tr></table>
<h2>{{ t.items_heading }}</h2>
{% if r.items %}
{% if charts.get("items") %}<img alt="{{ charts["items"].alt }}" src="{{ refs["items"] }}">{% endif %}
<p>{{ t.top_note.format(shown=r.items | length, total=s.items) }}</p>
<table><tr>{% for h in ["item", "title_col", "accounts", "ARR", "open deals", "priority", "status",
"milestone"] %}<th>{{ t[h] }}</th>{% endfor %}</tr>
{% for i in r.items %}<tr>
<td>{% if i.url %}<a href="{{ i.url }}">{{ i.key }}</a>{% else %}{{ i.key }}{% endif %}</td>
<td>{{ i.title }}</td><td class="n">{{ i.accounts }}</td><td class="n">{{ i.arr | money }}</td>
<td class="n">{{ i.open_deals | money }}</td><td>{{ i.priority | v }}</td><td>{{ i.status | v }}</td>
<td>{{ i.milestone }}</td></tr>
{% endfor %}</table>
{% else %}<p>{{ t.no_items }}</p>{% endif %}
<h2>{{ t.milestones_heading }}</h2>
{% if r.milestones %}
{% if charts.get("milestones") %}
<img alt="{{ charts["milestones"].alt }}" src="{{ refs["milestones"] }}">{% endif %}
<p>{{ t.promises_line.format(kept=r.promises.kept, missed=r.promises.missed,
at_risk=r.promises.at_risk) }}</p>
<table><tr>{% for h in ["milestone", "due", "state", "items", "waiting accounts", "slips", "days slipped",
"kept", "missed", "at risk", "alerts sent"] %}<th>{{ t[h] }}</th>{% endfor %}</tr>
{% for m in r.milestones %}<tr><td>{{ m.name }}</td><td>{{ m.due | day }}</td><td>{{ m.state | v }}</td>
<td class="n">{{ m.items }}</td><td class="n">{{ m.waiting_accounts }}</td><td class="n">{{ m.slips }}</td>
<td class="n">{{ m.days_slipped }}</td><td class="n">{{ m.promises.kept }}</td>
<td class="n">{{ m.promises.missed }}</td><td class="n">{{ m.promises.at_risk }}</td>
<td class="n">{{ m.alerts_sent }}</td></tr>
{% endfor %}</table>
<p class="note">{{ t.milestones_note }}</p>
{% else %}<p>{{ t.no_milestones }}</p>{% endif %}
<h2>{{ t.lead_heading }}</h2>
{% if lead.samples %}
<p>{{ t.lead_line.format(requests=lead.samples | length, items=lead.shipped_items, median=lead.median | num,
p90=lead.p90 | num, mean=lead.mean | num) }}</p>
{% if charts.get("lead-time") %}
<img alt="{{ charts["lead-time"].alt }}" src="{{ refs["lead-time"] }}">{% endif %}
<table><tr>{% for h in ["milestone", "requests", "median days", "p90 days"] %}
<th>{{ t[h] }}</th>{% endfor %}</tr>
{% for w in lead.by_milestone %}<tr><td>{{ w.milestone }}</td><td class="n">{{ w.requests }}</td>
<td class="n">{{ w.median | num }}</td><td class="n">{{ w.p90 | num }}</td></tr>
{% endfor %}</table>
<p class="note">{{ t.lead_note }}</p>
{% else %}<p>{{ t.no_shipped }}</p>{% endif %}
</body>
</html>
"""


def render_report(
    report: Report,
    fmt: ReportFormat,
    charts: Sequence[Chart] = (),
    *,
    chart_refs: Mapping[str, str] | None = None,
    locale: str = "en",
) -> str:
    """The report text. Markdown points at `chart_refs[name]` (a path, default `<name>.<ext>`);
    HTML embeds every chart as a data URI."""
    by_name = {c.name: c for c in charts}
    if fmt == "html":
        refs = {c.name: c.data_uri() for c in charts}
    else:
        refs = {c.name: (chart_refs or {}).get(c.name, c.filename) for c in charts}
    env = _environment(locale)
    template = env.get_template("report.html" if fmt == "html" else "report.md")
    return template.render(
        r=report,
        s=report.summary,
        lead=report.lead_times,
        t=labels(locale),
        charts=by_name,
        refs=refs,
        lang="zh-CN" if locale == "zh-CN" else "en",
    )


def labels(locale: str) -> Mapping[str, str]:
    """The report's words in this locale (a missing key falls back to English)."""
    return {**_EN, **_ZH} if locale == "zh-CN" else _EN


def _environment(locale: str) -> Environment:
    env = Environment(
        loader=DictLoader({"report.md": _MD, "report.html": _HTML}),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    values = _VALUES_ZH if locale == "zh-CN" else {}
    env.filters.update(
        money=money,
        md=_md_cell,
        day=_day,
        num=_num,
        v=lambda value: values.get(value, value),
    )
    return env


def _md_cell(value: str) -> str:
    """Text safe in a Markdown table cell: no pipes or newlines breaking the row, no stray markup."""
    text = " ".join(str(value).split())
    for ch in "\\|*_`[]<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _day(value: date | datetime | None) -> str:
    return value.isoformat() if value else "-"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
