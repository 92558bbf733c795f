"""The web dashboard over real HTTP (served in a thread): pages, no JavaScript, basic auth, no leaks."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from adapters.emulation import ServedApp
from syncer.dashboard import BasicCredentials, dashboard_app, dashboard_credentials
from syncer.errors import ConfigError
from syncer.http_server import health_app
from syncer.scheduler import Readiness
from syncer.settings import ServiceSettings
from syncer.state import StateStore
from tests.unit.test_insights import seed

PASSWORD = "s3cret-dashboard-pw-5150"
CREDENTIALS = BasicCredentials("ops", SecretStr(PASSWORD))
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _cell(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, f"no #{element_id} on the page"
    return found.group(1)


@contextmanager
def serve(app: Starlette) -> Iterator[httpx.Client]:
    with ServedApp(app) as served, httpx.Client(base_url=served.url) as client:
        yield client


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    seed(store)
    yield store
    store.dispose()


def test_dashboard_pages_show_the_store_numbers_as_plain_html(seeded: StateStore) -> None:
    with serve(dashboard_app(seeded, clock=lambda: NOW)) as client:
        overview, page, unknown = client.get("/"), client.get("/orgs/acme"), client.get("/orgs/nobody")

    assert overview.status_code == page.status_code == 200
    assert 'href="orgs/acme"' in overview.text
    assert 'href="orgs/beta"' in overview.text
    numbers = {key: _cell(page.text, f"total-{key}") for key in ("items", "accounts", "alerts", "runs")}
    assert numbers == {"items": "3", "accounts": "3", "alerts": "3", "runs": "3"}
    assert _cell(page.text, "total-dead-letters") == "3"
    assert '<tr data-item="PROD-2">' in page.text
    assert "$900,000" in page.text
    assert "2.5" in page.text
    assert "slipped" in page.text
    assert "boom" in page.text
    for response in (overview, page):
        assert "<script" not in response.text.lower()  # stored texts are escaped, none is added
        assert "script-src" not in response.headers["content-security-policy"]  # none allowed
    assert "&lt;script&gt;alert(1)&lt;/script&gt; no account" in page.text
    assert unknown.status_code == 404


def test_dashboard_speaks_chinese_for_a_zh_cn_org(seeded: StateStore, tmp_path: Path) -> None:
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    shutil.copy(Path("examples/orgs/hangzhou.yaml"), orgs / "hangzhou.yaml")
    seed(seeded, org="hangzhou")
    with serve(dashboard_app(seeded, config_dir=orgs, clock=lambda: NOW)) as client:
        page, english = client.get("/orgs/hangzhou").text, client.get("/orgs/acme").text

    assert 'lang="zh-CN"' in page
    assert "已延期的里程碑" in page
    assert "需求排行（按年度收入）" in page
    assert "Top items by ARR" in english  # acme has no config here


def test_dashboard_shows_a_hint_before_the_first_migration(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with serve(dashboard_app(store)) as client:
            page = client.get("/")
    finally:
        store.dispose()
    assert page.status_code == 200
    assert "syncer migrate" in page.text


def test_dashboard_basic_auth_guards_pages_but_not_the_schedulers_probes(seeded: StateStore) -> None:
    web = dashboard_app(seeded, credentials=CREDENTIALS)
    with serve(health_app(lambda: Readiness(True, {}), lambda: b"", web)) as client:
        missing, wrong = client.get("/orgs/acme"), client.get("/", headers=_basic("ops", "guess"))
        garbled = client.get("/", headers={"Authorization": "Basic !!notbase64"})
        allowed = client.get("/orgs/acme", headers=_basic("ops", PASSWORD))
        probe = client.get("/healthz")

    assert missing.status_code == wrong.status_code == garbled.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Basic ")
    assert allowed.status_code == 200
    assert probe.status_code == 200  # probes and scrapes stay open
    for response in (missing, wrong, allowed):
        assert PASSWORD not in response.text


def test_dashboard_credentials_come_from_env_or_files_and_both_are_needed(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")

    from_file = dashboard_credentials(ServiceSettings(dashboard_user="ops", dashboard_password_file=secret))

    assert from_file == CREDENTIALS
    assert dashboard_credentials(ServiceSettings()) is None
    with pytest.raises(ConfigError, match="both"):
        dashboard_credentials(ServiceSettings(dashboard_user="ops"))
    assert PASSWORD not in repr(ServiceSettings(dashboard_password=SecretStr(PASSWORD)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dashboard_command_binds_loopback_by_default_and_never_logs_the_password(
    seeded: StateStore, tmp_path: Path
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        SYNCER_DATABASE_URL=seeded.url,
        SYNCER_DASHBOARD_USER="ops",
        SYNCER_DASHBOARD_PASSWORD=PASSWORD,
        SYNCER_CONFIG_DIR=str(tmp_path),
        PYTHONPATH=str(Path.cwd()),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/orgs/acme"
        status = _wait_for(url, proc)
        assert status == 401
        assert httpx.get(url, auth=("ops", PASSWORD)).status_code == 200
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in output  # the serving line names where it listens
    assert PASSWORD not in output


def _wait_for(url: str, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"syncer dashboard exited early: {proc.communicate()[0]}")
        try:
            return httpx.get(url).status_code
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("syncer dashboard did not start within 30 s")
