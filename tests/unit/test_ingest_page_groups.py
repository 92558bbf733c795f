"""Pages an adapter produced together (`Page.more`) are stored in one transaction (syncer/ingest.py
`_ingest_pages`): a stop or a crash after it finds all of them stored and the cursor at the last one,
and a group that fails part-way leaves none of them stored, so the next run re-reads the whole group."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from adapters.paging import Page
from mappings.feedback import FeedbackFilter
from mappings.models import Cursor, Feedback
from syncer.counts import PassCounts
from syncer.failpoints import Failpoint, no_failpoint
from syncer.ingest import Ingest
from syncer.state import StateStore, Unit
from tests.factories import T0, make_feedback
from tests.unit.test_ingest_settled import ScriptedCrm

OVERLAP = timedelta(minutes=2)
UNTIL = T0 + timedelta(days=1)
RECORDS = [make_feedback(n, account_id=f"c{n}") for n in range(1, 9)]


class GroupingCrm(ScriptedCrm):
    """Feedback in pages of two; the first three pages are produced together (one read), the fourth
    alone."""

    def __init__(self) -> None:
        super().__init__(RECORDS, served_at=None)

    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        for n, page in enumerate(super().iter_changed_feedback(since, until)):
            yield replace(page, more=n < 2)


class Crashed(Exception):
    pass


def _crash_at_first_saved_page(name: str) -> None:
    if name == "pull.page_saved":
        raise Crashed(name)


def _stored_ids(store: StateStore) -> set[str]:
    with store.unit() as unit:
        return set(unit.feedback_state("acme", "hubspot", [r.id for r in RECORDS]))


def _cursor(store: StateStore) -> Cursor | None:
    with store.unit() as unit:
        return unit.get_cursor("acme", "feedback")


def _ingest(store: StateStore, counts: PassCounts, failpoint: Failpoint = no_failpoint) -> Ingest:
    crm, rule = GroupingCrm(), FeedbackFilter()
    return Ingest("acme", store, crm, rule, require_account=True, counts=counts, failpoint=failpoint)


def test_a_crash_after_the_first_saved_page_finds_its_whole_group_stored(store: StateStore) -> None:
    ingest = _ingest(store, PassCounts(), _crash_at_first_saved_page)

    with pytest.raises(Crashed):
        ingest.run("feedback", None, OVERLAP, UNTIL)

    assert _stored_ids(store) == {"1", "2", "3", "4", "5", "6"}  # the three pages read together
    assert _cursor(store) == Cursor(RECORDS[5].updated_at, "6")


def test_a_group_whose_third_page_fails_to_store_leaves_none_stored_and_is_read_again_in_full(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_cursor = Unit.save_cursor

    def database_fails_at_the_third_page(self: Unit, org: str, stream: str, cursor: Cursor) -> None:
        if cursor.id == "6":
            raise OSError("disk I/O error")
        save_cursor(self, org, stream, cursor)

    monkeypatch.setattr(Unit, "save_cursor", database_fails_at_the_third_page)
    with pytest.raises(OSError, match="disk I/O error"):
        _ingest(store, PassCounts()).run("feedback", None, OVERLAP, UNTIL)
    assert _stored_ids(store) == set()
    assert _cursor(store) is None

    monkeypatch.setattr(Unit, "save_cursor", save_cursor)
    counts = PassCounts()
    _ingest(store, counts).run("feedback", None, OVERLAP, UNTIL)
    assert _stored_ids(store) == {r.id for r in RECORDS}
    assert counts.feedback_changed == len(RECORDS)
