"""The throughput figure's summary and the machine reference the benchmark reports beside it."""

from __future__ import annotations

from typing import Any

from bench.__main__ import summarize_runs
from bench.calibrate import reference_seconds, workload


def _run(rate: float, cpu: float) -> dict[str, Any]:
    return {"records_per_s": rate, "cpu_s_per_1k": cpu, "pulled": 10_000, "machine_ref_s": cpu / 2}


def test_summarize_runs_reports_the_median_run_with_the_best_and_every_rate() -> None:
    summary = summarize_runs([_run(1_800.0, 0.4), _run(1_100.0, 0.7), _run(1_500.0, 0.5)])

    assert summary["records_per_s"] == 1_500.0
    assert summary["cpu_s_per_1k"] == 0.5  # the median run's own CPU, not a mix of runs
    assert summary["machine_ref_s"] == 0.25  # and the reference taken just before it
    assert summary["best_records_per_s"] == 1_800.0
    assert summary["runs_records_per_s"] == [1_800.0, 1_100.0, 1_500.0]
    assert summary["runs_machine_ref_s"] == [0.2, 0.35, 0.25]


def test_summarize_runs_of_two_takes_the_slower_one() -> None:
    assert summarize_runs([_run(2_000.0, 0.3), _run(1_000.0, 0.6)])["records_per_s"] == 1_000.0


def test_the_calibration_workload_never_changes() -> None:
    # figures recorded on different days are compared through this workload: edit it and they no longer are
    assert workload() == "f5c819ef7be98de1bd3f3a3e2769366f20c158d22eedd38b03a10cfbb2b897c5"


def test_reference_seconds_is_a_positive_cpu_time() -> None:
    assert 0 < reference_seconds(rounds=1) < 60
