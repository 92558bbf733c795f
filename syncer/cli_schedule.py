"""`syncer schedule`: the long-running service (registered on `syncer.cli.app` when that module loads)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from syncer.cli import ConfigDir, _fail_config, _settings, app, err, out
from syncer.errors import ConfigError
from syncer.failpoints import kill_at

if TYPE_CHECKING:
    from syncer.scheduler import Scheduler


@app.command()
def schedule(
    config_dir: ConfigDir = None,
    http_port: Annotated[
        int, typer.Option(help="Port of the dashboard (/), /healthz, /readyz, /metrics (0: any free port)")
    ] = 8080,
    http_host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 to reach it from outside a container")
    ] = "127.0.0.1",
    once: Annotated[
        bool, typer.Option("--once", help="Run every org once and exit (for cron); serves no HTTP")
    ] = False,
) -> None:
    """Run every org in CONFIG_DIR on its own `schedule:` cron until SIGTERM/SIGINT (exit 0).

    Migrates the database first. Config files are re-read as they change. A failing org backs off
    alone (up to 1 h). SIGTERM ends the current pass at a safe point with its work committed.
    """
    from syncer.dashboard import dashboard_app, dashboard_credentials
    from syncer.http_server import health_app, serve_health
    from syncer.metrics import SyncMetrics
    from syncer.scheduler import Scheduler, StopFlag, engine_runner, store_ping
    from syncer.service import open_store

    settings = _settings()
    directory = config_dir or settings.config_dir
    stop = StopFlag()
    restore = stop.install()
    try:
        store = open_store(settings.database)  # runs the migrations
        metrics = SyncMetrics()
        scheduler = Scheduler(
            directory,
            engine_runner(
                store,
                lease_ttl=timedelta(seconds=settings.lease_seconds),
                failpoint=kill_at(settings.failpoint),
                redis_url=settings.redis_url,
            ),
            metrics=metrics,
            ping=store_ping(store),
            stop=stop,
        )
        if once:
            raise typer.Exit(_once(scheduler))
        web = dashboard_app(store, config_dir=directory, credentials=dashboard_credentials(settings))
        try:
            served = serve_health(health_app(scheduler.readiness, metrics.render, web), http_host, http_port)
        except RuntimeError as exc:
            err.print(f"cannot serve HTTP on {http_host}:{http_port} (port in use?): {exc}", highlight=False)
            raise typer.Exit(2) from exc
        structlog.get_logger("syncer.scheduler").info("http.serving", url=served.url)
        try:
            scheduler.run_forever()
        finally:
            served.stop()
            store.dispose()
    except ConfigError as exc:
        raise _fail_config(exc) from exc
    finally:
        restore()


def _once(scheduler: Scheduler) -> int:
    """Run every org once; print one line per org. Exit code: 2 no usable/some invalid config,
    1 some org failed (or has dead letters, or was interrupted or busy), 0 all ok."""
    scheduler.reload()
    for problem in scheduler.problems.values():
        err.print(f"[red]config error[/red] {problem}", highlight=False)
    if not scheduler.orgs:
        err.print("no valid org config to run")
        return 2
    outcomes = scheduler.run_all()
    for o in outcomes:
        c = o.counts
        numbers = (
            f"pulled {c.feedback_pulled} created {c.items_created} updated {c.items_updated} "
            f"linked {c.links_written} alerts {c.alerts_created} dead {c.dead_letters}"
            if c
            else ""
        )
        out.print(f"{o.org}  {o.status}  {numbers}".rstrip(), highlight=False)
        if o.error:
            err.print(f"[red]{o.org}[/red] {o.status}: {o.error}", highlight=False)
    if scheduler.problems:
        return 2
    return 0 if all(o.status == "ok" for o in outcomes) and len(outcomes) == len(scheduler.orgs) else 1
