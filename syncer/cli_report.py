"""`syncer report`: a product-health report linking R&D and sales (registered on `syncer.cli.app`).

Markdown goes to `report-<org>.md` with its charts in `report-<org>-charts/` beside it; HTML is one
self-contained file (charts embedded). Reads the state store only: never migrates it, never writes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncer.cli import ConfigDir, Org, _org_locale, _settings, app, err, out

if TYPE_CHECKING:  # matplotlib loads only when a report is drawn, not for every `syncer` command
    from syncer.report_charts import Chart, ChartFormat
    from syncer.report_data import ReportInput
    from syncer.report_render import ReportFormat
    from syncer.state import StateStore


@app.command()
def report(
    org: Org,
    config_dir: ConfigDir = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="md (with chart files) or html (one file)")
    ] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write [default: ./report-ORG.md or .html]")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Count milestone events and releases from this date on (YYYY-MM-DD)")
    ] = None,
    charts: Annotated[str, typer.Option(help="Chart image format: png or svg")] = "png",
) -> None:
    """Items by requesting accounts and revenue, milestone reliability (slips; promises kept, missed,
    at risk) and time from feedback to shipped, with charts."""
    from syncer.report_charts import render_charts
    from syncer.report_data import build_report
    from syncer.report_render import render_report
    from syncer.state import StateStore
    from syncer.state.insights_repo import schema_ready

    settings = _settings(quiet=True)
    report_format, chart_format, start = _checked(fmt, charts, since)
    target = output or Path(f"report-{org}.{report_format}")
    store = StateStore(settings.database)  # read-only: never migrates or writes, like the dashboard
    try:
        data = _read(store, org, start) if schema_ready(store) else None
    finally:
        store.dispose()
    if data is None:
        err.print(
            f"no runs recorded for org '{org}' in {settings.database}: "
            f"run `syncer run --org {org}` first (or set SYNCER_DATABASE_URL to the store it used)"
        )
        raise typer.Exit(1)
    result = build_report(data)
    images = render_charts(result, chart_format)
    locale = _org_locale(config_dir or settings.config_dir, org)
    target.parent.mkdir(parents=True, exist_ok=True)
    refs = _write_charts(target, images) if report_format == "md" else {}
    text = render_report(result, report_format, images, chart_refs=refs, locale=locale)
    target.write_text(text, encoding="utf-8")
    where = f" (charts in {_charts_dir(target)})" if refs else ""
    out.print(f"Wrote {target}{where}", highlight=False)


def _read(store: StateStore, org: str, since: datetime | None) -> ReportInput | None:
    """One snapshot of everything the report needs; None when the store knows nothing of the org."""
    from syncer.report_data import ReportInput
    from syncer.state.report_repo import read_report

    with read_report(store) as repo:
        totals = repo.insights.totals(org)
        if totals.runs == 0 and totals.items == 0:
            return None
        return ReportInput(
            org=org,
            generated_at=datetime.now(UTC),
            since=since,
            totals=totals,
            links=tuple(repo.links(org)),
            requests=tuple(repo.requests(org)),
            alerts=tuple(repo.alerts(org, since)),
            milestones=tuple(repo.insights.milestones(org)),
        )


def _checked(fmt: str, charts: str, since: str | None) -> tuple[ReportFormat, ChartFormat, datetime | None]:
    """Validate the options; exit 2 naming the bad one."""
    if fmt not in ("md", "html"):
        err.print(f"--format {fmt!r}: choose md or html")
        raise typer.Exit(2)
    if charts not in ("png", "svg"):
        err.print(f"--charts {charts!r}: choose png or svg")
        raise typer.Exit(2)
    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), datetime.min.time(), UTC)
        except ValueError:
            err.print(f"--since {since!r}: expected a date like 2025-01-31")
            raise typer.Exit(2) from None
    return fmt, charts, start  # type: ignore[return-value]  # narrowed by the checks above


def _charts_dir(target: Path) -> Path:
    return target.with_name(f"{target.stem}-charts")


def _write_charts(target: Path, images: tuple[Chart, ...]) -> dict[str, str]:
    """Write the chart files beside the Markdown file; returns name -> path relative to it."""
    folder = _charts_dir(target)
    folder.mkdir(parents=True, exist_ok=True)
    refs = {}
    for chart in images:
        (folder / chart.filename).write_bytes(chart.data)
        refs[chart.name] = f"{folder.name}/{chart.filename}"
    return refs
