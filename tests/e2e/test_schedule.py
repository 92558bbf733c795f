"""`syncer schedule` as an operator runs it: a real subprocess, the emulators, SQLite, HTTP probes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import TOKEN, Stack

T = TypeVar("T")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "local" / "local.yaml"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        SYNCER_DATABASE_URL=f"sqlite:///{tmp_path / 'schedule.db'}",
        PYTHONPATH=str(EXAMPLE.parents[2]),
        LOCAL_TOKEN=TOKEN,
    )
    return env


def _org_file(orgs: Path, stack: Stack, org: str = "local", **crm: object) -> None:
    """The example config of examples/local, pointed at this test's emulators."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["org"] = org
    data["crm"].update(base_url=stack.hubspot_url, **crm)
    data["tracker"]["base_url"] = stack.jira_url
    (orgs / f"{org}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _until(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


Started = tuple[subprocess.Popen[str], str, IO[str]]


@pytest.fixture
def start_schedule(stack: Stack, tmp_path: Path) -> Iterator[Callable[[], Started]]:
    """Starts `syncer schedule` on the example org (once per test); kills it at the end if still up."""
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    _org_file(orgs, stack)
    port = _free_port()
    stderr = (tmp_path / "stderr.log").open("w+", encoding="utf-8")
    procs: list[subprocess.Popen[str]] = []

    def start() -> Started:
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncer", "schedule", "--config-dir", str(orgs), "--http-port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            env=_env(tmp_path),
            cwd=tmp_path,
        )
        procs.append(proc)
        return proc, f"http://127.0.0.1:{port}", stderr

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr.close()


def test_schedule_serves_probes_and_metrics_and_exits_0_on_sigterm(
    start_schedule: Callable[[], Started],
) -> None:
    proc, url, stderr = start_schedule()
    with httpx.Client(base_url=url, timeout=5) as http:
        alive = _until(lambda: http.get("/healthz") if proc.poll() is None else None, "/healthz")

        def ready_now() -> httpx.Response | None:
            response = http.get("/readyz")
            return response if response.status_code == 200 else None

        ready = _until(ready_now, "/readyz 200")

        def first_run_done() -> dict[str, list[tuple[dict[str, str], float]]] | None:
            samples = _samples(http.get("/metrics").text)
            return samples if samples.get("syncer_runs_total") else None

        metrics = _until(first_run_done, "the first run in /metrics")

    assert alive.json() == {"status": "alive"}
    assert ready.json()["orgs"]["local"]["schedule"] == "*/15 * * * *"
    [(labels, pulled)] = metrics["syncer_records_pulled_total"]
    assert labels == {"org": "local"}
    assert pulled > 0
    requests = {(lbl["system"], lbl["status"]): n for lbl, n in metrics["syncer_http_requests_total"]}
    assert requests[("hubspot", "200")] > 0
    assert any(system == "jira" and n > 0 for (system, _), n in requests.items())
    created = {lbl["kind"]: n for lbl, n in metrics["syncer_ops_applied_total"]}
    assert created["created"] > 0
    [(_, lag)] = metrics["syncer_seconds_since_last_success"]
    assert 0 <= lag < 60

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    stderr.seek(0)
    log = stderr.read()
    assert '"scheduler.stopped"' in log
    assert TOKEN not in log


def test_schedule_sigterm_mid_run_ends_the_pass_at_a_safe_point_and_exits_0(
    stack: Stack, tmp_path: Path, start_schedule: Callable[[], Started]
) -> None:
    stack.hubspot.faults.latency_s = 0.2  # a slow CRM: the pass is still pulling when SIGTERM comes
    proc, _, _ = start_schedule()
    _until(lambda: True if stack.hubspot.log.count() >= 1 else None, "the first pass to start")

    proc.send_signal(signal.SIGTERM)

    assert proc.wait(timeout=10) == 0
    status = subprocess.run(
        [sys.executable, "-m", "syncer", "status", "--org", "local", "--json"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    [last] = json.loads(status.stdout)["runs"]
    assert (last["kind"], last["status"]) == ("scheduled", "interrupted")
    assert stack.jira.issues() == [], "stopped while pulling: nothing half-written to the tracker"


def test_schedule_once_isolates_a_failing_org(stack: Stack, tmp_path: Path) -> None:
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token", encoding="utf-8")
    _org_file(orgs, stack, "aaa-broken", token_env=None, token_file=str(wrong))  # runs first
    _org_file(orgs, stack, "good")

    result = subprocess.run(
        [sys.executable, "-m", "syncer", "schedule", "--config-dir", str(orgs), "--once"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    lines = dict(line.split("  ", 1) for line in result.stdout.splitlines())
    assert lines["aaa-broken"].startswith("failed")
    assert lines["good"].startswith("partial")  # the seeded orphan tickets are dead letters
    assert "aaa-broken failed: hubspot" in result.stderr
    assert "401" in result.stderr
    assert len(stack.jira.issues()) > 0, "the good org synced despite the broken one"
    assert "not-the-token" not in result.stderr
