"""The `syncer` command line (typer + rich).

Exit codes: 0 ok, 1 finished with failures, 2 bad usage or bad config, 130 a pass stopped by Ctrl-C or
SIGTERM at a checkpoint (the same command resumes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from syncer.config import find_org_config, iter_config_files, load_org_config
from syncer.counts import PassCounts
from syncer.errors import ConfigError
from syncer.logging import configure_logging
from syncer.runtime import tune_gc
from syncer.settings import ServiceSettings
from syncer.state.store import StateStoreError
from syncer.views import (
    dead_letters_table,
    items_table,
    localize,
    milestones_table,
    org_summary,
    passes_table,
    runs_table,
)

app = typer.Typer(
    name="syncer",
    help="Customer feedback in the CRM becomes backlog items in the tracker; milestones come back to sales.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, soft_wrap=True)  # error text is never wrapped: grep and tests see it whole

ConfigDir = Annotated[
    Path | None,
    typer.Option(
        "--config-dir", "-c", help="Directory of org YAML files [env SYNCER_CONFIG_DIR, default ./orgs]"
    ),
]
Org = Annotated[str, typer.Option("--org", "-o", help="Org name (its config is CONFIG_DIR/ORG.yaml)")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables")]


def _settings(quiet: bool = False) -> ServiceSettings:
    """Service settings; logging set up from them (`quiet` commands default to warnings only)."""
    settings = ServiceSettings()
    configure_logging(
        settings.log_level or ("WARNING" if quiet else "INFO"),
        settings.log_format or ("console" if quiet else "json"),
    )
    return settings


def _fail_config(exc: ConfigError) -> typer.Exit:
    err.print(f"[red]config error[/red] {exc}", markup=True, highlight=False)
    return typer.Exit(2)


def _finish(passes: list[PassCounts], as_json: bool) -> None:
    busy = [p.skipped for p in passes if p.skipped]
    if busy:
        for reason in busy:
            err.print(f"[yellow]skipped[/yellow] {reason}; try again when it has finished", highlight=False)
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps({"passes": [p.public() for p in passes]}) + "\n")
    else:
        out.print(passes_table(passes))
        for p in passes:
            for e in p.errors:
                err.print(
                    f"[red]error[/red] {e}\nThe next run resumes where this one stopped.", highlight=False
                )
        if any(p.dead_letters for p in passes):
            out.print(
                "Some records could not be synced: see [bold]syncer status --org ...[/bold] for the reasons."
            )
    if any(p.failed for p in passes):
        raise typer.Exit(1)


@app.command()
def validate(config_dir: Annotated[Path, typer.Argument(help="Directory of org YAML files")]) -> None:
    """Check every org config in a directory; exit 2 naming the file, key and fix of the first problem."""
    _settings()
    problems = 0
    try:
        files = list(iter_config_files(config_dir))
    except ConfigError as exc:
        raise _fail_config(exc) from exc
    for path in files:
        try:
            config = load_org_config(path)
            out.print(f"[green]ok[/green]  {path}  ({config.crm.system} -> {config.tracker.system})")
        except ConfigError as exc:
            problems += 1
            err.print(f"[red]bad[/red] {exc}", highlight=False)
    if not files:
        err.print(f"no *.yaml files in {config_dir}")
        raise typer.Exit(2)
    if problems:
        raise typer.Exit(2)


@app.command()
def migrate() -> None:
    """Bring the state database (SYNCER_DATABASE_URL) to this version's schema; prints the revisions.

    Every command migrates on start too; run this first when several replicas share one PostgreSQL."""
    from syncer.state.migrate import MigrationError, migrate_url

    settings = _settings(quiet=True)
    try:
        shown, before, after, target = migrate_url(settings.database)
    except MigrationError as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    out.print(
        f"database {shown}: {before or '(empty)'} -> {after} (target {target})",
        highlight=False,
    )
    if before == after:
        out.print("already up to date")
    if settings.database.startswith("postgresql"):
        from syncer.worker import apply_queue_schema

        if apply_queue_schema(settings.database):
            out.print("job queue tables installed (for `syncer worker`)")


@app.command()
def status(org: Org, config_dir: ConfigDir = None, as_json: Json = False) -> None:
    """What the state store knows about an org: recent runs, backlog items, open dead letters."""
    from syncer.service import open_store

    settings = _settings()
    store = open_store(settings.database)
    with store.unit() as unit:
        runs, top = unit.audit.recent_runs(org, 10), unit.links.top(org, 10)
        letters, n_links = unit.audit.open_dead_letters(org, 50), unit.links.count(org)
        n_letters, pending = unit.audit.count_open_dead_letters(org), unit.pending_group_count(org)
        cursor = unit.get_cursor(org, "feedback")
        milestones = [(m, unit.waiting_accounts(org, m.milestone.id)) for m in unit.milestones.summaries(org)]
        alerts_sent = unit.milestones.count_alerts(org)
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "org": org,
                    "backlog_items": n_links,
                    "dead_letters": n_letters,
                    "pending_groups": pending,
                    "alerts_sent": alerts_sent,
                    "milestones": [
                        {
                            "id": m.milestone.id,
                            "name": m.milestone.name,
                            "due": m.milestone.due.isoformat() if m.milestone.due else None,
                            "state": m.milestone.state.value,
                            "waiting_accounts": waiting,
                            "alerts_sent": m.alerts_sent,
                            "promises_at_risk": m.at_risk,
                        }
                        for m, waiting in milestones
                    ],
                    "cursor": cursor.to_str() if cursor else None,
                    "runs": [
                        {
                            "kind": r.kind,
                            "status": r.status,
                            "started_at": r.started_at.isoformat(),
                            **r.counts,
                        }
                        for r in runs
                    ],
                },
                default=str,
            )
            + "\n"
        )
        return
    if not runs:
        out.print(f"No runs recorded for org '{org}' in {settings.database}. Try: syncer run --org {org}")
        return
    locale = _org_locale(config_dir or settings.config_dir, org)
    out.print(org_summary(org, n_links, n_letters, pending, cursor.to_str() if cursor else "-", locale))
    out.print(localize(runs_table(runs), locale))
    out.print(localize(items_table(top), locale))
    if milestones:
        out.print(localize(milestones_table(milestones), locale))
    if letters:
        out.print(localize(dead_letters_table(letters), locale))


def _org_locale(config_dir: Path, org: str) -> str:
    """The org's `locale:` for human output; English when its config can't be read here."""
    try:
        return find_org_config(config_dir, org).locale
    except ConfigError:
        return "en"


@app.command()
def emulator(
    system: Annotated[str, typer.Argument(help="hubspot or jira")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free port)")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the generated demo data")] = 7,
    token: Annotated[str, typer.Option(help="Token the emulator accepts")] = "demo-token",  # noqa: S107
) -> None:
    """Run one bundled emulator in the foreground, so a config can point at it (Ctrl-C stops it)."""
    import time

    from adapters.emulation import ServedApp
    from adapters.hubspot.emulator import HubSpotEmulator
    from adapters.jira.emulator import JiraEmulator

    _settings()
    if system == "hubspot":
        hub = HubSpotEmulator(token=token)
        hub.seed_demo(seed)
        served = ServedApp(hub.app, port=port)
    elif system == "jira":
        jira = JiraEmulator(token=token)
        jira.seed_demo(seed)
        served = ServedApp(jira.app, port=port)
    else:
        err.print(f"unknown system {system!r}: choose hubspot or jira")
        raise typer.Exit(2)
    with served:
        out.print(f"{system} emulator listening on {served.url} (token: {token}); Ctrl-C to stop")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            out.print("stopped")


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(help="CRM-TRACKER pair")] = "hubspot-jira",
    seed: Annotated[int, typer.Option(help="Seed of the generated data")] = 7,
    as_json: Json = False,
) -> None:
    """Start the bundled emulators, seed them, sync twice, edit one ticket, sync twice more; show it all."""
    from syncer.demo import PASSES as DEMO_PASSES
    from syncer.demo import SCENARIOS, run_demo

    settings = _settings(quiet=True)
    if scenario not in SCENARIOS:
        err.print(f"unknown scenario {scenario!r}; available: {', '.join(SCENARIOS)}")
        raise typer.Exit(2)
    if not as_json:
        crm_name, tracker_name = scenario.split("-")
        out.print(f"Starting the bundled {crm_name} and {tracker_name} emulators (seed {seed}) ...")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("passes"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as progress:
        task = progress.add_task("demo: first sync", total=DEMO_PASSES)

        def passed(counts: PassCounts) -> None:
            progress.update(task, advance=1, description=f"demo: {counts.name} done")

        result = run_demo(scenario, seed, settings.database_url, on_pass=passed)
    if as_json:
        sys.stdout.write(json.dumps({"passes": [p.public() for p in result.passes]}) + "\n")
        return
    out.print(
        f"Seeded {result.companies} accounts and {result.tickets} feedback records ({result.scenario}).\n"
    )
    out.print(passes_table(result.passes))
    out.print(
        "first sync: feedback grouped into backlog items (several customers -> one item), and every\n"
        "  feedback record shows its item; bad records went to dead letters, the run went on.\n"
        "repeat: nothing changed, nothing written (re-read records are skipped by content hash).\n"
        f"one record edited (#{result.edited_ticket}): exactly one backlog item updated.\n"
        f"R&D plans: {len(result.planned.get('2.4', []))} items into 2.4, "
        f"{len(result.planned.get('2.5', []))} into 2.5 (which gets a date): each waiting account's owner "
        "gets one task.\n"
        "2.4 released, 2.5 slipped 45 days: owners hear it once; promises now missed are flagged at risk.\n"
    )
    out.print(items_table(result.top_items))
    out.print(milestones_table(result.milestones))
    if result.dead_letters:
        out.print(dead_letters_table(result.dead_letters, "Dead letters (seeded bad data, as expected)"))


def main() -> None:
    """The `syncer` entry point: the typer app, with the state database's unavailability said plainly."""
    tune_gc()  # every command module is imported by now (see the end of this module)
    try:
        app()
    except StateStoreError as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False)
        raise SystemExit(1) from exc


from syncer import cli_dashboard as _cli_dashboard  # noqa: E402, F401  (registers `dashboard`)
from syncer import cli_pass as _cli_pass  # noqa: E402, F401  (registers `run`, `backfill`, `retry`, `rescan`)
from syncer import cli_report as _cli_report  # noqa: E402, F401  (registers `report`)
from syncer import cli_schedule as _cli_schedule  # noqa: E402, F401  (registers `schedule`)
from syncer import cli_worker as _cli_worker  # noqa: E402, F401  (registers `worker`, `enqueue`)
