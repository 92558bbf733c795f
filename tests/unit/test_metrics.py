"""Metrics of the scheduler, read back the way Prometheus reads them; and the health endpoints."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncer.counts import PassCounts
from syncer.http_server import health_app, serve_health
from syncer.metrics import SyncMetrics, run_status
from syncer.scheduler import Readiness


def scrape(metrics: SyncMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(PassCounts(), "ok", id="ok"),
        pytest.param(PassCounts(dead_letters=2), "partial", id="dead-letters"),
        pytest.param(PassCounts(errors=["HTTP 503"]), "failed", id="vendor-error"),
        pytest.param(PassCounts(interrupted=True), "interrupted", id="sigterm"),
        pytest.param(PassCounts(skipped="busy"), "skipped", id="lease-held"),
    ],
)
def test_run_status_names_the_outcome(counts: PassCounts, expected: str) -> None:
    assert run_status(counts) == expected


def test_metrics_observe_run_feeds_counters_histogram_and_status() -> None:
    now = [1000.0]
    metrics = SyncMetrics(clock=lambda: now[0])
    metrics.track("acme")
    counts = PassCounts(
        feedback_pulled=40, items_created=5, items_updated=2, links_written=30, alerts_created=1
    )
    metrics.observe_run("acme", "ok", 12.5, counts, {"hubspot": {200: 10, 429: 2}, "jira": {201: 1}})
    metrics.observe_run("acme", "ok", 3.0, PassCounts(feedback_pulled=2), {"hubspot": {200: 1}})
    now[0] = 1090.0

    samples = scrape(metrics)

    assert samples[("syncer_records_pulled_total", (("org", "acme"),))] == 42
    assert samples[("syncer_ops_applied_total", (("kind", "created"), ("org", "acme")))] == 5
    assert samples[("syncer_ops_applied_total", (("kind", "linked"), ("org", "acme")))] == 30
    assert (
        samples[("syncer_http_requests_total", (("org", "acme"), ("status", "200"), ("system", "hubspot")))]
        == 11
    )
    assert samples[("syncer_http_rate_limited_total", (("org", "acme"), ("system", "hubspot")))] == 2
    assert samples[("syncer_http_rate_limited_total", (("org", "acme"), ("system", "jira")))] == 0
    assert samples[("syncer_run_duration_seconds_count", (("org", "acme"),))] == 2
    assert samples[("syncer_run_duration_seconds_sum", (("org", "acme"),))] == 15.5
    assert samples[("syncer_last_run_status", (("org", "acme"), ("status", "ok")))] == 1
    assert samples[("syncer_last_run_status", (("org", "acme"), ("status", "failed")))] == 0
    assert samples[("syncer_seconds_since_last_success", (("org", "acme"),))] == 90


def test_metrics_lag_grows_while_an_org_fails_and_stops_when_forgotten() -> None:
    now = [0.0]
    metrics = SyncMetrics(clock=lambda: now[0])
    metrics.track("acme")
    now[0] = 30.0
    metrics.observe_run("acme", "failed", 1.0, None, None, failures=1)
    now[0] = 600.0
    assert scrape(metrics)[("syncer_seconds_since_last_success", (("org", "acme"),))] == 600
    assert scrape(metrics)[("syncer_consecutive_failures", (("org", "acme"),))] == 1

    metrics.forget("acme")
    assert ("syncer_seconds_since_last_success", (("org", "acme"),)) not in scrape(metrics)


def test_health_app_serves_liveness_readiness_and_metrics() -> None:
    ready = [Readiness(False, {"reason": "org configs not loaded yet"})]
    metrics = SyncMetrics()
    metrics.track("acme")
    served = serve_health(health_app(lambda: ready[0], metrics.render))
    try:
        with httpx.Client(base_url=served.url) as client:
            assert client.get("/healthz").json() == {"status": "alive"}
            not_ready = client.get("/readyz")
            ready[0] = Readiness(True, {"reason": "ok"})
            now_ready = client.get("/readyz")
            scraped = client.get("/metrics")
    finally:
        served.stop()

    assert served.url.startswith("http://127.0.0.1:")
    assert (not_ready.status_code, not_ready.json()["reason"]) == (503, "org configs not loaded yet")
    assert now_ready.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "syncer_seconds_since_last_success" in scraped.text


def test_metrics_scrape_during_a_run_being_recorded_sees_the_whole_run() -> None:
    metrics = SyncMetrics()
    scraped: list[dict[tuple[str, tuple[tuple[str, str], ...]], float]] = []
    scraper = threading.Thread(target=lambda: scraped.append(scrape(metrics)))
    labels = metrics.http_requests.labels

    def labels_then_scrape(*names: str) -> Any:  # Prometheus scrapes while the run is being recorded
        if not scraper.is_alive() and not scraped:
            scraper.start()
            scraper.join(timeout=0.2)
        return labels(*names)

    metrics.http_requests.labels = labels_then_scrape  # type: ignore[method-assign,assignment]
    metrics.observe_run(
        "acme", "ok", 1.0, PassCounts(feedback_pulled=3), {"hubspot": {200: 2}, "jira": {201: 1}}
    )
    scraper.join(timeout=5)

    [samples] = scraped
    assert samples[("syncer_runs_total", (("org", "acme"), ("status", "ok")))] == 1
    jira = ("syncer_http_requests_total", (("org", "acme"), ("status", "201"), ("system", "jira")))
    assert samples[jira] == 1  # never the run counted with its HTTP answers missing
