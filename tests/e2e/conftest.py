"""A HubSpot + Jira stack on the bundled emulators, and an org config pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.emulation import ServedApp
from adapters.hubspot.emulator import HubSpotEmulator
from adapters.jira.emulator import JiraEmulator
from syncer.config import OrgConfig, parse_org_config

TOKEN = "e2e-token-9f8e7d6c5b4a"


@dataclass
class Stack:
    hubspot: HubSpotEmulator
    jira: JiraEmulator
    hubspot_url: str
    jira_url: str
    workdir: Path

    def config(self, alerts: dict[str, object] | None = None, **sync: object) -> OrgConfig:
        token_file = self.workdir / "token"
        token_file.write_text(TOKEN, encoding="utf-8")
        data = {
            "org": "acme",
            "crm": {
                "system": "hubspot",
                "base_url": self.hubspot_url,
                "token_file": str(token_file),
                "overlap_seconds": 5,
            },
            "tracker": {
                "system": "jira",
                "base_url": self.jira_url,
                "email": "bot@example.com",
                "token_file": str(token_file),
                "project": "PROD",
                "fields": {
                    "accounts": "customfield_10050",
                    "arr": "customfield_10051",
                    "open_deals": "customfield_10052",
                },
            },
            "sync": {"adopt_grace_seconds": 0, **sync},
            "alerts": dict(alerts or {}),
        }
        return parse_org_config(self.workdir / "acme.yaml", data)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    hubspot = HubSpotEmulator(token=TOKEN, search_per_second=50, burst_per_10s=10_000)
    hubspot.seed_demo(seed=3, companies=20, tickets=150)
    jira = JiraEmulator(token=TOKEN, burst_per_second=1_000)
    jira.seed_demo()
    with ServedApp(hubspot.app) as crm, ServedApp(jira.app) as tracker:
        yield Stack(hubspot, jira, crm.url, tracker.url, tmp_path)
