"""The report's charts, drawn with matplotlib (Agg, no display) as PNG or SVG bytes.

Figures are built with `matplotlib.figure.Figure`, not pyplot: no global figure registry, safe from
any thread, nothing to close. Bars are labelled with item keys and milestone names as the tracker
spells them; axis text stays ASCII so no CJK font is needed on the server.
Output is reproducible: no timestamps in the metadata and a fixed SVG id salt.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from syncer.report_data import ItemLine, LeadTimes, MilestoneLine, Report

ChartFormat = Literal["png", "svg"]

_COLORS = {"accounts": "#4C72B0", "arr": "#55A868", "kept": "#55A868", "missed": "#C44E52"}
_COLORS |= {"at_risk": "#DD8452", "slips": "#8172B3", "wait": "#4C72B0"}


@dataclass(frozen=True, slots=True)
class Chart:
    name: str  # file stem: items | milestones | lead-time
    alt: str  # what the chart shows, for alt text and captions
    fmt: ChartFormat
    data: bytes

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.fmt}"

    def data_uri(self) -> str:
        mime = "image/svg+xml" if self.fmt == "svg" else "image/png"
        return f"data:{mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def render_charts(report: Report, fmt: ChartFormat = "png") -> tuple[Chart, ...]:
    """One chart per section that has data to show (an org with no releases gets no lead-time chart)."""
    charts: list[Chart] = []
    if report.items:
        alt = "Top backlog items: requesting accounts and ARR"
        charts.append(_save("items", alt, items_figure(report.items), fmt))
    if report.milestones:
        alt = "Milestone reliability: slips and promises kept, missed, at risk"
        charts.append(_save("milestones", alt, milestones_figure(report.milestones), fmt))
    if report.lead_times.samples:
        alt = "Days from a customer's request to the release that shipped it"
        charts.append(_save("lead-time", alt, lead_time_figure(report.lead_times), fmt))
    return tuple(charts)


def items_figure(items: Sequence[ItemLine]) -> Figure:
    """Two aligned horizontal bar panels: accounts asking, and the ARR behind them (millions)."""
    shown = list(items[:10])[::-1]  # largest at the top
    keys = [i.key for i in shown]
    fig = Figure(figsize=(8, 0.45 * len(shown) + 1.4), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    left.barh(keys, [i.accounts for i in shown], color=_COLORS["accounts"])
    left.set_xlabel("requesting accounts")
    right.barh(keys, [i.arr / 1e6 for i in shown], color=_COLORS["arr"])
    right.set_xlabel("ARR behind the item (millions)")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    fig.suptitle("Most requested backlog items")
    return fig


def milestones_figure(milestones: Sequence[MilestoneLine]) -> Figure:
    """Grouped bars per milestone: slips, then promises kept / missed / at risk."""
    names = [m.name for m in milestones]
    series = {
        "slips": [m.slips for m in milestones],
        "kept": [m.promises.kept for m in milestones],
        "missed": [m.promises.missed for m in milestones],
        "at_risk": [m.promises.at_risk for m in milestones],
    }
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(series)
    for n, (label, values) in enumerate(series.items()):
        xs = [x + (n - 1.5) * width for x in range(len(names))]
        ax.bar(xs, values, width, label=label.replace("_", " "), color=_COLORS[label])
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("count")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title("Milestone reliability (slips; promises to customers)")
    return fig


def lead_time_figure(lead: LeadTimes) -> Figure:
    """Histogram of request-to-release days, with the median and p90 marked."""
    days = [s.days for s in lead.samples]
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.hist(days, bins=min(20, max(5, len(set(days)))), color=_COLORS["wait"], alpha=0.85)
    for value, label, style in ((lead.median, "median", "--"), (lead.p90, "p90", ":")):
        if value is not None:
            ax.axvline(value, color="black", linestyle=style, linewidth=1, label=f"{label} {value:g} d")
    ax.set_xlabel("days from request to release")
    ax.set_ylabel("requests")
    ax.legend(frameon=False)
    ax.set_title("Time from customer feedback to shipped")
    return fig


def _save(name: str, alt: str, fig: Figure, fmt: ChartFormat) -> Chart:
    buffer = io.BytesIO()
    metadata: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": None}
    with matplotlib.rc_context({"svg.hashsalt": "syncer-report"}):
        fig.savefig(buffer, format=fmt, dpi=110, metadata=metadata)
    return Chart(name, alt, fmt, buffer.getvalue())
