"""Records a run stored are planned from memory (syncer/recent.py): the same drafts as from the store,
never a stale account snapshot, and memory bounded."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from adapters.paging import Page
from mappings.feedback import FeedbackFilter, PriorityWeights
from mappings.models import Account, BacklogDraft, Cursor, Feedback, WriteResult
from mappings.render import RenderOptions
from syncer.apply import Apply
from syncer.counts import PassCounts
from syncer.ingest import Ingest
from syncer.recent import RecentRecords
from syncer.records import to_payload
from syncer.state import StateStore, StoredFeedback
from tests.factories import T0, make_account, make_feedback, make_item
from tests.unit.test_ingest_settled import ScriptedCrm

UNTIL = T0 + timedelta(days=1)


def _member(n: int) -> tuple[Feedback, Account]:
    return make_feedback(n), make_account(id=f"c{n}")


def test_recent_records_keep_the_newest_within_their_limit() -> None:
    recent = RecentRecords(limit=2)
    recent.keep([_member(1), _member(2)])
    recent.keep([_member(1)])  # stored again: now the newest
    recent.keep([_member(3)])

    assert [("hubspot", "1") in recent, ("hubspot", "2") in recent, ("hubspot", "3") in recent] == [
        True,
        False,
        True,
    ]
    assert len(recent) == 2


def test_recent_records_forget_dropped_records_and_clear() -> None:
    recent = RecentRecords()
    recent.keep([_member(1), _member(2)])

    recent.forget("hubspot", ["1"])
    assert recent.get("hubspot", "1") is None
    assert recent.get("hubspot", "2") == _member(2)
    recent.clear()
    assert len(recent) == 0


def test_group_members_leave_out_the_payloads_the_caller_holds(store: StateStore) -> None:
    rows = [
        StoredFeedback("hubspot", str(n), "g", "h", to_payload(fb, acct), None, acct.id)
        for n in (1, 2, 3)
        for fb, acct in [_member(n)]
    ]
    with store.unit() as unit:
        unit.save_feedback("acme", rows)
        full = unit.group_members("acme", ["g"])
        partial = unit.group_members("acme", ["g"], loaded={("hubspot", "2")})

    assert sorted((s.record_id, bool(s.payload)) for s in full["g"]) == [
        ("1", True),
        ("2", True),
        ("3", True),
    ]
    assert sorted((s.record_id, bool(s.payload)) for s in partial["g"]) == [
        ("1", True),
        ("2", False),
        ("3", True),
    ]
    assert {s.record_id: s.payload for s in partial["g"] if s.payload} == {
        s.record_id: s.payload for s in full["g"] if s.record_id != "2"
    }


class _AccountsCrm(ScriptedCrm):
    """The scripted CRM with one account per record, whose values the test can change; the account
    stream serves every account as changed."""

    def __init__(self, records: list[Feedback]) -> None:
        super().__init__(records, served_at=None)
        self.accounts = {
            r.account_id: make_account(id=r.account_id, name=f"Customer {r.id}") for r in records
        }

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        return {i: self.accounts[i] for i in ids if i in self.accounts}

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        last = max(a.updated_at for a in self.accounts.values())
        yield Page(tuple(self.accounts.values()), cursor=Cursor(last, ""))


class _Tracker:
    """Creates every item it is asked for and keeps the drafts."""

    system = "jira"

    def __init__(self) -> None:
        self.drafts: list[BacklogDraft] = []

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        self.drafts += [draft for _, draft in drafts]
        return [WriteResult(ref=m, item=make_item(key=f"P-{len(self.drafts)}-{m[:4]}")) for m, _ in drafts]


def _sync(
    store: StateStore, org: str, crm: _AccountsCrm, recent: RecentRecords, refresh: bool = False
) -> list[BacklogDraft]:
    """Pull (then, with `refresh`, an account refresh), then plan and create: the drafts created."""
    counts = PassCounts()
    ingest = Ingest(org, store, crm, FeedbackFilter(), require_account=True, counts=counts, recent=recent)
    ingest.run("feedback", None, timedelta(minutes=2), UNTIL)
    if refresh:
        crm.accounts = {
            i: a.model_copy(update={"arr": 9_000_000.0, "updated_at": UNTIL}) for i, a in crm.accounts.items()
        }
        ingest.run_accounts("accounts", timedelta(minutes=2), UNTIL)
    tracker = _Tracker()
    apply = Apply(
        org,
        store,
        tracker,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        weights=PriorityWeights(),
        options=RenderOptions(),
        adopt_grace=timedelta(0),
        clock=lambda: UNTIL,
        counts=counts,
        recent=recent,
    )
    apply.apply_groups()
    return tracker.drafts


RECORDS = [
    make_feedback(n, account_id=f"c{n}", title=title, body=f"Customer {n} says: {title}.")
    for n, title in enumerate(
        ["Export reports to CSV", "export reports to csv!", "Dark mode", "SSO via Okta"], 1
    )
]


def test_plan_from_memory_renders_what_the_store_would(store: StateStore) -> None:
    from_memory = _sync(store, "acme", _AccountsCrm(RECORDS), RecentRecords())
    from_store = _sync(store, "beta", _AccountsCrm(RECORDS), RecentRecords(limit=0))

    assert len(from_memory) == 3  # the two CSV requests are one item
    assert from_memory == from_store


def test_plan_after_an_account_refresh_shows_the_refreshed_account(store: StateStore) -> None:
    recent = RecentRecords()

    drafts = _sync(store, "acme", _AccountsCrm(RECORDS), recent, refresh=True)

    assert len(drafts) == 3
    assert [d.total_arr for d in drafts] == [9_000_000.0 * d.account_count for d in drafts]
    assert all("$500.0k" not in d.body for d in drafts)
