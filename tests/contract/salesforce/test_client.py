"""Contract tests: the Salesforce client against respx-mocked, doc-shaped REST responses."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
import respx

from adapters.errors import AuthError, MalformedResponseError, PaginationLoopError, RateLimitedError
from adapters.http import HttpClient
from adapters.salesforce.client import SalesforceCrm, SalesforceSettings
from mappings.models import Cursor, Urgency
from tests.contract.salesforce.conftest import API, BASE, fixture, soql_of

QUERY = f"{API}/query"
SINCE = Cursor(datetime(2024, 5, 1, tzinfo=UTC), "")
UNTIL = datetime(2024, 5, 3, 0, 0, 0, 900_000, tzinfo=UTC)
CASE_FIELDS = (
    "Id, SystemModstamp, Subject, Description, Type, Origin, Priority, AccountId, Syncer_Backlog_Key__c, "
    "Syncer_Backlog_Status__c, Syncer_Milestone__c, Syncer_Milestone_Due__c, Syncer_Promised_Date__c"
)
ACCOUNT = "001Dn00000AbCdEIAV"


def test_iter_changed_feedback_sends_soql_and_follows_next_records_url(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    first = mock.get(QUERY).mock(return_value=httpx.Response(200, json=fixture("query_cases_page1.json")))
    more = mock.get(f"{QUERY}/01gDn000001ZxYzIAK-2000").mock(
        return_value=httpx.Response(200, json=fixture("query_cases_page2.json"))
    )

    pages = list(SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL))

    assert soql_of(first.calls[0]) == (
        f"SELECT {CASE_FIELDS} FROM Case WHERE SystemModstamp >= 2024-05-01T00:00:00Z "  # noqa: S608
        "AND SystemModstamp <= 2024-05-03T00:00:00Z ORDER BY SystemModstamp, Id"
    )
    assert first.calls[0].request.headers["Authorization"] == "Bearer test-token"
    assert more.call_count == 1
    assert [len(p.items) for p in pages] == [2, 1]
    assert pages[0].total == 3
    assert pages[1].total is None
    assert pages[0].cursor == Cursor(datetime(2024, 5, 1, 10, 30, tzinfo=UTC), "500Dn000004QaABIA0")
    assert pages[1].cursor == Cursor(datetime(2024, 5, 2, 8, tzinfo=UTC), "500Dn000004QaACIA0")
    high, chinese = pages[0].items
    assert high.urgency is Urgency.HIGH
    assert high.account_id == ACCOUNT
    assert high.url == f"{BASE}/lightning/r/Case/500Dn000004QaAAIA0/view"
    assert high.category == "Feature Request"
    assert high.pipeline == "Web"
    assert chinese.title == "移动端离线模式"
    assert chinese.account_id is None
    assert chinese.promised_date == date(2024, 9, 30)
    assert chinese.urgency is Urgency.LOW
    linked = pages[1].items[0]
    assert (linked.backlog_key, linked.backlog_status, linked.backlog_milestone, linked.backlog_due) == (
        "PROD-12",
        "in-progress",
        "2.4",
        date(2024, 7, 1),
    )


def test_iter_changed_feedback_filters_record_type(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.get(QUERY).mock(
        return_value=httpx.Response(200, json={"totalSize": 0, "done": True, "records": []})
    )

    pages = list(
        SalesforceCrm(http, SalesforceSettings(record_type_id="012Dn0000001AbC")).iter_changed_feedback(
            SINCE, UNTIL
        )
    )

    assert "AND RecordTypeId = '012Dn0000001AbC' ORDER BY" in soql_of(route.calls[0])
    assert [p.items for p in pages] == [()]


def test_iter_changed_feedback_turns_unmappable_rows_into_rejects(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    mock.get(QUERY).mock(return_value=httpx.Response(200, json=fixture("query_cases_with_bad.json")))

    (page,) = SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL)

    assert page.items == ()
    assert [r.record_id for r in page.rejects] == ["500Dn000004QaADIA0", "500Dn000004QaAEIA0"]
    assert "no Subject" in page.rejects[0].reason
    assert page.cursor is None


def test_iter_changed_feedback_raises_when_a_locator_repeats(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    looping = {**fixture("query_cases_page1.json")}
    mock.get(QUERY).mock(return_value=httpx.Response(200, json=looping))
    mock.get(f"{QUERY}/01gDn000001ZxYzIAK-2000").mock(return_value=httpx.Response(200, json=looping))

    with pytest.raises(PaginationLoopError):
        list(SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL))


def test_iter_changed_feedback_empty_window_sends_nothing(http: HttpClient, mock: respx.MockRouter) -> None:
    assert list(SalesforceCrm(http).iter_changed_feedback(SINCE, datetime(2024, 4, 1, tzinfo=UTC))) == []


def test_get_feedback_queries_ids_and_skips_malformed_ones(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.get(QUERY).mock(return_value=httpx.Response(200, json=fixture("query_cases_page2.json")))

    page = SalesforceCrm(http).get_feedback(["500Dn000004QaACIA0", "not-an-id'); DELETE"])

    assert soql_of(route.calls[0]) == f"SELECT {CASE_FIELDS} FROM Case WHERE Id IN ('500Dn000004QaACIA0')"  # noqa: S608
    assert [f.id for f in page.items] == ["500Dn000004QaACIA0"]
    assert page.cursor is None


def test_get_accounts_reads_owner_and_open_deal_sum_once(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.get(QUERY).mock(
        side_effect=[
            httpx.Response(200, json=fixture("query_accounts.json")),
            httpx.Response(200, json=fixture("query_open_deal_sums.json")),
        ]
    )
    crm = SalesforceCrm(http)
    unknown = "001Dn00000ZzZzZIAV"

    accounts = crm.get_accounts([ACCOUNT, unknown])
    again = crm.get_accounts([ACCOUNT, unknown])

    assert route.call_count == 2  # the second call is served from the run's cache
    assert soql_of(route.calls[0]) == (
        "SELECT Id, Name, SystemModstamp, OwnerId, Owner.Id, Owner.Email, Owner.Name, Customer_Tier__c, "  # noqa: S608
        f"AnnualRevenue FROM Account WHERE Id IN ('{ACCOUNT}', '{unknown}')"
    )
    assert soql_of(route.calls[1]) == (
        "SELECT AccountId, SUM(Amount) FROM Opportunity WHERE IsClosed = false "  # noqa: S608
        f"AND AccountId IN ('{ACCOUNT}', '{unknown}') GROUP BY AccountId"
    )
    acme = accounts[ACCOUNT]
    assert set(accounts) == {ACCOUNT}
    assert again == accounts
    assert acme.owner is not None
    assert (acme.owner.id, acme.owner.email, acme.owner.name) == (
        "005Dn000001AbCdIAK",
        "ana@example.com",
        "Ana Owner",
    )
    assert (acme.tier, acme.arr, acme.open_deal_value) == ("enterprise", 1_200_000.0, 250_000.0)


def test_iter_changed_accounts_reads_accounts_and_deal_changes_with_vendor_stamps(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    changed = {
        "totalSize": 1,
        "done": True,
        "records": [{"Id": ACCOUNT, "SystemModstamp": "2024-05-02T10:00:00.000+0000"}],
    }
    deals = {
        "totalSize": 1,
        "done": True,
        "records": [{"AccountId": ACCOUNT, "SystemModstamp": "2024-05-02T11:00:00.000+0000"}],
    }
    route = mock.get(QUERY).mock(
        side_effect=[
            httpx.Response(200, json=changed),
            httpx.Response(200, json=fixture("query_accounts.json")),
            httpx.Response(200, json=fixture("query_open_deal_sums.json")),
            httpx.Response(200, json=deals),
        ]
    )

    pages = list(SalesforceCrm(http).iter_changed_accounts(SINCE, UNTIL))

    assert soql_of(route.calls[0]) == (
        "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= 2024-05-01T00:00:00Z "
        "AND SystemModstamp <= 2024-05-03T00:00:00Z ORDER BY SystemModstamp, Id"
    )
    assert soql_of(route.calls[3]).endswith("AND AccountId != null ORDER BY SystemModstamp, Id")
    assert [[a.id for a in p.items] for p in pages] == [[ACCOUNT], [], []]  # the deal's account was seen
    assert pages[1].cursor == Cursor(datetime(2024, 5, 2, 10, tzinfo=UTC), "")
    assert pages[2].cursor == Cursor(datetime(2024, 5, 2, 11, tzinfo=UTC), "")


def test_request_limit_exceeded_is_throttling_and_retried(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.get(QUERY).mock(
        side_effect=[
            httpx.Response(403, json=fixture("error_request_limit.json")),
            httpx.Response(200, json=fixture("query_cases_page2.json")),
        ]
    )

    (page,) = SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL)

    assert route.call_count == 2
    assert len(page.items) == 1


def test_request_limit_exceeded_every_time_raises_rate_limited(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    route = mock.get(QUERY).mock(return_value=httpx.Response(403, json=fixture("error_request_limit.json")))

    with pytest.raises(RateLimitedError):
        list(SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL))
    assert route.call_count == 3


def test_invalid_session_raises_auth_error_without_retry(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.get(QUERY).mock(return_value=httpx.Response(401, json=fixture("error_invalid_session.json")))

    with pytest.raises(AuthError):
        list(SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL))
    assert route.call_count == 1


def test_other_403_is_an_auth_error(http: HttpClient, mock: respx.MockRouter) -> None:
    body = [{"message": "insufficient access rights on object id", "errorCode": "INSUFFICIENT_ACCESS"}]
    mock.get(QUERY).mock(return_value=httpx.Response(403, json=body))

    with pytest.raises(AuthError):
        SalesforceCrm(http).get_feedback(["500Dn000004QaACIA0"])


def test_query_without_records_is_malformed(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.get(QUERY).mock(return_value=httpx.Response(200, json={"done": True}))

    with pytest.raises(MalformedResponseError):
        list(SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL))


def test_every_page_of_a_pull_carries_when_its_first_query_was_answered(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    mock.get(QUERY).mock(
        return_value=httpx.Response(
            200, json=fixture("query_cases_page1.json"), headers={"Date": "Fri, 03 May 2024 00:05:00 GMT"}
        )
    )
    mock.get(f"{QUERY}/01gDn000001ZxYzIAK-2000").mock(
        return_value=httpx.Response(
            200, json=fixture("query_cases_page2.json"), headers={"Date": "Fri, 03 May 2024 00:09:00 GMT"}
        )
    )

    pages = list(SalesforceCrm(http).iter_changed_feedback(SINCE, UNTIL))

    assert [p.served_at for p in pages] == [datetime(2024, 5, 3, 0, 5, tzinfo=UTC)] * 2
