"""Contract tests: accounts with their open deal value; accounts changed directly or through their deals."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.http import HttpClient
from adapters.hubspot.client import HubSpotCrm
from adapters.hubspot.records import parse_timestamp
from mappings.models import Cursor

BASE = "https://api.hubapi.com"
COMPANIES = f"{BASE}/crm/v3/objects/companies/batch/read"
DEALS = f"{BASE}/crm/v3/objects/deals/batch/read"
COMPANY_DEALS = f"{BASE}/crm/v4/associations/companies/deals/batch/read"
DEAL_COMPANIES = f"{BASE}/crm/v4/associations/deals/companies/batch/read"
COMPANY_SEARCH = f"{BASE}/crm/v3/objects/companies/search"
DEAL_SEARCH = f"{BASE}/crm/v3/objects/deals/search"
OWNERS = f"{BASE}/crm/v3/owners"
SINCE = Cursor(datetime(2024, 5, 1, tzinfo=UTC), "")
UNTIL = datetime(2024, 5, 3, tzinfo=UTC)
SINCE_MS, UNTIL_MS = 1714521600000, 1714694400000
STAMP = "2024-05-02T10:00:00.000Z"


def body_of(call: Any) -> Any:
    return json.loads(call.request.content)


def _record(ident: str, **props: str | None) -> dict[str, Any]:
    return {
        "id": ident,
        "properties": {"hs_object_id": ident, "hs_lastmodifieddate": STAMP, **props},
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "archived": False,
    }


def _batch_read(make: Callable[[str], dict[str, Any] | None]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        found = [r for item in json.loads(request.content)["inputs"] if (r := make(item["id"])) is not None]
        return httpx.Response(200, json={"status": "COMPLETE", "results": found})

    return answer


def _associations(links: Mapping[str, list[str]]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        kinds = [{"category": "HUBSPOT_DEFINED", "typeId": 342, "label": None}]
        found = [
            {"from": {"id": i}, "to": [{"toObjectId": int(t), "associationTypes": kinds} for t in links[i]]}
            for i in (item["id"] for item in json.loads(request.content)["inputs"])
            if links.get(i)
        ]
        return httpx.Response(
            207 if len(found) < len(links) else 200, json={"status": "COMPLETE", "results": found}
        )

    return answer


def _company(ident: str) -> dict[str, Any]:
    return _record(
        ident, name=f"Company {ident}", hubspot_owner_id="", customer_tier="smb", annualrevenue="1"
    )


@pytest.fixture
def owners(mock: respx.MockRouter) -> respx.Route:
    return mock.get(OWNERS).mock(return_value=httpx.Response(200, json={"results": []}))


def test_get_accounts_sums_only_open_deals_without_a_call_per_company(
    http: HttpClient, mock: respx.MockRouter, owners: respx.Route
) -> None:
    companies = [str(7000 + n) for n in range(150)]
    deal_table = {
        "1": _record("1", amount="1000", dealstage="qualifiedtobuy", hs_is_closed="false"),
        "2": _record(
            "2", amount="2000", dealstage="contractsent", hs_is_closed="true"
        ),  # closed: custom stage
        "3": _record("3", amount="4000", dealstage="closedwon", hs_is_closed=None),  # closed: default stage
        "4": _record("4", amount="250.5", dealstage="CLOSEDLOST"),
        "5": _record("5", amount="not a number", dealstage="qualifiedtobuy", hs_is_closed="false"),
        "6": _record("6", amount="300", dealstage="appointmentscheduled", hs_is_closed="false"),
    }
    # 7000 and 7001 share deal 6; the next 120 companies each have one open deal of their own
    links = {"7000": ["1", "2", "3", "4", "5", "6"], "7001": ["6"]}
    links |= {c: [f"9{c}"] for c in companies[2:122]}
    deal_table |= {
        f"9{c}": _record(f"9{c}", amount="10", dealstage="qualifiedtobuy") for c in companies[2:122]
    }
    company_read = mock.post(COMPANIES).mock(side_effect=_batch_read(_company))
    assoc = mock.post(COMPANY_DEALS).mock(side_effect=_associations(links))
    deals = mock.post(DEALS).mock(side_effect=_batch_read(deal_table.get))
    crm = HubSpotCrm(http)

    accounts = crm.get_accounts(companies)
    crm.get_accounts(companies[:5])

    assert accounts["7000"].open_deal_value == 1300.0
    assert accounts["7001"].open_deal_value == 300.0
    assert accounts["7002"].open_deal_value == 10.0
    assert accounts[companies[-1]].open_deal_value == 0.0
    assert [len(body_of(c)["inputs"]) for c in company_read.calls] == [100, 50]
    assert [len(body_of(c)["inputs"]) for c in assoc.calls] == [150]  # one association read per 1,000
    assert [len(body_of(c)["inputs"]) for c in deals.calls] == [100, 26]  # deal ids deduped, <= 100 per read
    assert body_of(deals.calls[0])["properties"] == ["amount", "dealstage", "hs_is_closed"]
    assert owners.call_count == 1


def test_iter_changed_accounts_unions_company_and_deal_changes_in_pages_of_100(
    http: HttpClient, mock: respx.MockRouter, owners: respx.Route
) -> None:
    edited = [str(7000 + n) for n in range(150)]
    company_search = mock.post(COMPANY_SEARCH).mock(
        return_value=httpx.Response(200, json={"total": 150, "results": [_record(c) for c in edited]})
    )
    deal_search = mock.post(DEAL_SEARCH).mock(
        return_value=httpx.Response(
            200, json={"total": 3, "results": [_record(d) for d in ("91", "92", "93")]}
        )
    )
    # deal 91 belongs to an already-seen company, 92 to a new one, 93 to none
    deal_companies = mock.post(DEAL_COMPANIES).mock(
        side_effect=_associations({"91": ["7000"], "92": ["8000"]})
    )
    company_read = mock.post(COMPANIES).mock(side_effect=_batch_read(_company))
    mock.post(COMPANY_DEALS).mock(
        return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []})
    )

    pages = list(HubSpotCrm(http).iter_changed_accounts(SINCE, UNTIL))

    assert [[a.id for a in p.items] for p in pages] == [edited[:100], edited[100:], ["8000"]]
    # each search batch's last page carries the newest vendor stamp it covered; the others none
    assert [p.cursor is not None for p in pages] == [False, True, True]
    assert pages[-1].cursor is not None
    assert pages[-1].cursor.updated_at == parse_timestamp(STAMP)
    for search in (company_search, deal_search):
        body = body_of(search.calls[0])
        assert body["filterGroups"] == [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(SINCE_MS)},
                    {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": str(UNTIL_MS)},
                ]
            }
        ]
        assert body["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
        assert body["properties"] == ["hs_lastmodifieddate", "hs_object_id"]
    assert body_of(deal_companies.calls[0]) == {"inputs": [{"id": "91"}, {"id": "92"}, {"id": "93"}]}
    assert [len(body_of(c)["inputs"]) for c in company_read.calls] == [100, 50, 1]


def test_iter_changed_accounts_rereads_companies_already_cached(
    http: HttpClient, mock: respx.MockRouter, owners: respx.Route
) -> None:
    names = iter(["Before", "After"])
    mock.post(COMPANIES).mock(side_effect=_batch_read(lambda i: _record(i, name=next(names))))
    mock.post(COMPANY_DEALS).mock(
        return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []})
    )
    mock.post(COMPANY_SEARCH).mock(
        return_value=httpx.Response(200, json={"total": 1, "results": [_record("7")]})
    )
    mock.post(DEAL_SEARCH).mock(return_value=httpx.Response(200, json={"total": 0, "results": []}))
    crm = HubSpotCrm(http)

    before = crm.get_accounts(["7"])["7"].name
    (page,) = list(crm.iter_changed_accounts(SINCE, UNTIL))

    assert (before, page.items[0].name, crm.get_accounts(["7"])["7"].name) == ("Before", "After", "After")


def test_iter_changed_accounts_with_an_empty_window_sends_nothing(http: HttpClient) -> None:
    with respx.mock(assert_all_mocked=True):
        assert list(HubSpotCrm(http).iter_changed_accounts(SINCE, SINCE.updated_at.replace(year=2023))) == []
