"""`syncer worker` and `syncer enqueue`: org runs as jobs of a PostgreSQL queue shared by replicas."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer

from syncer.cli import ConfigDir, _fail_config, _settings, app, err, out
from syncer.config import iter_config_files, load_org_config
from syncer.errors import ConfigError
from syncer.failpoints import kill_at
from syncer.settings import ServiceSettings

NEEDS_POSTGRES = "syncer worker needs PostgreSQL: set SYNCER_DATABASE_URL=postgresql+psycopg://..."


def _postgres_url(settings: ServiceSettings) -> str:
    url = settings.database
    if not url.startswith("postgresql"):
        err.print(NEEDS_POSTGRES, highlight=False)
        raise typer.Exit(2)
    return url


@app.command()
def worker(
    config_dir: ConfigDir = None,
    concurrency: Annotated[int, typer.Option(help="Org runs this worker does at once", min=1)] = 1,
) -> None:
    """Run a queue worker: syncs orgs when due (their `schedule:`) or queued; run one per replica."""
    from syncer import worker as queue
    from syncer.service import open_store

    settings = _settings()
    url = _postgres_url(settings)
    directory = config_dir or settings.config_dir
    try:
        list(iter_config_files(directory))  # fail now on a missing directory, not in every job
        queue.apply_queue_schema(url)
        runtime = queue.WorkerRuntime(
            config_dir=directory,
            store=open_store(url),
            lease_ttl=timedelta(seconds=settings.lease_seconds),
            failpoint=kill_at(settings.failpoint),
            redis_url=settings.redis_url,
        )
    except ConfigError as exc:
        raise _fail_config(exc) from exc
    with queue.app.replace_connector(queue.queue_connector(url)):
        asyncio.run(
            queue.serve(
                runtime,
                concurrency=concurrency,
                heartbeat_seconds=settings.worker_heartbeat_seconds,
                stalled_seconds=settings.worker_stalled_seconds,
            )
        )


@app.command()
def enqueue(
    org: Annotated[list[str] | None, typer.Option("--org", "-o", help="Org to queue (repeatable)")] = None,
    all_orgs: Annotated[bool, typer.Option("--all", help="Queue every org of CONFIG_DIR")] = False,
    config_dir: ConfigDir = None,
) -> None:
    """Queue a run of orgs now, for the workers (`syncer worker`) to pick up."""
    from syncer import worker as queue

    settings = _settings(quiet=True)
    url = _postgres_url(settings)
    names = list(org or [])
    if all_orgs:
        try:
            names += [load_org_config(p).org for p in iter_config_files(config_dir or settings.config_dir)]
        except ConfigError as exc:
            raise _fail_config(exc) from exc
    if not names:
        err.print("nothing to queue: pass --org NAME (repeatable) or --all")
        raise typer.Exit(2)
    queue.apply_queue_schema(url)
    with queue.app.replace_connector(queue.queue_connector(url)), queue.app.open():
        for name in dict.fromkeys(names):
            queued = queue.defer_org(queue.app, name)
            out.print(f"{'queued' if queued else 'already queued'}  {name}", highlight=False)
