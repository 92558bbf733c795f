"""Every page of a HubSpot pull carries HubSpot's clock at the pull's FIRST search answer (HTTP `Date`):
the engine settles a cursor on it (syncer/ingest.py), so a later, less conservative answer must not
take its place."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import respx

from adapters.http import HttpClient
from adapters.hubspot.client import HubSpotCrm
from tests.contract.hubspot.test_client import ASSOC, SEARCH, SINCE, SINCE_MS, UNTIL, FakeSearch

FIRST = datetime(2024, 5, 3, 0, 5, tzinfo=UTC)


def test_every_page_carries_the_first_answer_time(http: HttpClient, mock: respx.MockRouter) -> None:
    fake = FakeSearch([(SINCE_MS + n * 1000, n) for n in range(1, 451)])  # three pages of 200
    answers = iter(range(100))

    def dated(request: httpx.Request) -> httpx.Response:
        response = fake(request)
        stamp = FIRST.timestamp() + 60 * next(answers)  # each answer a minute later
        response.headers["Date"] = format_datetime(datetime.fromtimestamp(stamp, UTC), usegmt=True)
        return response

    mock.post(SEARCH).mock(side_effect=dated)
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []}))

    pages = list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))

    assert len(pages) == 3
    assert [p.served_at for p in pages] == [FIRST] * 3


def test_no_date_header_means_no_served_time(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.post(SEARCH).mock(side_effect=FakeSearch([(SINCE_MS + 1, 1)]))
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []}))

    pages = list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))

    assert [p.served_at for p in pages] == [None]
