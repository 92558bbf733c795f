"""The pull's read-ahead thread (adapters.paging.read_ahead) never outlives the pull, even a failed one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest

from adapters.paging import Page
from mappings.feedback import FeedbackFilter
from mappings.models import Cursor, Feedback
from syncer.counts import PassCounts
from syncer.ingest import Ingest
from syncer.state import StateStore
from tests.factories import make_feedback
from tests.unit.test_ingest_settled import OVERLAP, UNTIL, ScriptedCrm


class EndlessCrm(ScriptedCrm):
    """A vendor with more pages than the pull will take; notes when its pager is closed."""

    def __init__(self) -> None:
        super().__init__([], None)
        self.closed = threading.Event()

    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        try:
            for n in range(1, 10_000):
                fb = make_feedback(n)
                yield Page((fb,), cursor=Cursor(fb.updated_at, fb.id))
        finally:
            self.closed.set()


class Stop(Exception):
    pass


def test_a_pull_stopped_by_its_consumer_leaves_no_producer_running(store: StateStore) -> None:
    crm = EndlessCrm()
    saved: list[str] = []

    def failpoint(name: str) -> None:
        saved.append(name)
        if len(saved) == 3:
            raise Stop("stop requested after the third page")

    ingest = Ingest(
        "acme", store, crm, FeedbackFilter(), require_account=False, counts=PassCounts(), failpoint=failpoint
    )
    with pytest.raises(Stop):
        ingest.run("feedback", None, OVERLAP, UNTIL)
    # closed as the error left `run`, not whenever the traceback is collected
    assert crm.closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "read-ahead" and t.is_alive()]
    with store.unit() as unit:
        cursor = unit.get_cursor("acme", "feedback")
    assert cursor is not None
    assert cursor.id == "3"  # what was stored is kept; nothing beyond it
