"""Contract tests: the account-change stream asks which search results were processed already once per
group of search pages (not once per page), and falls back to one question per page when a record is
in two of them (edited while we paged: one version per page)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import respx

from adapters.http import HttpClient
from adapters.hubspot.client import HubSpotCrm
from tests.contract.hubspot.test_client import SINCE, SINCE_MS, UNTIL, FakeSearch
from tests.contract.hubspot.test_client_read_ahead import (
    COMPANIES,
    COMPANY_DEALS,
    COMPANY_SEARCH,
    DEAL_COMPANIES,
    DEAL_SEARCH,
    OWNERS,
    _companies,
    _inputs,
)

EMPTY = {"status": "COMPLETE", "results": []}


class KnownRecorder:
    """A `KnownVersions` that reports ids divisible by `every` as processed, recording each question."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.asked: list[tuple[str, dict[str, str]]] = []

    def __call__(self, kind: str, versions: Mapping[str, str]) -> set[str]:
        self.asked.append((kind, dict(versions)))
        return {i for i in versions if int(i) % self.every == 0}


def _mock_reads(mock: respx.MockRouter, *, deals: bool) -> respx.Route:
    reads = mock.post(COMPANIES).mock(side_effect=_companies)
    mock.post(COMPANY_DEALS).mock(return_value=httpx.Response(200, json=EMPTY))
    if deals:
        mock.post(DEAL_COMPANIES).mock(return_value=httpx.Response(200, json=EMPTY))
    mock.get(OWNERS).mock(return_value=httpx.Response(200, json={"results": []}))
    return reads


def test_iter_changed_accounts_asks_once_per_group_of_search_pages(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    mock.post(COMPANY_SEARCH).mock(side_effect=FakeSearch([(SINCE_MS + 10 * n, n) for n in range(1, 1201)]))
    mock.post(DEAL_SEARCH).mock(side_effect=FakeSearch([(SINCE_MS + 5, 90_001)]))
    reads = _mock_reads(mock, deals=True)
    known = KnownRecorder(every=3)
    crm = HubSpotCrm(http)
    crm.skip_known(known)

    pages = list(crm.iter_changed_accounts(SINCE, UNTIL))

    # 7 company search pages in two groups (5 + 2 pages), one deal search page: three questions
    assert [(kind, len(versions)) for kind, versions in known.asked] == [
        ("companies", 996),
        ("companies", 204),
        ("deals", 1),
    ]
    fresh = [str(n) for n in range(1, 1201) if n % 3]
    assert [i for c in reads.calls for i in _inputs(c)] == fresh  # processed ones are not read
    assert [a.id for p in pages for a in p.items] == fresh
    # every page still carries the versions of all its search results, processed or not
    saved = {i for p in pages for i in p.versions.get("companies", {})}
    assert saved == {str(n) for n in range(1, 1201)}


def test_iter_changed_accounts_asks_per_page_when_a_record_is_in_two_pages(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    # company 5 edited while we paged: found on the first page and again, later stamped, on the second
    rows = [(SINCE_MS + 10 * n, n) for n in range(1, 251)] + [(SINCE_MS + 10_000, 5)]
    mock.post(COMPANY_SEARCH).mock(side_effect=FakeSearch(rows))
    mock.post(DEAL_SEARCH).mock(side_effect=FakeSearch([]))
    _mock_reads(mock, deals=False)
    known = KnownRecorder(every=7)
    crm = HubSpotCrm(http)
    crm.skip_known(known)

    pages = list(crm.iter_changed_accounts(SINCE, UNTIL))

    asked = [(kind, versions) for kind, versions in known.asked if kind == "companies"]
    assert len(asked) == 2  # one question per page, each with its own version of company 5
    assert asked[0][1]["5"] != asked[1][1]["5"]
    ids = [a.id for p in pages for a in p.items]
    assert ids == [str(n) for n in range(1, 251) if n % 7]  # company 5 once: it was read already
