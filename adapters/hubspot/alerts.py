"""Alerts to account owners as HubSpot tasks (or notes), attached to the company and its feedback tickets.

Endpoints: `POST /crm/v3/objects/{tasks|notes}/batch/create` (<= 100 inputs, inline `associations`) and
`POST /crm/v3/objects/{tasks|notes}/search` to find alerts by their key property.
https://developers.hubspot.com/docs/api/crm/tasks, https://developers.hubspot.com/docs/api/crm/notes
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError
from adapters.http import HttpClient
from adapters.hubspot.records import to_epoch_ms
from adapters.hubspot.search import CrmSearch, Raw, chunks, results
from adapters.hubspot.settings import HubSpotSettings
from mappings.models import Alert, AlertEvent, WriteResult

log = structlog.get_logger("syncer.hubspot")

CREATE_BATCH_SIZE = 100
# HubSpot search takes at most 100 values in one IN filter (third-party connectors chunk at 100;
# HubSpot's search page does not state it: treat as unverified and keep it a constant)
IN_VALUES_LIMIT = 100
NOTE_BODY_LIMIT = 65_536
# HUBSPOT_DEFINED v4 association type ids (HubSpot's association type table, mirrored by the official
# SDKs' `AssociationType` enum: hubspot-api-client `hubspot/crm/association_type.py`)
ASSOCIATION_TYPE_IDS: Mapping[tuple[str, str], int] = {
    ("tasks", "companies"): 192,  # TASK_TO_COMPANY
    ("tasks", "tickets"): 230,  # TASK_TO_TICKET
    ("notes", "companies"): 190,  # NOTE_TO_COMPANY
    ("notes", "tickets"): 228,  # NOTE_TO_TICKET
}
URGENT_EVENTS = frozenset({AlertEvent.AT_RISK, AlertEvent.SLIPPED})


def alert_properties(alert: Alert, settings: HubSpotSettings, now_ms: int) -> dict[str, str]:
    """The task (or note) properties one alert is written as; pure."""
    props: dict[str, str] = {"hs_timestamp": str(now_ms), settings.alert_key_property: alert.key}
    if alert.owner is not None and alert.owner.id:
        props["hubspot_owner_id"] = alert.owner.id
    if settings.alert_channel == "note":
        props["hs_note_body"] = _note_body(alert)
        return props
    props.update(
        hs_task_subject=alert.subject,
        hs_task_body=alert.message,
        hs_task_status="NOT_STARTED",
        hs_task_priority="HIGH" if alert.event in URGENT_EVENTS else "MEDIUM",
    )
    return props


def alert_associations(alert: Alert, object_type: str) -> list[Raw]:
    """Inline associations: the account's company and every feedback ticket the alert is about."""
    targets = [("companies", alert.account_id)] + [("tickets", t) for t in dict.fromkeys(alert.feedback_ids)]
    return [
        {
            "to": {"id": target},
            "types": [
                {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": ASSOCIATION_TYPE_IDS[(object_type, to_type)],
                }
            ],
        }
        for to_type, target in targets
        if target
    ]


def _note_body(alert: Alert) -> str:
    message = html.escape(alert.message).replace("\n", "<br>")
    body = f"<p><strong>{html.escape(alert.subject)}</strong></p><p>{message}</p>"
    return body[:NOTE_BODY_LIMIT]


class HubSpotAlerts:
    """The AlertSink half of the HubSpot adapter; `HubSpotCrm` delegates to it."""

    system = "hubspot"

    def __init__(self, http: HttpClient, settings: HubSpotSettings, clock: Callable[[], datetime]) -> None:
        self._http, self._settings, self._clock = http, settings, clock
        self._object = settings.alert_object
        self._search = CrmSearch(http, self._object, [settings.alert_key_property], settings.page_size)

    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        """Alerts already in HubSpot, key -> task/note id (lowest id if a key was written twice).

        Search is fed by an index that lags writes by seconds, so a create from moments ago may be missing.
        """
        found: dict[str, str] = {}
        prop = self._settings.alert_key_property
        wanted = list(dict.fromkeys(k for k in keys if k))
        for chunk in chunks(wanted, IN_VALUES_LIMIT):
            filters = [{"propertyName": prop, "operator": "IN", "values": list(chunk)}]
            for page in self._search.iter_matching(filters):
                for raw in page:
                    key = (raw.get("properties") or {}).get(prop)
                    if key in chunk and raw.get("id") is not None:
                        found.setdefault(str(key), str(raw["id"]))
        return found

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        """One task/note per alert, 100 per batch create; results in input order, `ref` = key.

        Raises on a transient or ambiguous failure (nothing is known about what was created: the engine
        keeps the intents open and adopts by key); a definite refusal of a whole batch fails its elements.
        """
        out: list[WriteResult] = []
        for chunk in chunks(list(alerts), CREATE_BATCH_SIZE):
            out.extend(self._create_chunk(chunk))
        return out

    def _create_chunk(self, chunk: Sequence[Alert]) -> list[WriteResult]:
        now_ms = to_epoch_ms(self._clock())
        inputs = [
            {
                "properties": alert_properties(alert, self._settings, now_ms),
                "associations": alert_associations(alert, self._object),
                # echoed on results (and, we expect, in error contexts): correlates without relying on order
                "objectWriteTraceId": alert.key,
            }
            for alert in chunk
        ]
        path = f"/crm/v3/objects/{self._object}/batch/create"
        try:
            # never retried blindly: a create that timed out may have happened
            body = self._http.post_json(path, {"inputs": inputs}, idempotent=False)
        except AuthError:
            raise
        except PermanentError as exc:  # 4xx: HubSpot refused the whole batch, nothing was created
            log.warning("alerts.refused", system=self.system, count=len(chunk), reason=str(exc))
            return [WriteResult(ref=alert.key, error=str(exc)) for alert in chunk]
        if not isinstance(body, dict):
            raise MalformedResponseError("hubspot batch create: response is not an object")
        return self._match(chunk, body)

    def _match(self, chunk: Sequence[Alert], body: Mapping[str, Any]) -> list[WriteResult]:
        prop = self._settings.alert_key_property
        created: dict[str, str] = {}
        for raw in results(body, "batch create"):
            key = raw.get("objectWriteTraceId") or (raw.get("properties") or {}).get(prop)
            if key is not None and raw.get("id") is not None:
                created.setdefault(str(key), str(raw["id"]))
        traced, untraced = _errors(body)
        out: list[WriteResult] = []
        for alert in chunk:
            if alert.key in created:
                out.append(WriteResult(ref=alert.key, remote_id=created[alert.key]))
            elif alert.key in traced or untraced:
                out.append(WriteResult(ref=alert.key, error=traced.get(alert.key) or "; ".join(untraced)))
            else:  # neither created nor refused: we cannot tell what happened to it
                raise MalformedResponseError(f"hubspot batch create: alert {alert.key} missing from response")
        return out


def _errors(body: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """A 207's `errors[]`: messages by objectWriteTraceId, and the messages that name no element."""
    traced: dict[str, str] = {}
    untraced: list[str] = []
    for error in body.get("errors") or ():
        if not isinstance(error, Mapping):
            continue
        message = f"{error.get('category', 'ERROR')}: {error.get('message', '')}".strip()
        keys = (error.get("context") or {}).get("objectWriteTraceId") or ()
        for key in [keys] if isinstance(keys, str) else keys:
            traced[str(key)] = message
        if not keys:
            untraced.append(message)
    return traced, untraced
