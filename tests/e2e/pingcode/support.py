"""Shared helpers for the PingCode end-to-end tests: the emulator served on 127.0.0.1 and a tracker for it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from adapters.http import HttpClient, RateLimit
from adapters.pingcode.client import RETRY_AFTER_HEADERS, PingCodeSettings, PingCodeTracker, fetch_token
from adapters.pingcode.emulator import PROJECT_ID, REQUIREMENT_TYPE_ID, PingCodeEmulator
from mappings.models import BacklogDraft, Priority
from tests.e2e import serving
from tests.e2e.serving import FakeClock as FakeClock  # the clock their tests import from here

T0 = datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)
FAST = {"default": RateLimit(rate=1000.0, burst=1000)}


def served(**kwargs: Any) -> AbstractContextManager[tuple[PingCodeEmulator, str]]:
    return serving.served(PingCodeEmulator(**kwargs))


def make_tracker(
    url: str,
    *,
    token: str | None = None,
    page_size: int = 100,
    clock: Any = None,
    sleep: Any = None,
) -> PingCodeTracker:
    if token is None:
        with HttpClient(url, system="pingcode", limits=FAST) as auth:
            token = fetch_token(auth, "demo", "demo-secret").access_token
    extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    http = HttpClient(
        url,
        system="pingcode",
        headers={"Authorization": f"Bearer {token}"},
        limits=FAST,
        retry_after_headers=RETRY_AFTER_HEADERS,
        **extra,
    )
    settings = PingCodeSettings(
        project_id=PROJECT_ID, type_id=REQUIREMENT_TYPE_ID, page_size=page_size, site_url=url
    )
    return PingCodeTracker(http, settings, **({"clock": clock} if clock is not None else {}))


def drafts(count: int, prefix: str = "") -> list[tuple[str, BacklogDraft]]:
    return [
        (
            f"{prefix}{n:016x}",
            BacklogDraft(
                title=f"客户需求 {n}: 导出报表为 Excel",
                body=f"{n % 7 + 1} 个客户提出。\n\n> 请尽快 <紧急> & 重要",
                priority=Priority.HIGH if n % 2 else Priority.MEDIUM,
                account_count=n % 7 + 1,
            ),
        )
        for n in range(count)
    ]
