"""The dashboard in a real headless browser (Debian's chromium driven by playwright), JavaScript off,
against the state a demo run leaves: every number on the page is what the state store says."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.emulation import ServedApp
from syncer.dashboard import dashboard_app
from syncer.demo import run_demo
from syncer.state import StateStore

# playwright's own browser download cannot work here: .ci/run installs Debian's chromium with apt-get
CHROMIUM = Path("/usr/bin/chromium")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: required in CI (.ci/run installs chromium, the dev extra playwright)")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("python playwright is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        # --no-sandbox: tests run as root, and chromium refuses its sandbox as root
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def _expected(store: StateStore, org: str) -> dict[str, Any]:
    """The numbers, asked of the state store through the repository `syncer status` uses."""
    with store.unit() as unit:
        links = unit.links.top(org, 10_000)
        members = unit.group_members(org, [link.group_key for link in links])
        return {
            "items": unit.links.count(org),
            "accounts": len({f.account_id for group in members.values() for f in group if f.account_id}),
            "alerts": unit.milestones.count_alerts(org, "sent"),
            "dead_letters": unit.audit.count_open_dead_letters(org),
            "runs": len(unit.audit.recent_runs(org, 1000)),
            "top": links[:10],
            "milestones": [
                (m.milestone.id, unit.waiting_accounts(org, m.milestone.id), m.alerts_sent)
                for m in unit.milestones.summaries(org)
            ],
        }


def test_dashboard_in_a_browser_shows_what_the_state_store_holds(browser: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    run_demo("hubspot-jira", seed=3, database_url=url, small=True)
    store = StateStore(url)
    want = _expected(store, "demo")
    assert want["items"] > 0
    assert want["alerts"] > 0, "the demo should have sent alerts"
    assert want["top"]
    assert want["milestones"]
    try:
        with ServedApp(dashboard_app(store)) as served:
            page = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
            tab = page.new_page()
            tab.goto(served.url + "/")
            row = tab.locator('tr[data-org="demo"]')
            assert row.locator(".items").inner_text() == str(want["items"])
            assert row.locator(".alerts-sent").inner_text() == str(want["alerts"])
            tab.get_by_role("link", name="demo", exact=True).click()  # a plain link, no script
            tab.wait_for_url("**/orgs/demo")

            shown = {
                key: tab.inner_text(f"#total-{key.replace('_', '-')}")
                for key in ("items", "accounts", "alerts", "dead_letters", "runs")
            }
            assert shown == {key: str(want[key]) for key in shown}
            for link in want["top"]:
                item = tab.locator(f'#top-accounts tr[data-item="{link.item_key}"]')
                assert item.locator(".accounts").inner_text() == str(link.account_count)
                assert item.locator(".arr").inner_text() == f"${link.total_arr:,.0f}"
            for milestone_id, waiting, sent in want["milestones"]:
                line = tab.locator(f'tr[data-milestone="{milestone_id}"]')
                assert line.locator(".waiting").inner_text() == str(waiting)
                assert line.locator(".alerts-sent").inner_text() == str(sent)
            assert tab.locator("#runs tbody tr").count() == min(want["runs"], 10)
            tab.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.close()
    finally:
        store.dispose()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
