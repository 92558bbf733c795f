"""Contract tests: the HubSpot client against respx-mocked, doc-shaped HubSpot responses."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import AuthError, MalformedResponseError
from adapters.http import HttpClient
from adapters.hubspot.client import HubSpotCrm, HubSpotSettings
from mappings.models import Cursor, FeedbackLink, ItemStatus, Urgency

BASE = "https://api.hubapi.com"
FIXTURES = Path(__file__).parent / "fixtures"
SEARCH = f"{BASE}/crm/v3/objects/tickets/search"
ASSOC = f"{BASE}/crm/v4/associations/tickets/companies/batch/read"
COMPANIES = f"{BASE}/crm/v3/objects/companies/batch/read"
OWNERS = f"{BASE}/crm/v3/owners"
UPDATE = f"{BASE}/crm/v3/objects/tickets/batch/update"
COMPANY_DEALS = f"{BASE}/crm/v4/associations/companies/deals/batch/read"
NO_ASSOCIATIONS = {"status": "COMPLETE", "results": []}
SINCE = Cursor(datetime(2024, 5, 1, tzinfo=UTC), "")
UNTIL = datetime(2024, 5, 3, tzinfo=UTC)
SINCE_MS, UNTIL_MS = 1714521600000, 1714694400000


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def body_of(call: Any) -> Any:
    return json.loads(call.request.content)


def test_iter_changed_feedback_sends_documented_search_and_pages_to_the_end(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    search = mock.post(SEARCH).mock(
        side_effect=[
            httpx.Response(200, json=fixture("search_tickets_page1.json")),
            httpx.Response(200, json=fixture("search_tickets_page2.json")),
        ]
    )
    assoc = mock.post(ASSOC).mock(
        side_effect=[
            httpx.Response(200, json=fixture("ticket_companies_page1.json")),
            httpx.Response(207, json=fixture("ticket_companies_page2.json")),
        ]
    )

    pages = list(HubSpotCrm(http, HubSpotSettings(portal_id="123")).iter_changed_feedback(SINCE, UNTIL))

    assert body_of(search.calls[0]) == {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(SINCE_MS)},
                    {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": str(UNTIL_MS)},
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": [
            "subject",
            "content",
            "hs_lastmodifieddate",
            "createdate",
            "hs_ticket_category",
            "hs_pipeline",
            "hs_ticket_priority",
            "feature_request_id",
            "syncer_backlog_key",
            "syncer_backlog_status",
            "syncer_milestone",
            "syncer_milestone_due",
            "syncer_promised_date",
        ],
        "limit": 200,
    }
    # keyset paging: the next page is a fresh query from the last stamp seen, never an offset
    second = body_of(search.calls[1])
    assert "after" not in second
    assert second["filterGroups"][0]["filters"][0] == {
        "propertyName": "hs_lastmodifieddate",
        "operator": "GTE",
        "value": str(int(datetime(2024, 5, 2, 10, tzinfo=UTC).timestamp() * 1000)),
    }
    assert search.call_count == 2
    assert [body_of(c) for c in assoc.calls] == [
        {"inputs": [{"id": "1001"}, {"id": "1002"}]},
        {"inputs": [{"id": "1003"}]},
    ]
    assert [len(p.items) for p in pages] == [2, 1]
    first, second = pages[0].items
    assert first.title == "Feature request: Export reports to CSV"
    assert first.account_id == "5001"
    assert first.urgency is Urgency.HIGH
    assert first.group_hint == "FR-0012"
    assert first.url == "https://app.hubspot.com/contacts/123/ticket/1001"
    assert first.updated_at == datetime(2024, 5, 2, 9, 15, 30, 250000, tzinfo=UTC)
    assert second.account_id == "5002"  # the association labelled Primary wins
    assert second.urgency is Urgency.CRITICAL
    assert second.backlog_key == "PROD-42"
    last = pages[1].items[0]
    assert (last.account_id, last.urgency, last.category) == (None, Urgency.MEDIUM, "BILLING_ISSUE")
    assert pages[0].cursor == Cursor(second.updated_at, "1002")
    assert pages[1].cursor == Cursor(last.updated_at, "1003")


def test_iter_changed_feedback_rejects_unmappable_ticket_and_maps_the_rest(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    mock.post(SEARCH).mock(return_value=httpx.Response(200, json=fixture("search_tickets_with_bad.json")))
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []}))

    (page,) = list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))

    assert [f.id for f in page.items] == ["2001"]
    assert {r.record_id: r.reason for r in page.rejects}.keys() == {"2002", "2003"}
    assert "subject" in next(r.reason for r in page.rejects if r.record_id == "2002")
    assert "timestamp" in next(r.reason for r in page.rejects if r.record_id == "2003")


class FakeSearch:
    """A search endpoint over (ms, id) pairs honouring GTE/LTE/EQ/GT, one sort, offset paging and the cap."""

    def __init__(self, rows: list[tuple[int, int]]) -> None:
        self.rows = rows
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        limit, after = body["limit"], int(body.get("after", 0))
        if after + limit > 10_000:
            return httpx.Response(400, json={"status": "error", "category": "VALIDATION_ERROR"})
        hits = [r for r in self.rows if all(self._match(r, f) for f in body["filterGroups"][0]["filters"])]
        by_id = body["sorts"][0]["propertyName"] == "hs_object_id"
        hits.sort(key=lambda r: (r[1],) if by_id else r)
        out: dict[str, Any] = {
            "total": len(hits),
            "results": [self._ticket(ms, ident) for ms, ident in hits[after : after + limit]],
        }
        if after + limit < len(hits):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return httpx.Response(200, json=out)

    @staticmethod
    def _match(row: tuple[int, int], flt: dict[str, str]) -> bool:
        actual = row[0] if flt["propertyName"] == "hs_lastmodifieddate" else row[1]
        value = int(flt["value"])
        return {
            "GTE": actual >= value,
            "LTE": actual <= value,
            "EQ": actual == value,
            "GT": actual > value,
        }[flt["operator"]]

    @staticmethod
    def _ticket(ms: int, ident: int) -> dict[str, Any]:
        stamp = (
            datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        props = {"subject": f"ticket {ident}", "hs_lastmodifieddate": stamp, "hs_object_id": str(ident)}
        return {
            "id": str(ident),
            "properties": props,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }


def _pull_all(http: HttpClient, mock: respx.MockRouter, fake: FakeSearch) -> list[str]:
    mock.post(SEARCH).mock(side_effect=fake)
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []}))
    pages = HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL)
    return [f.id for page in pages for f in page.items]


def test_iter_changed_feedback_splits_windows_over_the_10k_cap(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    rows = [(SINCE_MS + n * 1000, n) for n in range(1, 10_401)]
    fake = FakeSearch(rows)

    ids = _pull_all(http, mock, fake)

    assert sorted(ids, key=int) == [str(n) for n in range(1, 10_401)]
    assert len(ids) == len(set(ids))
    assert all(int(b.get("after", 0)) + b["limit"] <= 10_000 for b in fake.requests)
    stamps = [int(b["filterGroups"][0]["filters"][0]["value"]) for b in fake.requests if "after" not in b]
    assert stamps[0] == SINCE_MS
    assert len(stamps) >= 3
    seen = [int(i) for i in ids]
    assert seen == sorted(seen)  # still ascending across the split


def test_iter_changed_feedback_pages_a_crowded_millisecond_by_id(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    bulk = SINCE_MS + 5_000
    rows = [(bulk, n) for n in range(100, 10_350)] + [(SINCE_MS + 1, 1), (bulk + 1, 99_999)]
    fake = FakeSearch(rows)

    ids = _pull_all(http, mock, fake)

    assert sorted(ids) == sorted(str(r[1]) for r in rows)
    assert len(ids) == len(set(ids))
    assert all(int(b.get("after", 0)) + b["limit"] <= 10_000 for b in fake.requests)
    keyset = [b for b in fake.requests if len(b["filterGroups"][0]["filters"]) == 2 and "after" not in b]
    assert any(f["operator"] == "GT" for b in keyset for f in b["filterGroups"][0]["filters"])


def _companies_response(request: httpx.Request) -> httpx.Response:
    template = fixture("companies_batch_read_207.json")["results"][0]
    results = []
    for item in json.loads(request.content)["inputs"]:
        company = copy.deepcopy(template)
        company["id"] = company["properties"]["hs_object_id"] = item["id"]
        results.append(company)
    return httpx.Response(200, json={"status": "COMPLETE", "results": results})


def test_get_accounts_reads_in_chunks_of_100_pages_owners_and_caches(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    companies = mock.post(COMPANIES).mock(side_effect=_companies_response)
    deals = mock.post(COMPANY_DEALS).mock(return_value=httpx.Response(200, json=NO_ASSOCIATIONS))
    owners = mock.get(OWNERS).mock(
        side_effect=[
            httpx.Response(200, json=fixture("owners_page1.json")),
            httpx.Response(200, json=fixture("owners_page2.json")),
        ]
    )
    crm = HubSpotCrm(http)
    ids = [str(6000 + n) for n in range(150)]

    accounts = crm.get_accounts(ids)
    again = crm.get_accounts(ids[:10])

    assert [len(body_of(c)["inputs"]) for c in companies.calls] == [100, 50]
    assert body_of(companies.calls[0])["properties"] == [
        "name",
        "hubspot_owner_id",
        "customer_tier",
        "annualrevenue",
    ]
    assert [dict(c.request.url.params) for c in owners.calls] == [
        {"limit": "100"},
        {"limit": "100", "after": "1"},
    ]
    assert len(accounts) == 150
    account = accounts["6000"]
    assert (account.name, account.tier, account.arr) == ("Northwind Traders", "enterprise", 1_250_000.0)
    assert account.owner is not None
    assert account.owner.email == "emma.schneider@example.com"
    assert account.owner.name == "Emma Schneider"
    assert len(again) == 10
    assert (companies.call_count, owners.call_count) == (2, 2)  # the second call was served from the cache
    assert deals.call_count == 1  # one association read per 1,000 companies; no deals, no deal reads
    assert account.open_deal_value == 0.0


def test_get_accounts_leaves_unknown_ids_out(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.post(COMPANIES).mock(return_value=httpx.Response(207, json=fixture("companies_batch_read_207.json")))
    deals = mock.post(COMPANY_DEALS).mock(return_value=httpx.Response(200, json=NO_ASSOCIATIONS))
    mock.get(OWNERS).mock(return_value=httpx.Response(200, json=fixture("owners_page2.json")))

    accounts = HubSpotCrm(http).get_accounts(["5001", "5002", "5999"])

    assert body_of(deals.calls[0]) == {"inputs": [{"id": "5001"}, {"id": "5002"}]}  # only known companies
    assert set(accounts) == {"5001", "5002"}
    assert accounts["5002"].owner is not None
    assert accounts["5002"].owner.name == "娜 李"
    assert accounts["5001"].owner is None  # its owner id is not in the owners list: deleted
    assert accounts["5002"].arr == 0.0


def test_link_feedback_batches_100_and_reports_a_207_partial_failure(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        ok = [{"id": i["id"], "properties": i["properties"]} for i in inputs if i["id"] != "9999"]
        if len(ok) == len(inputs):
            return httpx.Response(200, json={"status": "COMPLETE", "results": ok})
        return httpx.Response(207, json={**fixture("batch_update_207.json"), "results": ok})

    update = mock.post(UPDATE).mock(side_effect=answer)
    links = [FeedbackLink(feedback_id=str(n), backlog_key=f"PROD-{n}") for n in range(1, 150)]
    links.append(
        FeedbackLink(
            feedback_id="9999", backlog_key="PROD-1", backlog_url="https://x/1", status=ItemStatus.DONE
        )
    )

    results = HubSpotCrm(http).link_feedback(links)

    assert [len(body_of(c)["inputs"]) for c in update.calls] == [100, 50]
    assert body_of(update.calls[1])["inputs"][-1] == {
        "id": "9999",
        "properties": {
            "syncer_backlog_key": "PROD-1",
            "syncer_backlog_url": "https://x/1",
            "syncer_backlog_status": "done",
            "syncer_milestone": "",
            "syncer_milestone_due": "",
        },
    }
    assert body_of(update.calls[0])["inputs"][0]["properties"]["syncer_backlog_status"] == ""
    assert [r.ref for r in results] == [link.feedback_id for link in links]
    assert all(r.ok for r in results[:-1])
    assert results[-1].error is not None
    assert "OBJECT_NOT_FOUND" in results[-1].error


def test_search_retries_after_429_with_retry_after(http: HttpClient, mock: respx.MockRouter) -> None:
    search = mock.post(SEARCH).mock(
        side_effect=[
            httpx.Response(429, json=fixture("rate_limit_429.json"), headers={"Retry-After": "1"}),
            httpx.Response(200, json=fixture("search_tickets_page2.json")),
        ]
    )
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []}))

    pages = list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))

    assert search.call_count == 2
    assert [f.id for p in pages for f in p.items] == ["1003"]
    assert http.statuses[429] == 1


def test_search_401_raises_auth_error(http: HttpClient, mock: respx.MockRouter) -> None:
    search = mock.post(SEARCH).mock(return_value=httpx.Response(401, json=fixture("auth_401.json")))

    with pytest.raises(AuthError):
        list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))
    assert search.call_count == 1  # never retried


def test_search_malformed_body_raises_malformed_response(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.post(SEARCH).mock(
        return_value=httpx.Response(
            200, content=b'{"results": [ trunc', headers={"Content-Type": "application/json"}
        )
    )

    with pytest.raises(MalformedResponseError):
        list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))


def test_search_body_without_results_raises_malformed_response(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    mock.post(SEARCH).mock(return_value=httpx.Response(200, json={"total": 1, "status": "weird"}))

    with pytest.raises(MalformedResponseError):
        list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))


def _ticket(ident: str, **props: str | None) -> dict[str, Any]:
    stamp = "2024-05-02T09:15:30.250Z"
    base = {"subject": f"ticket {ident}", "hs_lastmodifieddate": stamp, "hs_object_id": ident}
    return {"id": ident, "properties": {**base, **props}, "createdAt": stamp, "updatedAt": stamp}


def test_iter_changed_feedback_maps_backlog_state_and_both_date_formats(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    tickets = [
        _ticket(
            "1",
            syncer_backlog_key="PROD-7",
            syncer_backlog_status="in-progress",
            syncer_milestone="2.4",
            syncer_milestone_due="2026-04-01",
            syncer_promised_date="1775001600000",  # 2026-04-01T00:00:00Z, how date properties come back too
        ),
        _ticket("2", syncer_milestone_due="next week", syncer_promised_date="2026-13-45"),
        _ticket("3", syncer_backlog_status="", syncer_milestone=None, syncer_promised_date=""),
    ]
    mock.post(SEARCH).mock(return_value=httpx.Response(200, json={"total": 3, "results": tickets}))
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json=NO_ASSOCIATIONS))

    (page,) = list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))

    first, garbled, empty = page.items
    assert (first.backlog_key, first.backlog_status, first.backlog_milestone) == (
        "PROD-7",
        "in-progress",
        "2.4",
    )
    assert (first.backlog_due, first.promised_date) == (date(2026, 4, 1), date(2026, 4, 1))
    assert (garbled.backlog_due, garbled.promised_date) == (None, None)  # unreadable dates: no reject
    assert page.rejects == ()
    assert (empty.backlog_status, empty.backlog_milestone, empty.promised_date) == (None, None, None)


def test_iter_changed_feedback_leaves_promised_date_out_when_not_configured(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    search = mock.post(SEARCH).mock(
        return_value=httpx.Response(
            200, json={"total": 1, "results": [_ticket("1", syncer_promised_date="2026-04-01")]}
        )
    )
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json=NO_ASSOCIATIONS))

    (page,) = list(
        HubSpotCrm(http, HubSpotSettings(promised_date_property=None)).iter_changed_feedback(SINCE, UNTIL)
    )

    assert "syncer_promised_date" not in body_of(search.calls[0])["properties"]
    assert page.items[0].promised_date is None


def test_link_feedback_writes_status_milestone_and_due_date(http: HttpClient, mock: respx.MockRouter) -> None:
    update = mock.post(UPDATE).mock(
        side_effect=lambda request: httpx.Response(
            200, json={"status": "COMPLETE", "results": json.loads(request.content)["inputs"]}
        )
    )
    links = [
        FeedbackLink(
            feedback_id="1",
            backlog_key="PROD-7",
            backlog_url="https://t/7",
            status=ItemStatus.IN_PROGRESS,
            milestone="2.4",
            due=date(2026, 4, 1),
        ),
        FeedbackLink(feedback_id="2", backlog_key="PROD-8", status=ItemStatus.WONT_DO),
    ]

    results = HubSpotCrm(http).link_feedback(links)

    assert [r.ok for r in results] == [True, True]
    assert body_of(update.calls[0])["inputs"] == [
        {
            "id": "1",
            "properties": {
                "syncer_backlog_key": "PROD-7",
                "syncer_backlog_url": "https://t/7",
                "syncer_backlog_status": "in-progress",
                "syncer_milestone": "2.4",
                "syncer_milestone_due": "2026-04-01",
            },
        },
        {
            "id": "2",
            "properties": {
                "syncer_backlog_key": "PROD-8",
                "syncer_backlog_url": "",
                "syncer_backlog_status": "won't-do",
                "syncer_milestone": "",
                "syncer_milestone_due": "",
            },
        },
    ]


def test_iter_changed_feedback_reports_the_search_total_on_the_first_page(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    page1 = fixture("search_tickets_page1.json")
    mock.post(SEARCH).mock(
        side_effect=[httpx.Response(200, json=page1), httpx.Response(200, json={"total": 0, "results": []})]
    )
    mock.post(ASSOC).mock(return_value=httpx.Response(200, json=NO_ASSOCIATIONS))
    pages = list(HubSpotCrm(http).iter_changed_feedback(SINCE, UNTIL))
    assert pages[0].total == page1["total"]
    assert all(p.total is None for p in pages[1:])
