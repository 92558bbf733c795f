"""The pass progress bar: records pulled, a total (ETA) when the CRM can count, and the phase by name."""

from __future__ import annotations

from rich.progress import Progress

from syncer.cli_pass import _progress_reporter


def test_progress_reporter_counts_records_sets_total_and_names_the_phase() -> None:
    progress = Progress(disable=True)
    task = progress.add_task("run acme: pulling feedback", total=None)
    report = _progress_reporter(progress, task, "run acme")

    report("pull.total", 600)
    report("pull", 200)
    report("step:pull.page_saved", 0)
    report("pull", 200)
    report("step:create.batch_saved", 0)

    shown = progress.tasks[0]
    assert (shown.completed, shown.total) == (400, 600)
    assert shown.description == "run acme: creating backlog items"
    report("step:writeback.remote_done", 0)
    assert progress.tasks[0].description == "run acme: writing item state back to the CRM"
