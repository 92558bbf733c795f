"""Settled cursors (syncer/ingest.py): a pull starts just after its cursor only when the previous pull
provably saw every record up to it; otherwise it re-reads the overlap window as before."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timedelta

import pytest

from adapters.paging import Page
from mappings.feedback import FeedbackFilter
from mappings.models import Account, Cursor, Feedback
from syncer.counts import PassCounts
from syncer.ingest import Ingest
from syncer.state import StateStore
from tests.factories import T0, make_account, make_feedback

OVERLAP = timedelta(minutes=2)
UNTIL = T0 + timedelta(days=1)


class ScriptedCrm:
    """Serves the feedback it holds, newer than `since`, in pages of two, each page stamped with the
    time the pull's first query was answered; records every `since` it was asked for."""

    system = "hubspot"

    def __init__(self, records: list[Feedback], served_at: datetime | None, fail_after: int | None = None):
        self.records, self.served_at, self.fail_after = records, served_at, fail_after
        self.asked: list[datetime] = []

    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        self.asked.append(since.updated_at)
        found = sorted(
            (r for r in self.records if since.updated_at <= r.updated_at <= until), key=lambda r: r.updated_at
        )
        for n, start in enumerate(range(0, len(found), 2)):
            if self.fail_after is not None and n >= self.fail_after:
                raise ConnectionError("the network went away")
            items = tuple(found[start : start + 2])
            last = items[-1]
            yield Page(items, cursor=Cursor(last.updated_at, last.id), served_at=self.served_at)

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        return iter(())

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        return {i: make_account(id=i) for i in ids}

    def get_feedback(self, ids: Collection[str]) -> Page[Feedback]:
        return Page(())


def _pull(store: StateStore, crm: ScriptedCrm) -> PassCounts:
    counts = PassCounts()
    ingest = Ingest("acme", store, crm, FeedbackFilter(), require_account=False, counts=counts)
    ingest.run("feedback", None, OVERLAP, UNTIL)
    return counts


RECORDS = [make_feedback(n) for n in range(1, 6)]  # stamped T0 + 1..5 minutes
NEWEST = RECORDS[-1].updated_at


@pytest.mark.parametrize(
    ("served_at", "settled"),
    [
        pytest.param(NEWEST + OVERLAP, True, id="answered-an-overlap-after-the-newest-stamp"),
        pytest.param(NEWEST + OVERLAP - timedelta(seconds=1), False, id="answered-too-soon"),
        pytest.param(None, False, id="vendor-clock-unknown"),
    ],
)
def test_next_pull_starts_after_the_cursor_only_when_settled(
    store: StateStore, served_at: datetime | None, settled: bool
) -> None:
    crm = ScriptedCrm(RECORDS, served_at)
    _pull(store, crm)

    again = _pull(store, crm)

    expected = NEWEST + timedelta(milliseconds=1) if settled else NEWEST - OVERLAP
    assert crm.asked[-1] == expected
    assert again.feedback_pulled == (0 if settled else 3)  # the overlap holds records 3, 4 and 5


def test_a_pull_cut_short_does_not_settle(store: StateStore) -> None:
    crm = ScriptedCrm(RECORDS, NEWEST + timedelta(hours=1), fail_after=1)
    with pytest.raises(ConnectionError):
        _pull(store, crm)

    crm.fail_after = None
    _pull(store, crm)

    assert crm.asked[-1] == RECORDS[1].updated_at - OVERLAP  # resumed from the saved page, with overlap


def test_a_newer_unsettled_page_unsettles_the_stream(store: StateStore) -> None:
    crm = ScriptedCrm(RECORDS, NEWEST + OVERLAP)
    _pull(store, crm)
    fresh = make_feedback(9, updated_at=NEWEST + timedelta(minutes=1))
    crm.records, crm.served_at = [*RECORDS, fresh], fresh.updated_at + timedelta(seconds=5)
    _pull(store, crm)

    third = _pull(store, crm)

    assert crm.asked[-1] == fresh.updated_at - OVERLAP
    assert third.feedback_pulled >= 1, "the fresh record's overlap was not re-read"
