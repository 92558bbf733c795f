"""Shared helpers for the Jira end-to-end tests: the emulator served on 127.0.0.1 and a tracker for it."""

from __future__ import annotations

import base64
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from adapters.http import HttpClient, RateLimit
from adapters.jira.client import JiraSettings, JiraTracker
from adapters.jira.emulator import JiraEmulator
from mappings.models import BacklogDraft, Priority
from tests.e2e import serving
from tests.e2e.serving import FakeClock as FakeClock  # the clock their tests import from here

EMAIL, TOKEN = "bot@example.com", "demo-token"
T0 = datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)
SITE = "https://acme.atlassian.net"
FAST = {"default": RateLimit(rate=1000.0, burst=1000)}


def served(**kwargs: Any) -> AbstractContextManager[tuple[JiraEmulator, str]]:
    return serving.served(JiraEmulator(email=EMAIL, token=TOKEN, **kwargs))


def auth_header(email: str = EMAIL, token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()}


def make_tracker(
    url: str, *, token: str = TOKEN, page_size: int = 100, limits: Any = None, version_page_size: int = 50
) -> JiraTracker:
    http = HttpClient(url, system="jira", headers=auth_header(token=token), limits=limits or FAST)
    settings = JiraSettings(
        project_key="PROD",
        site_url=SITE,
        accounts_field="customfield_10050",
        arr_field="customfield_10051",
        open_deals_field="customfield_10052",
        page_size=page_size,
        version_page_size=version_page_size,
    )
    return JiraTracker(http, settings)


def drafts(count: int) -> list[tuple[str, BacklogDraft]]:
    return [
        (
            f"{n:016x}",
            BacklogDraft(
                title=f"Customer request {n}",
                body=f"Asked by {n % 7 + 1} accounts.\n\n> Please hurry",
                labels=("customer feedback",),
                priority=Priority.HIGH if n % 2 else Priority.MEDIUM,
                account_count=n % 7 + 1,
                total_arr=1000.0 * n,
                open_deal_value=250.0 * n,
            ),
        )
        for n in range(count)
    ]
