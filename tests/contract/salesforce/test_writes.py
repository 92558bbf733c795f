"""Contract tests: backlog links via sObject Collections update, alerts as Tasks upserted by external id."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest
import respx

from adapters.errors import AuthError, MalformedResponseError
from adapters.http import HttpClient
from adapters.salesforce.client import SalesforceCrm
from mappings.models import AlertEvent, FeedbackLink, ItemStatus, Owner
from tests.contract.salesforce.conftest import API, body_of, fixture, soql_of
from tests.factories import make_alert

COLLECTIONS = f"{API}/composite/sobjects"
TASK_UPSERT = f"{API}/composite/sobjects/Task/Syncer_Alert_Key__c"
NOW = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
ACCOUNT = "001Dn00000AbCdEIAV"


def crm(http: HttpClient) -> SalesforceCrm:
    return SalesforceCrm(http, clock=lambda: NOW)


def _ok(request: httpx.Request) -> httpx.Response:
    records = body_of_request(request)["records"]
    return httpx.Response(
        200, json=[{"id": r.get("id", "00T"), "success": True, "errors": []} for r in records]
    )


def body_of_request(request: httpx.Request) -> dict[str, list[dict[str, object]]]:
    return dict(json.loads(request.content))


def test_link_feedback_patches_collection_and_maps_per_record_results(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    route = mock.patch(COLLECTIONS).mock(
        return_value=httpx.Response(200, json=fixture("collections_update_partial.json"))
    )
    links = [
        FeedbackLink(
            feedback_id="500Dn000004QaAAIA0",
            backlog_key="PROD-12",
            backlog_url="https://acme.atlassian.net/browse/PROD-12",
            status=ItemStatus.IN_PROGRESS,
            milestone="2.4",
            due=date(2024, 7, 1),
        ),
        FeedbackLink(feedback_id="500Dn000004QaAZIA0", backlog_key="PROD-13"),
    ]

    results = crm(http).link_feedback(links)

    assert body_of(route.calls[0]) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Case"},
                "id": "500Dn000004QaAAIA0",
                "Syncer_Backlog_Key__c": "PROD-12",
                "Syncer_Backlog_Url__c": "https://acme.atlassian.net/browse/PROD-12",
                "Syncer_Backlog_Status__c": "in-progress",
                "Syncer_Milestone__c": "2.4",
                "Syncer_Milestone_Due__c": "2024-07-01",
            },
            {
                "attributes": {"type": "Case"},
                "id": "500Dn000004QaAZIA0",
                "Syncer_Backlog_Key__c": "PROD-13",
                "Syncer_Backlog_Url__c": None,
                "Syncer_Backlog_Status__c": None,
                "Syncer_Milestone__c": None,
                "Syncer_Milestone_Due__c": None,
            },
        ],
    }
    assert [(r.ref, r.ok) for r in results] == [("500Dn000004QaAAIA0", True), ("500Dn000004QaAZIA0", False)]
    assert results[1].error == "ENTITY_IS_DELETED: entity is deleted"


def test_link_feedback_sends_at_most_200_records_per_call(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.patch(COLLECTIONS).mock(side_effect=_ok)
    links = [FeedbackLink(feedback_id=f"500Dn00000{n:05d}IA0", backlog_key="PROD-1") for n in range(201)]

    results = crm(http).link_feedback(links)

    assert [len(body_of(c)["records"]) for c in route.calls] == [200, 1]
    assert all(r.ok for r in results)
    assert len(results) == 201


def test_link_feedback_whole_call_refused_fails_each_link(http: HttpClient, mock: respx.MockRouter) -> None:
    body = [
        {
            "message": "No such column 'Syncer_Backlog_Key__c' on sobject of type Case",
            "errorCode": "INVALID_FIELD",
        }
    ]
    mock.patch(COLLECTIONS).mock(return_value=httpx.Response(400, json=body))

    (result,) = crm(http).link_feedback([FeedbackLink(feedback_id="500Dn000004QaAAIA0", backlog_key="P-1")])

    assert not result.ok
    assert "INVALID_FIELD" in (result.error or "")


def test_link_feedback_result_count_mismatch_is_malformed(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.patch(COLLECTIONS).mock(return_value=httpx.Response(200, json=[]))

    with pytest.raises(MalformedResponseError):
        crm(http).link_feedback([FeedbackLink(feedback_id="500Dn000004QaAAIA0", backlog_key="P-1")])


def test_create_alerts_upserts_tasks_by_external_id(http: HttpClient, mock: respx.MockRouter) -> None:
    route = mock.patch(TASK_UPSERT).mock(
        return_value=httpx.Response(200, json=fixture("task_upsert_partial.json"))
    )
    risk = make_alert(
        key="al-risk",
        event=AlertEvent.AT_RISK,
        account_id=ACCOUNT,
        owner=Owner(id="005Dn000001AbCdIAK"),
        feedback_ids=("500Dn000004QaAAIA0",),
        subject="At risk: 2.4",
        message="2.4 moved past the promised date.",
    )
    released = make_alert(key="al-rel", account_id=ACCOUNT, owner=Owner(id="005Dn000001GoneIAK"))

    results = crm(http).create_alerts([risk, released])

    assert body_of(route.calls[0]) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Task"},
                "Syncer_Alert_Key__c": "al-risk",
                "WhatId": ACCOUNT,
                "Subject": "At risk: 2.4",
                "Description": "2.4 moved past the promised date.\n\nFeedback: 500Dn000004QaAAIA0",
                "ActivityDate": "2026-03-02",
                "Status": "Not Started",
                "Priority": "High",
                "OwnerId": "005Dn000001AbCdIAK",
            },
            {
                "attributes": {"type": "Task"},
                "Syncer_Alert_Key__c": "al-rel",
                "WhatId": ACCOUNT,
                "Subject": "Shipped: 2.4 (Acme Corp)",
                "Description": "2.4 shipped.",
                "ActivityDate": "2026-03-02",
                "Status": "Not Started",
                "Priority": "Normal",
                "OwnerId": "005Dn000001GoneIAK",
            },
        ],
    }
    assert (results[0].ref, results[0].remote_id, results[0].ok) == ("al-risk", "00TDn00000XyZ01IAF", True)
    assert results[1].ref == "al-rel"
    assert results[1].remote_id is None
    assert results[1].error == "INVALID_CROSS_REFERENCE_KEY: invalid cross reference id"


def test_create_alerts_retries_after_a_server_error_because_upsert_is_idempotent(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    ok = [{"id": "00TDn00000XyZ01IAF", "success": True, "errors": [], "created": False}]
    route = mock.patch(TASK_UPSERT).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=ok)])

    (result,) = crm(http).create_alerts([make_alert(key="al-1", account_id=ACCOUNT)])

    assert route.call_count == 2
    assert result.remote_id == "00TDn00000XyZ01IAF"


def test_create_alerts_auth_failure_raises(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.patch(TASK_UPSERT).mock(return_value=httpx.Response(401, json=fixture("error_invalid_session.json")))

    with pytest.raises(AuthError):
        crm(http).create_alerts([make_alert(account_id=ACCOUNT)])


def test_create_alerts_missing_id_on_success_is_malformed(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.patch(TASK_UPSERT).mock(return_value=httpx.Response(200, json=[{"success": True, "errors": []}]))

    with pytest.raises(MalformedResponseError):
        crm(http).create_alerts([make_alert(account_id=ACCOUNT)])


def test_find_alerts_queries_tasks_by_key(http: HttpClient, mock: respx.MockRouter) -> None:
    rows = {
        "totalSize": 1,
        "done": True,
        "records": [
            {"attributes": {"type": "Task"}, "Id": "00TDn00000XyZ01IAF", "Syncer_Alert_Key__c": "al-1"}
        ],
    }
    route = mock.get(f"{API}/query").mock(return_value=httpx.Response(200, json=rows))

    found = crm(http).find_alerts(["al-1", "al-'2"])

    assert soql_of(route.calls[0]) == (
        "SELECT Id, Syncer_Alert_Key__c FROM Task "
        "WHERE Syncer_Alert_Key__c IN ('al-1', 'al-\\'2') ORDER BY Id"
    )
    assert found == {"al-1": "00TDn00000XyZ01IAF"}
