"""Shared helpers for the GitHub end-to-end tests: the emulator on 127.0.0.1 and a tracker for it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from adapters.github.client import GitHubSettings, GitHubTracker
from adapters.github.emulator import GitHubEmulator
from adapters.github.transport import GitHubTransport, classify_github
from adapters.http import HttpClient, RateLimit
from mappings.models import BacklogDraft, Priority
from tests.e2e import serving
from tests.e2e.serving import FakeClock as FakeClock  # the clock their tests import from here

TOKEN = "demo-token"  # noqa: S105 - the emulator's demo credential
T0 = datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)
FAST = {"default": RateLimit(rate=1000.0, burst=1000), "create": RateLimit(rate=1000.0, burst=1000)}


def served(**kwargs: Any) -> AbstractContextManager[tuple[GitHubEmulator, str]]:
    return serving.served(GitHubEmulator(token=TOKEN, **kwargs))


def make_tracker(url: str, *, token: str = TOKEN, page_size: int = 100) -> tuple[GitHubTracker, HttpClient]:
    http = HttpClient(
        url,
        system="github",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
        limits=FAST,
        classify=classify_github,
        transport=GitHubTransport(),
        sleep=lambda _: None,
    )
    settings = GitHubSettings(
        owner="acme", repo="product", labels=("customer-feedback",), page_size=page_size
    )
    return GitHubTracker(http, settings), http


def drafts(count: int) -> list[tuple[str, BacklogDraft]]:
    return [
        (
            f"{n:016x}",
            BacklogDraft(
                title=f"Customer request {n}",
                body=f"Asked by {n % 7 + 1} accounts.\n\n> Please hurry",
                labels=("csv",),
                priority=Priority.HIGH if n % 2 else Priority.MEDIUM,
                account_count=n % 7 + 1,
            ),
        )
        for n in range(count)
    ]
