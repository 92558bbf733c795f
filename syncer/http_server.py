"""The scheduler's small HTTP surface: `/healthz`, `/readyz`, `/metrics` (Starlette, uvicorn in a thread).

Bound to 127.0.0.1 unless told otherwise; it serves no data beyond org names, schedules and errors.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.emulation import ServedApp
from syncer.scheduler import Readiness


def health_app(readiness: Callable[[], Readiness], metrics: Callable[[], bytes]) -> Starlette:
    """`/healthz`: 200 while the process serves; `/readyz`: 200 or 503 with the reason; `/metrics`."""

    # sync endpoints: Starlette runs them in its thread pool, so a slow database ping blocks nothing
    def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    def readyz(_request: Request) -> Response:
        state = readiness()
        return JSONResponse(state.detail, status_code=200 if state.ready else 503)

    def metrics_view(_request: Request) -> Response:
        return Response(metrics(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_view, methods=["GET"]),
        ]
    )


def serve_health(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> ServedApp:
    """Serve `app` in a daemon thread (port 0: any free port; see `.url`); raises RuntimeError if it
    cannot bind."""
    return ServedApp(app, port=port, host=host).start()
