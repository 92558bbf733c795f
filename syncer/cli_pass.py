"""The pass commands: `run`, `backfill`, `retry` (each with `--dry-run`) and `rescan`, with progress
bars, a graceful stop and a one-screen summary (registered on `syncer.cli.app` when that module loads)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from syncer.cli import ConfigDir, Json, Org, _fail_config, _finish, _settings, app, err, out
from syncer.config import find_org_config
from syncer.errors import ConfigError
from syncer.failpoints import kill_at
from syncer.plan_view import plan_tables

if TYPE_CHECKING:
    from syncer.counts import PassCounts
    from syncer.dryrun import Plan

DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Show the planned creates, updates, write-backs and alerts; write nothing (remote or state)",
    ),
]


class _RateColumn(ProgressColumn):
    """Records per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} records/s" if speed else "- records/s", style="progress.data.speed")


# what a pass does after each of the engine's checkpoints (syncer/failpoints.py names them)
STEPS = {
    "pull": "pulling feedback",
    "accounts": "refreshing accounts",
    "create": "creating backlog items",
    "apply": "reading tracker items and milestones",
    "writeback": "writing item state back to the CRM",
    "alerts": "sending alerts",
}


def _progress_reporter(progress: Progress, task: TaskID, prefix: str) -> Callable[[str, int], None]:
    """The engine's `on_progress(stage, n)`: n more records pulled. A `<stage>.total` report (from a CRM
    that can count its matches, like HubSpot search's `total`) sets the bar's total, so the bar fills and
    the time-remaining column shows an ETA; without one the bar shows records, records/s and elapsed.
    A `step:<checkpoint>` report names the phase the pass is in."""

    def report(stage: str, n: int) -> None:
        if stage.startswith("step:"):
            phase = stage.removeprefix("step:").split(".")[0]
            progress.update(task, description=f"{prefix}: {STEPS.get(phase, phase)}")
        elif stage.endswith(".total"):
            progress.update(task, total=n)
        else:
            progress.advance(task, n)

    return report


@contextmanager
def _graceful_stop() -> Iterator[Callable[[], bool]]:
    """First Ctrl-C (SIGINT) or SIGTERM: stop at the engine's next safe checkpoint, everything so far
    committed, so rerunning the same command resumes; a second Ctrl-C aborts at once."""
    requested = threading.Event()

    def handle(_signum: int, _frame: object) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()
        err.print("stopping at the next checkpoint (Ctrl-C again aborts now) ...", highlight=False)

    previous: dict[signal.Signals, object] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handle)
    except ValueError:  # not the main thread (an in-process caller): default signal behaviour
        pass
    try:
        yield requested.is_set
    finally:
        for number, old in previous.items():
            signal.signal(number, old)  # type: ignore[arg-type]


def _progress(disable: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=disable,
    )


def _one_pass(
    org: str,
    config_dir: Path | None,
    as_json: bool,
    name: str,
    since: datetime | None,
    *,
    replay: bool = False,
    until: datetime | None = None,
    dry_run: bool = False,
    rescan: bool = False,
) -> None:
    from syncer.service import open_store, plan_org, run_org

    settings = _settings()
    plan: Plan | None = None
    try:
        config = find_org_config(config_dir or settings.config_dir, org)
        store = open_store(settings.database)
        with _graceful_stop() as stop, _progress(disable=as_json) as progress:
            prefix = f"{name} {org}" + (" (dry run)" if dry_run else "")
            task = progress.add_task(f"{prefix}: {STEPS['pull']}", total=None)
            report = _progress_reporter(progress, task, prefix)
            common: dict[str, Any] = {
                "since": since,
                "until": until,
                "replay_dead_letters": replay,
                "rescan": rescan,
                "on_progress": report,
                "redis_url": settings.redis_url,
            }
            if dry_run:
                counts, plan = plan_org(config, store, name, **common)
            else:
                counts = run_org(
                    config,
                    store,
                    name,
                    failpoint=kill_at(settings.failpoint),
                    stop=stop,
                    lease_ttl=timedelta(seconds=settings.lease_seconds),
                    **common,
                )
    except ConfigError as exc:
        raise _fail_config(exc) from exc
    if counts.interrupted:
        err.print(
            f"[yellow]interrupted[/yellow] {name} of {org} stopped at a checkpoint after "
            f"{counts.feedback_pulled} records; run the same command again to resume",
            highlight=False,
        )
        raise typer.Exit(130)
    if plan is not None:
        _show_plan(counts, plan, as_json, apply_hint=_apply_hint(name, org))
    else:
        _finish([counts], as_json)


