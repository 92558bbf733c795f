"""Contract tests: search pages are read ahead so that association reads carry up to 1,000 ids, while the
engine still gets (and checkpoints) one Page per search page, each with its own cursor."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from adapters.http import HttpClient
from adapters.hubspot.client import HubSpotCrm
from mappings.models import Cursor
from tests.contract.hubspot.test_client import ASSOC, SEARCH, SINCE, SINCE_MS, UNTIL, FakeSearch
from tests.contract.hubspot.test_client_accounts import _company

BASE = "https://api.hubapi.com"
COMPANY_SEARCH = f"{BASE}/crm/v3/objects/companies/search"
DEAL_SEARCH = f"{BASE}/crm/v3/objects/deals/search"
COMPANIES = f"{BASE}/crm/v3/objects/companies/batch/read"
COMPANY_DEALS = f"{BASE}/crm/v4/associations/companies/deals/batch/read"
DEAL_COMPANIES = f"{BASE}/crm/v4/associations/deals/companies/batch/read"
OWNERS = f"{BASE}/crm/v3/owners"
KINDS = [{"category": "HUBSPOT_DEFINED", "typeId": 339, "label": None}]


def _inputs(call: Any) -> list[str]:
    return [item["id"] for item in json.loads(call.request.content)["inputs"]]


def _one_company_each(request: httpx.Request) -> httpx.Response:
    """Ticket n belongs to company 5000 + n."""
    results = [
        {"from": {"id": i}, "to": [{"toObjectId": 5000 + int(i), "associationTypes": KINDS}]}
        for i in (item["id"] for item in json.loads(request.content)["inputs"])
    ]
    return httpx.Response(200, json={"status": "COMPLETE", "results": results})


def test_iter_changed_feedback_reads_companies_of_five_search_pages_at_once_and_yields_each_page(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    fake = FakeSearch([(SINCE_MS + 10 * n, n) for n in range(1, 1401)])
    mock.post(SEARCH).mock(side_effect=fake)
    assoc = mock.post(ASSOC).mock(side_effect=_one_company_each)

    pages = list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))

    # the first page alone (it commits before the read-ahead starts), then up to 1,000 tickets per read
    assert [len(_inputs(c)) for c in assoc.calls] == [200, 995, 205]
    assert len(pages) == len(fake.requests) == 8  # one Page per search page
    assert all(0 < len(p.items) <= 200 for p in pages)
    ids = [fb.id for p in pages for fb in p.items]
    assert ids == [str(n) for n in range(1, 1401)]
    assert all(fb.account_id == str(5000 + int(fb.id)) for p in pages for fb in p.items)
    # each page proposes its own cursor: its newest ticket, so a resume starts right after it
    assert [p.cursor for p in pages] == [Cursor(p.items[-1].updated_at, p.items[-1].id) for p in pages]
    assert [p.total for p in pages] == [1400] + [None] * (len(pages) - 1)


def _companies(request: httpx.Request) -> httpx.Response:
    results = [_company(i) for i in _inputs_of(request)]
    return httpx.Response(200, json={"status": "COMPLETE", "results": results})


def _inputs_of(request: httpx.Request) -> list[str]:
    return [item["id"] for item in json.loads(request.content)["inputs"]]


def test_iter_changed_accounts_groups_search_pages_for_its_reads_and_searches_deals_alongside(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    company_search = mock.post(COMPANY_SEARCH).mock(
        side_effect=FakeSearch([(SINCE_MS + 10 * n, n) for n in range(1, 1201)])
    )
    deal_search = mock.post(DEAL_SEARCH).mock(side_effect=FakeSearch([(SINCE_MS + 5, 90_001)]))
    reads = mock.post(COMPANIES).mock(side_effect=_companies)
    company_deals = mock.post(COMPANY_DEALS).mock(
        return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []})
    )
    deal_companies = mock.post(DEAL_COMPANIES).mock(
        return_value=httpx.Response(
            200,
            json={
                "results": [{"from": {"id": "90001"}, "to": [{"toObjectId": 7, "associationTypes": KINDS}]}]
            },
        )
    )
    mock.get(OWNERS).mock(return_value=httpx.Response(200, json={"results": []}))

    pages = list(HubSpotCrm(http).iter_changed_accounts(SINCE, UNTIL))

    # 1,200 companies over 7 search pages: two groups, one association read each, 100 per batch read
    assert [len(_inputs(c)) for c in company_deals.calls] == [996, 204]
    assert sum(len(_inputs(c)) for c in reads.calls) == 1200
    assert all(len(_inputs(c)) <= 100 for c in reads.calls)
    assert [a.id for p in pages for a in p.items] == [str(n) for n in range(1, 1201)]
    # every search page's cursor comes on the last page of its accounts, in order
    cursors = [p.cursor for p in pages if p.cursor is not None]
    assert len(cursors) == company_search.call_count + 1  # each company page, and the deal page
    assert cursors[:-1] == sorted(cursors[:-1])
    # the deal search ran while the company stream did (before its last page), not after it; the
    # next company page is fetched ahead on a thread (adapters.paging.Prefetch), so only the order
    # against the last one is fixed
    order = [str(c.request.url) for c in mock.calls]
    assert order.index(DEAL_SEARCH) < [i for i, u in enumerate(order) if u == COMPANY_SEARCH][-1]
    assert deal_search.call_count >= 1
    assert _inputs(deal_companies.calls[0]) == ["90001"]  # its company 7 was read already: no re-read
    assert sum(len(_inputs(c)) for c in reads.calls) == 1200
