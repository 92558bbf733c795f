"""Bad data never crashes a run nor loses data: it is cleaned, bounded, or dead-lettered with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncer.service import run_org
from syncer.state import StateStore
from tests.e2e.conftest import Stack
from tests.e2e.conftest import stack as stack  # noqa: F401  (the emulator stack fixture)

FEATURE = {"hs_ticket_category": "FEATURE_REQUEST", "hs_pipeline": "0"}


def _add(stack: Stack, company: str, subject: str, content: str = "", **extra: str) -> str:
    return stack.hubspot.add_ticket({**FEATURE, "subject": subject, "content": content, **extra}, company)


def test_bad_records_are_cleaned_bounded_or_dead_lettered_and_the_run_goes_on(
    stack: Stack, store: StateStore
) -> None:
    company = stack.hubspot.ids("companies")[0]
    weird = {
        "emoji-cjk": _add(stack, company, "导出 Excel 报表 🚀", "我们需要 🙏 每周导出"),
        "control-chars": _add(stack, company, "Dark\x00 mode\x07 please", "nul\x00 inside"),
        "one-megabyte": _add(stack, company, "Huge attachment import", "x" * 1_000_000),
        "long-subject": _add(stack, company, "Very long request " * 100, "long"),
        "unknown-enum": _add(stack, company, "Priority from the future", "p0", hs_ticket_priority="P0"),
        "mojibake": _add(stack, company, "Ã©tÃ© export rÃ©sumÃ©", "mixed encodings Ã©"),
    }

    counts = run_org(stack.config(), store, "first")

    assert counts.errors == []
    for name, ticket_id in weird.items():
        key = stack.hubspot.ticket(ticket_id).get("syncer_backlog_key")
        assert key, f"{name}: ticket was not synced"
        fields = stack.jira.issue(str(key))["fields"]
        assert len(fields["summary"]) <= 255, name
        assert "\x00" not in str(fields), name
        assert len(str(fields["description"])) < 40_000, name
    assert (
        "🚀"
        in stack.jira.issue(str(stack.hubspot.ticket(weird["emoji-cjk"])["syncer_backlog_key"]))["fields"][
            "summary"
        ]
    )
    assert run_org(stack.config(), store, "again").items_updated == 0  # cleaned text is stable: no churn


def test_alert_for_an_account_whose_owner_was_deleted_is_dead_lettered_then_retried(
    stack: Stack, store: StateStore
) -> None:
    lonely = stack.hubspot.add_company(
        "Ownerless GmbH", {"hubspot_owner_id": "999999", "customer_tier": "smb"}
    )
    ticket = _add(stack, lonely, "Offline mode for field teams", "Our technicians work without network")
    run_org(stack.config(), store, "first")
    key = str(stack.hubspot.ticket(ticket)["syncer_backlog_key"])
    stack.jira.set_fix_version(key, "2.5")
    stack.jira.set_release_date("2.5", datetime.now(UTC).date() + timedelta(days=30))

    planned = run_org(stack.config(), store, "planned")

    assert planned.errors == []
    with store.unit() as unit:
        letters = [d for d in unit.audit.open_dead_letters("acme", 500) if d.stage == "alert"]
    assert len(letters) == 1
    assert "Ownerless GmbH" in letters[0].reason
    assert "has no owner" in letters[0].reason
    assert not [t for t in stack.hubspot.tasks() if lonely in t["companies"]]

    owner = stack.hubspot.company(stack.hubspot.ids("companies")[0])["hubspot_owner_id"]
    stack.hubspot.update_company(lonely, hubspot_owner_id=str(owner))
    retried = run_org(stack.config(), store, "retry", replay_dead_letters=True)

    assert retried.alerts_created == 1
    [task] = [t for t in stack.hubspot.tasks() if lonely in t["companies"]]
    assert task["properties"]["hubspot_owner_id"] == str(owner)
