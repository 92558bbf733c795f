"""The scheduler's small HTTP surface: `/healthz`, `/readyz`, `/metrics` (Starlette, uvicorn in a thread).

Bound to 127.0.0.1 unless told otherwise; it serves no data beyond org names, schedules and errors,
except the read-only dashboard mounted at `/` (customer names and revenue: behind basic auth if set).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from adapters.emulation import ServedApp
from syncer.scheduler import Readiness


def health_app(
    readiness: Callable[[], Readiness], metrics: Callable[[], bytes], dashboard: ASGIApp | None = None
) -> Starlette:
    """`/healthz`: 200 while the process serves; `/readyz`: 200 or 503 with the reason; `/metrics`;
    `dashboard` (its own auth) under `/`, after them: probes and scrapes never need its credentials."""

    # sync endpoints: Starlette runs them in its thread pool, so a slow database ping blocks nothing
    def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    def readyz(_request: Request) -> Response:
        state = readiness()
        return JSONResponse(state.detail, status_code=200 if state.ready else 503)

    def metrics_view(_request: Request) -> Response:
        return Response(metrics(), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_view, methods=["GET"]),
    ]
    if dashboard is not None:
        routes.append(Mount("/", app=dashboard))
    return Starlette(routes=routes)


def serve_health(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> ServedApp:
    """Serve `app` in a daemon thread (port 0: any free port; see `.url`); raises RuntimeError if it
    cannot bind."""
    return ServedApp(app, port=port, host=host).start()
