"""Contract tests: owner alerts as HubSpot tasks or notes (batch create with associations, search by key)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.errors import AuthError, MalformedResponseError, TransientError
from adapters.http import HttpClient
from adapters.hubspot.client import HubSpotCrm, HubSpotSettings
from mappings.models import AlertEvent, Owner
from tests.factories import make_alert

BASE = "https://api.hubapi.com"
TASKS_CREATE = f"{BASE}/crm/v3/objects/tasks/batch/create"
NOTES_CREATE = f"{BASE}/crm/v3/objects/notes/batch/create"
TASKS_SEARCH = f"{BASE}/crm/v3/objects/tasks/search"
NOTES_SEARCH = f"{BASE}/crm/v3/objects/notes/search"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOW_MS = "1772443800000"


def body_of(call: Any) -> Any:
    return json.loads(call.request.content)


def crm(http: HttpClient, **settings: Any) -> HubSpotCrm:
    return HubSpotCrm(http, HubSpotSettings(**settings), clock=lambda: NOW)


def _created(request: httpx.Request, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Echo each input as created, newest first: HubSpot does not promise input order."""
    inputs = json.loads(request.content)["inputs"]
    return [
        {"id": str(50_000 + n), "properties": i["properties"], "objectWriteTraceId": i["objectWriteTraceId"]}
        for n, i in reversed(list(enumerate(inputs)))
        if i["objectWriteTraceId"] not in skip
    ]


def test_create_alerts_sends_tasks_with_owner_priority_key_and_associations(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    create = mock.post(TASKS_CREATE).mock(
        side_effect=lambda r: httpx.Response(201, json={"status": "COMPLETE", "results": _created(r)})
    )
    alerts = [
        make_alert(key="k-risk", event=AlertEvent.AT_RISK, account_id="5001", feedback_ids=("1001", "1002")),
        make_alert(key="k-ship", event=AlertEvent.RELEASED, account_id="5002", owner=None, feedback_ids=()),
    ]

    results = crm(http).create_alerts(alerts)

    assert [(r.ref, r.remote_id, r.error) for r in results] == [
        ("k-risk", "50000", None),
        ("k-ship", "50001", None),
    ]
    first, second = body_of(create.calls[0])["inputs"]
    assert first == {
        "properties": {
            "hs_timestamp": NOW_MS,
            "syncer_alert_key": "k-risk",
            "hubspot_owner_id": "o1",
            "hs_task_subject": "Shipped: 2.4 (Acme Corp)",
            "hs_task_body": "2.4 shipped.",
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
        },
        "associations": [
            {
                "to": {"id": "5001"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
            },
            {
                "to": {"id": "1001"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 230}],
            },
            {
                "to": {"id": "1002"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 230}],
            },
        ],
        "objectWriteTraceId": "k-risk",
    }
    assert "hubspot_owner_id" not in second["properties"]
    assert second["properties"]["hs_task_priority"] == "MEDIUM"
    assert [a["to"]["id"] for a in second["associations"]] == ["5002"]


def test_create_alerts_writes_notes_when_the_channel_is_note(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    create = mock.post(NOTES_CREATE).mock(
        side_effect=lambda r: httpx.Response(201, json={"status": "COMPLETE", "results": _created(r)})
    )
    alert = make_alert(
        key="k1", subject="Slipped: 2.4 <beta>", message="Moved\nby two weeks.", feedback_ids=("9",)
    )

    (result,) = crm(http, alert_channel="note", alert_key_property="sync_key").create_alerts([alert])

    (sent,) = body_of(create.calls[0])["inputs"]
    assert result.remote_id == "50000"
    assert sent["properties"] == {
        "hs_timestamp": NOW_MS,
        "sync_key": "k1",
        "hubspot_owner_id": "o1",
        "hs_note_body": "<p><strong>Slipped: 2.4 &lt;beta&gt;</strong></p><p>Moved<br>by two weeks.</p>",
    }
    assert [(a["to"]["id"], a["types"][0]["associationTypeId"]) for a in sent["associations"]] == [
        ("c1", 190),
        ("9", 228),
    ]


def test_create_alerts_maps_a_207_partial_failure_to_its_element(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        error = {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "Property values were not valid: hubspot_owner_id 42 is not a valid owner",
            "context": {"objectWriteTraceId": ["k2"]},
        }
        body = {"status": "COMPLETE", "results": _created(request, frozenset({"k2"})), "numErrors": 1}
        return httpx.Response(207, json={**body, "errors": [error]})

    mock.post(TASKS_CREATE).mock(side_effect=answer)
    alerts = [make_alert(key=f"k{n}") for n in (1, 2, 3)]

    results = crm(http).create_alerts(alerts)

    assert [r.ref for r in results] == ["k1", "k2", "k3"]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None
    assert "not a valid owner" in results[1].error
    assert results[1].remote_id is None


def test_create_alerts_blames_untraced_207_errors_on_the_missing_elements(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    error = {"status": "error", "category": "VALIDATION_ERROR", "message": "bad association", "context": {}}
    mock.post(TASKS_CREATE).mock(
        side_effect=lambda r: httpx.Response(
            207, json={"status": "COMPLETE", "results": _created(r, frozenset({"k1"})), "errors": [error]}
        )
    )

    results = crm(http).create_alerts([make_alert(key="k1"), make_alert(key="k2")])

    assert [(r.ok, r.remote_id) for r in results] == [(False, None), (True, "50001")]


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(502, json={"message": "Bad gateway"}), id="5xx"),
        pytest.param(httpx.Response(201, content=b'{"results": [ trunc'), id="malformed"),
        pytest.param(httpx.Response(201, json={"status": "COMPLETE", "results": []}), id="element-missing"),
    ],
)
def test_create_alerts_raises_when_the_outcome_is_unknown(
    http: HttpClient, mock: respx.MockRouter, response: httpx.Response
) -> None:
    create = mock.post(TASKS_CREATE).mock(return_value=response)

    with pytest.raises(TransientError):
        crm(http).create_alerts([make_alert(key="k1")])
    assert create.call_count == 1  # a create is never retried blindly


