"""An upgrade that changed how content hashes and HubSpot version tokens are computed: records an
earlier release stored are re-read once, found unchanged, and nothing is written anywhere."""

from __future__ import annotations

import json

from sqlalchemy import text

from syncer.records import HASH_MARK, legacy_hash
from syncer.service import run_org
from syncer.state import StateStore
from tests.e2e.conftest import Stack


def _as_an_earlier_release_left_it(store: StateStore, org: str) -> int:
    """Content hashes in the earlier format, no version tokens (the earlier ones no longer match) and no
    cursors, so the next run re-reads every record. Returns how many hashes were rewritten."""
    with store.session() as session, session.begin():
        rows = session.execute(
            text("SELECT system, record_id, payload FROM feedback_payloads WHERE org = :org"), {"org": org}
        ).all()
        for system, record_id, payload in rows:
            stored = payload if isinstance(payload, dict) else json.loads(payload)  # PostgreSQL: decoded
            session.execute(
                text(
                    "UPDATE feedback_records SET content_hash = :h"
                    " WHERE org = :org AND system = :s AND record_id = :r"
                ),
                {"h": legacy_hash(stored["feedback"]), "org": org, "s": system, "r": record_id},
            )
        session.execute(text("DELETE FROM record_versions WHERE org = :org"), {"org": org})
        session.execute(text("DELETE FROM cursors WHERE org = :org"), {"org": org})
    return len(rows)


def test_records_stored_by_an_earlier_release_are_not_replanned_or_written_after_the_upgrade(
    stack: Stack, store: StateStore
) -> None:
    config = stack.config()
    first = run_org(config, store, "first")
    assert first.feedback_changed > 0
    assert first.links_written > 0
    assert _as_an_earlier_release_left_it(store, config.org) >= first.feedback_changed
    stack.hubspot.log.clear()
    stack.jira.log.clear()

    upgraded = run_org(config, store, "after the upgrade")

    assert upgraded.feedback_pulled >= first.feedback_changed, "the records were not re-read"
    assert upgraded.feedback_changed == 0, "records stored by the earlier release looked edited"
    assert (upgraded.items_created, upgraded.items_updated, upgraded.links_written) == (0, 0, 0)
    assert stack.jira.log.count("POST", "/rest/api/3/issue") == stack.jira.log.count("PUT") == 0
    assert stack.hubspot.log.count("POST", "/crm/v3/objects/tickets/batch/update") == 0
    with store.session() as session:  # unchanged records keep the hash they were stored with
        marks = session.execute(
            text("SELECT content_hash FROM feedback_records WHERE org = :org"), {"org": config.org}
        ).scalars()
        hashes = list(marks)
    assert hashes
    assert not [h for h in hashes if h.startswith(HASH_MARK)]
