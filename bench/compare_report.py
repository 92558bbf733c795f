"""The comparison's section of bench/RESULTS.md, between two markers so that either writer keeps the other's.

`python -m bench` rewrites the file from scratch (bench/report.py) and carries this section over with
`keep_section`; `python -m bench --compare` replaces only this section with `write_section`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import RESULTS, machine

START = "<!-- compare:start -->"
END = "<!-- compare:end -->"


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| approach | phase | requests (HubSpot + Jira) | wall s | tickets read | records | Jira writes"
        " | 429s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        writes = "—" if r["approach"].startswith("tap") else str(r["writes"])
        lines.append(
            f"| {r['approach']} | {r['phase']} | {r['requests']} ({r['hub_requests']} + {r['jira_requests']})"
            f" | {r['wall_s']} | {r['read']} | {r['records']} | {writes} | {r['http_429']} |"
        )
    return lines


def section(result: dict[str, Any], command: str) -> str:
    m = machine()
    n, edits = result["tickets"], result["edits_per_incremental"]
    lines = [
        START,
        "## Comparison: syncer vs a naive script vs tap-hubspot 4.5 (issue 9, item 3)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; elapsed {result['elapsed_s']} s",
        f"- command: `{command}` (from the repository root, in the project venv)",
        f"- machine: `{m['uname']}`; nproc {m['nproc']}; memory {m['memory']}; Python {m['python']}",
        f"- one world: {n} tickets over {result['companies']} companies; HubSpot and Jira emulators over"
        f" real HTTP at vendor limits ×{result['scale']} (HubSpot {100 * result['scale']:g} requests / 10 s"
        f" and {5 * result['scale']:g} searches / s, Jira {100 * result['scale']:g} requests / s;"
        " syncer's client-side limits scaled alike)",
        "",
        *table(result),
        "",
        "Notes:",
        "- Run one after another, in this order, on the same world. Before each incremental run"
        f" {edits} tickets (different ones for each approach) are edited, as a user would in the UI.",
        "- *requests* counts every request the emulators received, those answered 429 included; *wall s*"
        " times the run alone (not the seeding, the edits or the search-index wait before incremental runs).",
        "- **syncer** pulls tickets, companies, owners and deals, groups feedback into backlog items and"
        " writes them to Jira (bulk creates), then writes the links back on the tickets (which bumps their"
        " modification time, so its incremental run reads those tickets again and skips them by content"
        " hash). *records* is the feedback it found new or changed (tickets outside its feedback filter,"
        " e.g. billing questions, are not feedback, so it can be fewer than the edits); several tickets"
        " asking for the same thing become one Jira issue, so it writes fewer issues than the others would.",
        "- **naive script** (bench/compare_naive.py): lists tickets 100 per page, then GETs each ticket and"
        " its company and creates one Jira issue per ticket, sequentially, sleeping `Retry-After` on 429;"
        " its incremental run re-reads everything and updates the issues whose content changed."
        " *records* is the tickets it found new or changed.",
        "- **tap-hubspot 4.5** only *extracts* the tickets stream (no companies, nothing written to Jira):"
        " it trades its refresh token, reads the ticket property definitions and custom-object schemas,"
        " then lists `/crm/v4/objects/tickets` 100 per page with associations and filters by `updatedAt`"
        " on the client, so its incremental run reads every ticket again. *records* is the RECORD messages"
        " it emitted. Its wall time includes starting the subprocess (bench/.venv-tap);"
        f" discovery (once, before both runs, limited to the tickets stream by bench/tap_wrapper.py)"
        f" made {result['tap_discovery_requests']} more requests.",
        "",
        "```json",
        json.dumps(result, indent=2),
        "```",
        END,
    ]
    return "\n".join(lines)


def splice(text: str, block: str) -> str:
    """`text` with its comparison section replaced by `block` (appended if it has none)."""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def keep_section(new_text: str, path: Path = RESULTS) -> str:
    """`new_text` plus the comparison section the file at `path` already holds, if any."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if START not in old or END not in old:
        return new_text
    block = START + old.split(START, 1)[1].split(END, 1)[0] + END
    return splice(new_text, block)


def write_section(result: dict[str, Any], command: str, *, write: bool, path: Path = RESULTS) -> str:
    block = section(result, command)
    if write:
        old = path.read_text(encoding="utf-8") if path.exists() else "# syncer benchmark results\n"
        path.write_text(splice(old, block), encoding="utf-8")
    return block