def _apply_hint(name: str, org: str) -> str:
    return f"syncer rescan --org {org} --apply" if name == "rescan" else "the same command without --dry-run"


def _show_plan(counts: PassCounts, plan: Plan, as_json: bool, apply_hint: str) -> None:
    if counts.skipped:
        _finish([counts], as_json)
    if as_json:
        body = {"dry_run": True, "passes": [counts.public()], "plan": plan.as_dict()}
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        for table in plan_tables(plan):
            out.print(table)
        out.print(
            f"[bold]Dry run[/bold]: {len(plan.creates)} items to create, {len(plan.updates)} to update, "
            f"{len(plan.write_backs)} CRM records to update, {len(plan.alerts)} alerts to send, "
            f"{counts.dead_letters} records that would go to dead letters. Nothing was written (CRM, "
            f"tracker and state store unchanged). To do it: {apply_hint}."
        )
        for e in counts.errors:
            err.print(f"[red]error[/red] {e}", highlight=False)
    if counts.errors:
        raise typer.Exit(1)


@app.command()
def run(org: Org, config_dir: ConfigDir = None, as_json: Json = False, dry_run: DryRun = False) -> None:
    """One sync pass for one org: pull changed feedback, create/update backlog items, write links back."""
    _one_pass(org, config_dir, as_json, "run", None, dry_run=dry_run)


@app.command()
def backfill(
    org: Org,
    since: Annotated[
        datetime,
        typer.Option(
            help="Re-read feedback changed since this date (UTC)", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]
        ),
    ],
    until: Annotated[
        datetime | None,
        typer.Option(
            help="Only feedback changed up to this date (UTC; default: now)",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        ),
    ] = None,
    config_dir: ConfigDir = None,
    as_json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Re-read history since a date (resumable: after Ctrl-C or a crash the same command continues from
    its checkpoint). If a run of the org is in progress it does nothing and exits 1."""
    start, end = since.replace(tzinfo=UTC), until.replace(tzinfo=UTC) if until else None
    if end is not None and end <= start:
        err.print(f"--until {end:%Y-%m-%d %H:%M:%S} must be after --since {start:%Y-%m-%d %H:%M:%S}")
        raise typer.Exit(2)
    _one_pass(org, config_dir, as_json, "backfill", start, until=end, dry_run=dry_run)


@app.command()
def retry(org: Org, config_dir: ConfigDir = None, as_json: Json = False, dry_run: DryRun = False) -> None:
    """Replay every dead letter (after you fixed the cause in the CRM or tracker), then run a normal pass."""
    _one_pass(org, config_dir, as_json, "retry", None, replay=True, dry_run=dry_run)


@app.command()
def rescan(
    org: Org,
    config_dir: ConfigDir = None,
    as_json: Json = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Do it (default: a dry run showing what would change)")
    ] = False,
) -> None:
    """After a mapping change (labels, priorities, field mappings, status mapping, locale): re-read and
    re-map every feedback record and tracker item, and update only the items, CRM records and alerts whose
    content changed (content hashes); never creates a duplicate. A dry run unless --apply; resumable."""
    _one_pass(org, config_dir, as_json, "rescan", None, rescan=True, dry_run=not apply)
