"""The Jira emulator's search snapshots: equal to the issue when taken, unaffected by later edits."""

from __future__ import annotations

import copy

from adapters.jira.emulator_fields import EmuIssue
from adapters.jira.records import adf_from_text


def _issue() -> EmuIssue:
    return EmuIssue(
        7,
        "PROD-7",
        "PROD",
        1,
        2,
        summary="Export",
        description=adf_from_text("first line\n\nsecond 中文"),
        labels=["customer-feedback"],
        custom={"customfield_10050": 3, "big": 2**70},
        fix_versions=[10001],
        properties={"syncer": {"marker": "abc", "groups": ["g1"]}},
    )


def test_snapshot_equals_a_deep_copy() -> None:
    issue = _issue()
    assert issue.snapshot() == copy.deepcopy(issue)


def test_snapshot_shares_nothing_an_edit_changes_in_place() -> None:
    issue = _issue()
    snap = issue.snapshot()
    assert issue.description is not None
    issue.description["content"].clear()
    issue.labels.append("urgent")
    issue.custom["customfield_10050"] = 9
    issue.fix_versions.append(10002)
    issue.properties["syncer"]["groups"].append("g2")
    assert snap == _issue()
