"""`syncer report` on the state the demo leaves behind: the numbers it prints are the store's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from syncer.cli import app
from syncer.demo import run_demo
from syncer.records import from_payload
from syncer.state import StateStore


def _store_numbers(url: str) -> dict[str, object]:
    """What the state store holds, read independently of the report's queries."""
    store = StateStore(url)
    with store.unit() as unit:
        links = unit.links.top("demo", 1000)
        members = unit.group_members("demo", [link.group_key for link in links])
    store.dispose()
    arr = {}
    for stored in (s for group in members.values() for s in group):
        _, account = from_payload(stored.payload)
        if account is not None:
            arr[account.id] = account.arr
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event, milestone_id, account_id, payload FROM alerts WHERE org = 'demo'")
        )
        alerts = [(e, m, a, json.loads(p) if isinstance(p, str) else p) for e, m, a, p in rows]
        names = dict(conn.execute(text("SELECT milestone_id, name FROM milestones WHERE org = 'demo'")).all())
    engine.dispose()
    today = datetime.now(UTC).date().isoformat()
    kept = {(names[m], a) for e, m, a, _ in alerts if e == "kept"}
    # 2.5 is not released: a promise whose date already passed is missed, a later one is at risk
    promised = {a: p["promised"] for e, m, a, p in alerts if e == "at_risk" and names[m] == "2.5"}
    return {
        "items": len(links),
        "accounts": len(arr),
        "arr": sum(arr.values()),
        "kept": len(kept),
        "missed": sum(1 for day in promised.values() if day < today),
        "at_risk": sum(1 for day in promised.values() if day >= today),
        "alerts": len(alerts),
    }


def _cells(markdown: str, first: str) -> list[str]:
    """The cells of the first table row starting with `first` (the milestone table comes first)."""
    row = next(line for line in markdown.splitlines() if line.startswith(f"| {first} |"))
    return [c.strip() for c in row.strip("|").split("|")]


def test_report_numbers_match_the_state_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    run_demo("hubspot-jira", seed=3, database_url=url, small=True)
    expected = _store_numbers(url)
    out = tmp_path / "reports" / "demo.md"

    result = CliRunner().invoke(
        app, ["report", "--org", "demo", "--output", str(out)], env={"SYNCER_DATABASE_URL": url}
    )

    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    summary = re.search(r"\|---:.*\n\| (\d+) \| (\d+) \| (\S+) \| \d+ \| (\d+) \|", md)
    assert summary is not None, md
    assert (int(summary[1]), int(summary[2]), int(summary[4])) == (
        expected["items"],
        expected["accounts"],
        expected["alerts"],
    )
    assert summary[3] == f"${expected['arr'] / 1e6:.1f}M"  # type: ignore[operator]
    # 2.4 shipped on time; 2.5 slipped once, by 45 days (the demo's script), past some promises
    m24, m25 = _cells(md, "2.4"), _cells(md, "2.5")
    assert (m24[2], m24[5], m24[7]) == ("released", "0", str(expected["kept"]))
    assert (m25[2], m25[5], m25[6]) == ("planned", "1", "45")
    assert (m25[8], m25[9]) == (str(expected["missed"]), str(expected["at_risk"]))
    assert (
        f"Promises to customers: {expected['kept']} kept, {expected['missed']} missed, "
        f"{expected['at_risk']} at risk." in md
    )
    charts = sorted(p.name for p in (tmp_path / "reports" / "demo-charts").iterdir())
    assert charts == ["items.png", "lead-time.png", "milestones.png"]
    assert "](demo-charts/items.png)" in md


def test_report_without_runs_names_the_command_to_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(app, ["report", "--org", "acme"], env={"SYNCER_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "no runs recorded for org 'acme'" in result.output
    assert "syncer run --org acme" in result.output
