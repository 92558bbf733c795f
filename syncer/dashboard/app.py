"""The read-only web dashboard: an overview of every org and one page per org, rendered on the server.

Plain HTML and inline CSS: no JavaScript, no forms, nothing that writes. Served by `syncer dashboard`
and mounted at `/` by `syncer schedule`. Each page is read from one snapshot of the state store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from mappings.render import money
from syncer.config import find_org_config, iter_config_files
from syncer.dashboard.auth import BasicAuthMiddleware, BasicCredentials
from syncer.dashboard.labels import translator
from syncer.errors import ConfigError
from syncer.insights import human_duration, load_org_report, load_overview, run_error
from syncer.state import StateStore
from syncer.state.insights_repo import read_insights, schema_ready

# a page needs nothing but itself and its inline style; it may not be framed (clickjacking)
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("syncer.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["amount"] = _amount
    env.filters["money"] = money
    env.filters["stamp"] = _stamp
    env.filters["duration"] = human_duration
    env.filters["web_url"] = _web_url
    env.globals["run_error"] = run_error
    return Jinja2Templates(env=env)


def _amount(value: float) -> str:
    """Exact money with thousands separators (`$1,250,000`): people compare it with their CRM."""
    return f"${value:,.0f}"


def _stamp(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _web_url(value: str) -> str:
    """Only http(s) links from stored data reach an href (never `javascript:`)."""
    return value if urlsplit(value).scheme in ("http", "https") else ""


class Dashboard:
    """The pages; each request reads one snapshot through `read_insights`."""

    def __init__(self, store: StateStore, config_dir: Path | None, clock: Callable[[], datetime]) -> None:
        self._store, self._config_dir, self._clock = store, config_dir, clock
        self._templates = _templates()

    def overview(self, request: Request) -> Response:
        if not schema_ready(self._store):
            return self._render(request, "empty.html", {}, "en")
        with read_insights(self._store) as repo:
            lines = load_overview(repo, self._clock(), self._configured_orgs())
        return self._render(request, "overview.html", {"lines": lines}, "en")

    def org(self, request: Request) -> Response:
        name = str(request.path_params["org"])
        if not schema_ready(self._store):
            return self._render(request, "empty.html", {}, "en")
        with read_insights(self._store) as repo:
            if name not in repo.org_names() and name not in self._configured_orgs():
                return self._render(request, "missing.html", {"org": name}, "en", status_code=404)
            report = load_org_report(repo, name, self._clock())
        return self._render(request, "org.html", {"r": report, "org": name}, self._locale(name))

    def _render(
        self, request: Request, page: str, context: dict[str, Any], locale: str, status_code: int = 200
    ) -> Response:
        context = {**context, "t": translator(locale), "locale": locale, "now": self._clock()}
        response = self._templates.TemplateResponse(request, page, context, status_code=status_code)
        response.headers.update(_HEADERS)
        return response

    def _configured_orgs(self) -> list[str]:
        """Org names of the config dir (file stems), if one is given and readable."""
        if self._config_dir is None:
            return []
        try:
            return [path.stem for path in iter_config_files(self._config_dir)]
        except ConfigError:
            return []

    def _locale(self, org: str) -> str:
        if self._config_dir is None:
            return "en"
        try:
            return find_org_config(self._config_dir, org).locale
        except ConfigError:
            return "en"


def dashboard_app(
    store: StateStore,
    *,
    config_dir: Path | None = None,
    credentials: BasicCredentials | None = None,
    clock: Callable[[], datetime] = _now,
) -> Starlette:
    """The dashboard as an ASGI app (GET only); behind basic auth when `credentials` are given."""
    pages = Dashboard(store, config_dir, clock)
    middleware = [Middleware(BasicAuthMiddleware, credentials=credentials)] if credentials else []
    return Starlette(
        routes=[
            Route("/", pages.overview, methods=["GET"], name="overview"),
            Route("/orgs/{org}", pages.org, methods=["GET"], name="org"),
        ],
        middleware=middleware,
    )
