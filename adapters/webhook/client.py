"""A webhook alert sink: one POST per alert, Slack-compatible JSON.

A webhook cannot be searched, so `find_alerts` knows nothing: idempotency rests on the engine's
outbox. The alert key travels in the payload (`syncer.key`) so a receiver can drop a repeat after
an ambiguous failure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from adapters.errors import PermanentError
from adapters.http import HttpClient, RateLimit
from mappings.models import Alert, WriteResult

# Slack incoming webhooks allow about one message per second
RATE_LIMITS: Mapping[str, RateLimit] = {"default": RateLimit(rate=1.0, burst=3)}


def slack_payload(alert: Alert) -> dict[str, object]:
    owner = f" · owner: {alert.owner.name or alert.owner.email}" if alert.owner else ""
    return {
        "text": f"*{alert.subject}*{owner}\n{alert.message}",
        "syncer": {
            "key": alert.key,
            "event": alert.event.value,
            "account_id": alert.account_id,
            "milestone": alert.milestone_name,
            "due": alert.due.isoformat() if alert.due else None,
        },
    }


class WebhookAlerts:
    system = "webhook"

    def __init__(self, http: HttpClient, path: str = "") -> None:
        self._http, self._path = http, path

    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        return {}

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        results: list[WriteResult] = []
        for alert in alerts:
            try:
                self._http.request("POST", self._path, json_body=slack_payload(alert))
            except PermanentError as exc:  # e.g. 400 invalid_payload: this alert only
                results.append(WriteResult(ref=alert.key, error=str(exc)))
                continue
            results.append(WriteResult(ref=alert.key, remote_id=f"webhook:{alert.key}"))
        return results