def test_create_alerts_raises_malformed_when_an_element_is_unaccounted_for(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    mock.post(TASKS_CREATE).mock(
        return_value=httpx.Response(
            201, json={"status": "COMPLETE", "results": [{"id": "1", "properties": {}}]}
        )
    )
    with pytest.raises(MalformedResponseError, match="k1"):
        crm(http).create_alerts([make_alert(key="k1")])


def test_create_alerts_fails_every_element_of_a_refused_batch(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    refusal = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property syncer_alert_key does not exist",
    }
    create = mock.post(TASKS_CREATE).mock(return_value=httpx.Response(400, json=refusal))
    alerts = [make_alert(key=f"k{n}", owner=Owner(id=str(n))) for n in range(150)]

    results = crm(http).create_alerts(alerts)

    assert [len(body_of(c)["inputs"]) for c in create.calls] == [100, 50]
    assert [r.ref for r in results] == [a.key for a in alerts]
    assert all(r.error is not None and "does not exist" in r.error for r in results)


def test_create_alerts_401_raises_auth_error(http: HttpClient, mock: respx.MockRouter) -> None:
    mock.post(TASKS_CREATE).mock(
        return_value=httpx.Response(401, json={"category": "INVALID_AUTHENTICATION"})
    )
    with pytest.raises(AuthError):
        crm(http).create_alerts([make_alert()])


def test_find_alerts_chunks_keys_by_the_in_limit_and_maps_key_to_id(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        values = json.loads(request.content)["filterGroups"][0]["filters"][0]["values"]
        hits = [
            {"id": str(90_000 + int(k[1:])), "properties": {"syncer_alert_key": k}}
            for k in values
            if int(k[1:]) % 50 == 0
        ]
        return httpx.Response(200, json={"total": len(hits), "results": hits})

    search = mock.post(TASKS_SEARCH).mock(side_effect=answer)
    keys = [f"k{n}" for n in range(250)] + ["k0", ""]

    found = crm(http).find_alerts(keys)

    assert found == {f"k{n}": str(90_000 + n) for n in range(0, 250, 50)}
    bodies = [body_of(c) for c in search.calls]
    assert [len(b["filterGroups"][0]["filters"][0]["values"]) for b in bodies] == [100, 100, 50]
    assert bodies[0]["filterGroups"][0]["filters"][0]["propertyName"] == "syncer_alert_key"
    assert bodies[0]["filterGroups"][0]["filters"][0]["operator"] == "IN"
    assert bodies[0]["properties"] == ["syncer_alert_key"]
    assert bodies[0]["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]


def test_find_alerts_pages_and_keeps_the_lowest_id_of_a_duplicated_key(
    http: HttpClient, mock: respx.MockRouter
) -> None:
    page1 = {
        "total": 3,
        "results": [{"id": "7", "properties": {"k": "a"}}],
        "paging": {"next": {"after": "1"}},
    }
    page2 = {
        "total": 3,
        "results": [{"id": "8", "properties": {"k": "a"}}, {"id": "9", "properties": {"k": "b"}}],
    }
    search = mock.post(NOTES_SEARCH).mock(
        side_effect=[httpx.Response(200, json=page1), httpx.Response(200, json=page2)]
    )

    found = crm(http, alert_channel="note", alert_key_property="k").find_alerts(["a", "b", "c"])

    assert found == {"a": "7", "b": "9"}
    assert body_of(search.calls[1])["after"] == "1"


def test_find_alerts_with_no_keys_sends_nothing(http: HttpClient) -> None:
    with respx.mock(assert_all_mocked=True):
        assert crm(http).find_alerts([]) == {}
