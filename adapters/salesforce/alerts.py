"""Alerts to account owners as Salesforce Tasks, upserted by an External ID field holding `Alert.key`.

`PATCH /composite/sobjects/Task/{ExternalIdField}` (sObject Collections upsert, <= 200 records,
`allOrNone: false`, results in input order with `created`):
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm
Upsert makes a resend harmless (the same key updates the same Task), so the call is safe to retry.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date
from typing import Any

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError
from adapters.http import HttpClient
from adapters.salesforce.query import query_rows
from adapters.salesforce.records import result_error
from adapters.salesforce.settings import SalesforceSettings
from adapters.salesforce.soql import IN_CHUNK, chunks, in_list, select
from mappings.models import Alert, AlertEvent, WriteResult

log = structlog.get_logger("syncer.salesforce")

COLLECTION_LIMIT = 200
SUBJECT_LIMIT = 255
DESCRIPTION_LIMIT = 32_000
URGENT_EVENTS = frozenset({AlertEvent.AT_RISK, AlertEvent.SLIPPED})


def task_fields(alert: Alert, settings: SalesforceSettings, today: date) -> dict[str, Any]:
    """The Task one alert is written as (without `Id`: upsert matches on the external id); pure."""
    fields: dict[str, Any] = {
        "attributes": {"type": "Task"},
        settings.alert_key_field: alert.key,
        "WhatId": alert.account_id,
        "Subject": alert.subject[:SUBJECT_LIMIT],
        "Description": _description(alert)[:DESCRIPTION_LIMIT],
        "ActivityDate": today.isoformat(),
        "Status": "Not Started",
        "Priority": "High" if alert.event in URGENT_EVENTS else "Normal",
    }
    if alert.owner is not None and alert.owner.id:
        fields["OwnerId"] = alert.owner.id
    return fields


def _description(alert: Alert) -> str:
    # a Task has one WhatId (the account); the feedback records are named in the text instead
    if not alert.feedback_ids:
        return alert.message
    return f"{alert.message}\n\nFeedback: {', '.join(alert.feedback_ids)}"


class SalesforceAlerts:
    """The AlertSink half of the Salesforce adapter; `SalesforceCrm` delegates to it."""

    system = "salesforce"

    def __init__(self, http: HttpClient, settings: SalesforceSettings, today: Callable[[], date]) -> None:
        self._http, self._settings, self._today = http, settings, today

    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        """Tasks by alert key -> Task id (SOQL reads are consistent: no search-index lag)."""
        field = self._settings.alert_key_field
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(k for k in keys if k))
        for chunk in chunks(wanted, IN_CHUNK):
            soql = select(["Id", field], "Task", [f"{field} IN {in_list(chunk)}"], "ORDER BY Id")
            for row in query_rows(self._http, self._settings.base, soql):
                key, ident = row.get(field), row.get("Id")
                if isinstance(key, str) and key in chunk and isinstance(ident, str):
                    found.setdefault(key, ident)
        return found

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        """Upsert one Task per alert, 200 per call; results in input order, `ref` = key.

        Raises on a transient or ambiguous failure; a definite refusal of a whole call fails its elements.
        """
        latest = {alert.key: alert for alert in alerts}  # one key twice in a call is DUPLICATE_EXTERNAL_ID
        outcome: dict[str, WriteResult] = {}
        for chunk in chunks(list(latest.values()), COLLECTION_LIMIT):
            for result in self._upsert(chunk):
                outcome[result.ref] = result
        return [outcome[alert.key] for alert in alerts]

    def _upsert(self, chunk: Sequence[Alert]) -> list[WriteResult]:
        today = self._today()
        body = {"allOrNone": False, "records": [task_fields(a, self._settings, today) for a in chunk]}
        path = f"{self._settings.base}/composite/sobjects/Task/{self._settings.alert_key_field}"
        try:
            answer = self._http.patch_json(path, body)  # PATCH: retried, upsert by key is idempotent
        except AuthError:
            raise
        except PermanentError as exc:  # the whole call refused (bad field, bad body): nothing written
            log.warning("alerts.refused", system=self.system, count=len(chunk), reason=str(exc))
            return [WriteResult(ref=a.key, error=str(exc)) for a in chunk]
        if not isinstance(answer, list) or len(answer) != len(chunk):
            raise MalformedResponseError("salesforce task upsert: not one result per record")
        out: list[WriteResult] = []
        for alert, result in zip(chunk, answer, strict=True):
            if not isinstance(result, dict):
                raise MalformedResponseError("salesforce task upsert: result is not an object")
            error = result_error(result)
            ident = result.get("id")
            if error is None and not isinstance(ident, str):
                raise MalformedResponseError(f"salesforce task upsert: no id for alert {alert.key}")
            out.append(WriteResult(ref=alert.key, error=error, remote_id=ident if error is None else None))
        return out
