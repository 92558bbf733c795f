"""Shared helpers for the Redmine end-to-end tests: the emulator served on 127.0.0.1 and a tracker for it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from adapters.http import HttpClient, RateLimit
from adapters.redmine.client import RedmineSettings, RedmineTracker
from adapters.redmine.emulator import RedmineEmulator
from mappings.models import BacklogDraft, Priority
from tests.e2e import serving
from tests.e2e.serving import FakeClock as FakeClock  # the clock their tests import from here

KEY = "demo-token"
T0 = datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)
FAST = {"default": RateLimit(rate=1000.0, burst=1000)}


def served(**kwargs: Any) -> AbstractContextManager[tuple[RedmineEmulator, str]]:
    return serving.served(RedmineEmulator(api_key=KEY, **kwargs))


def make_tracker(
    url: str, *, key: str = KEY, page_size: int = 100, marker_field_id: int = 1, project: str = "product"
) -> RedmineTracker:
    http = HttpClient(url, system="redmine", headers={"X-Redmine-API-Key": key}, limits=FAST)
    settings = RedmineSettings(
        project=project, marker_field_id=marker_field_id, tracker_id=2, page_size=page_size, site_url=url
    )
    return RedmineTracker(http, settings)


def drafts(count: int, prefix: str = "") -> list[tuple[str, BacklogDraft]]:
    return [
        (
            f"{prefix}{n:016x}",
            BacklogDraft(
                title=f"Customer request {n}",
                body=f"Asked by {n % 7 + 1} accounts.\n\n> Please hurry",
                priority=Priority.HIGH if n % 2 else Priority.MEDIUM,
                account_count=n % 7 + 1,
            ),
        )
        for n in range(count)
    ]
