"""A first sync skips the CRM's account backlog (syncer/ingest.py `run_accounts`): with no feedback
stored there is no snapshot to refresh, so only the accounts the feedback names are read. The account
stream then starts where the feedback pull began, in the vendor's clock, saved with the first stored
page; without a vendor time the accounts are pulled in full after the feedback, as before."""

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
from tests.unit.test_ingest_settled import ScriptedCrm

OVERLAP = timedelta(minutes=2)
UNTIL = T0 + timedelta(days=1)
SERVED = T0 + timedelta(hours=1)  # when the CRM answered the feedback pull's first query


class AccountCountingCrm(ScriptedCrm):
    """Feedback in pages of two, stamped with `served_at`; records every account pull and read."""

    def __init__(self, records: list[Feedback], served_at: datetime | None, fail_after: int | None = None):
        super().__init__(records, served_at, fail_after)
        self.account_pulls: list[datetime] = []
        self.accounts_read: list[str] = []

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        self.account_pulls.append(since.updated_at)
        account = make_account(id="c1", updated_at=T0 + timedelta(minutes=30))
        yield Page((account,), cursor=Cursor(account.updated_at, account.id), served_at=self.served_at)

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        self.accounts_read.extend(sorted(ids))
        return super().get_accounts(ids)


def _run(store: StateStore, crm: AccountCountingCrm) -> PassCounts:
    """One run's pulls, in the engine's order: accounts, feedback, then the catch-up."""
    counts = PassCounts()
    ingest = Ingest("acme", store, crm, FeedbackFilter(), require_account=True, counts=counts)
    ingest.run_accounts("accounts", OVERLAP, UNTIL)
    ingest.run("feedback", None, OVERLAP, UNTIL)
    ingest.catch_up_accounts(OVERLAP, UNTIL)
    return counts


def _account_cursor(store: StateStore) -> Cursor | None:
    with store.unit() as unit:
        return unit.get_cursor("acme", "accounts")


RECORDS = [make_feedback(n, account_id=f"c{n % 2}") for n in range(1, 6)]


def test_first_sync_reads_only_the_named_accounts_and_starts_the_stream_at_the_pull(
    store: StateStore,
) -> None:
    crm = AccountCountingCrm(RECORDS, SERVED)

    counts = _run(store, crm)

    assert crm.account_pulls == [], "the first sync pulled the whole account backlog"
    assert sorted(crm.accounts_read) == ["c0", "c1"]
    assert counts.feedback_changed == len(RECORDS)
    assert _account_cursor(store) == Cursor(SERVED, "")


def test_the_next_run_pulls_account_changes_from_where_the_first_began(store: StateStore) -> None:
    crm = AccountCountingCrm(RECORDS, SERVED)
    _run(store, crm)

    again = _run(store, crm)

    assert crm.account_pulls == [SERVED - OVERLAP]
    assert again.accounts_refreshed >= 1  # c1's newer snapshot replaced the one stored with its feedback


def test_without_a_vendor_time_the_accounts_are_pulled_after_the_feedback(store: StateStore) -> None:
    crm = AccountCountingCrm(RECORDS, served_at=None)

    _run(store, crm)

    assert crm.account_pulls == [Cursor.epoch().updated_at], "account changes would have been lost"
    assert _account_cursor(store) == Cursor(T0 + timedelta(minutes=30), "c1")


def test_a_first_sync_that_stores_nothing_leaves_the_backlog_to_the_next(store: StateStore) -> None:
    crm = AccountCountingCrm([], SERVED)

    _run(store, crm)
    _run(store, crm)

    assert crm.account_pulls == []
    assert _account_cursor(store) is None


def test_a_first_sync_cut_short_keeps_the_account_start_it_stored(store: StateStore) -> None:
    crm = AccountCountingCrm(RECORDS, SERVED, fail_after=1)
    with pytest.raises(ConnectionError):
        _run(store, crm)
    assert _account_cursor(store) == Cursor(SERVED, ""), "feedback was stored without the account start"

    crm.fail_after = None
    _run(store, crm)

    assert crm.account_pulls == [SERVED - OVERLAP], "the rerun did not pull the changes since the start"
