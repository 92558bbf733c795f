"""`syncer dashboard`: the read-only web dashboard alone (registered on `syncer.cli.app` on load)."""

from __future__ import annotations

from typing import Annotated

import structlog
import typer

from syncer.cli import ConfigDir, _fail_config, _settings, app, err
from syncer.errors import ConfigError

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@app.command()
def dashboard(
    config_dir: ConfigDir = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but 127.0.0.1 should use basic auth")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8081,
) -> None:
    """Serve the read-only dashboard: per org the last runs, lag, dead letters, milestones, top items.

    Basic auth is on when SYNCER_DASHBOARD_USER and SYNCER_DASHBOARD_PASSWORD (or *_FILE) are set.
    Reads the state store only; it never migrates or writes. Stops on Ctrl-C / SIGTERM.
    """
    import uvicorn

    from syncer.dashboard import dashboard_app, dashboard_credentials
    from syncer.state import StateStore

    settings = _settings()
    log = structlog.get_logger("syncer.dashboard")
    try:
        credentials = dashboard_credentials(settings)
    except ConfigError as exc:
        raise _fail_config(exc) from exc
    if credentials is None and host not in LOOPBACK:
        err.print(
            f"[yellow]warning[/yellow] serving on {host} without basic auth: anyone who can reach it "
            "sees customer names and revenue; set SYNCER_DASHBOARD_USER and SYNCER_DASHBOARD_PASSWORD",
            highlight=False,
        )
    store = StateStore(settings.database)
    directory = config_dir or settings.config_dir
    web = dashboard_app(store, config_dir=directory, credentials=credentials)
    log.info("dashboard.serving", url=f"http://{host}:{port}/", basic_auth=credentials is not None)
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    finally:
        store.dispose()
