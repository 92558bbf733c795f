"""The script a user would write instead of syncer: sequential, one request per record, plain httpx.

List the tickets (100 per page, company association included), then GET each ticket and its company,
then one Jira issue per ticket (`POST /rest/api/3/issue`). Its incremental run re-reads everything and
compares with what it saw last time (a local snapshot: ticket id -> content hash, Jira key), updating
the changed issues (`PUT /rest/api/3/issue/{key}`). It does what any careful script does on 429: sleep
`Retry-After`, then try again. No batching, no search, no grouping of duplicate requests.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

TICKET_PROPERTIES = "subject,content,hs_ticket_category,hs_ticket_priority"


@dataclass
class NaivePass:
    """What one run did, as the script itself saw it."""

    records: int = 0
    created: int = 0
    updated: int = 0
    http_429: int = 0


@dataclass
class NaiveSync:
    """One user's script against one HubSpot portal and one Jira project; `seen` is its local state."""

    hub_url: str
    jira_url: str
    token: str
    jira_email: str = "bot@example.com"
    project: str = "PROD"
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)  # ticket id -> (hash, Jira key)

    def run(self) -> NaivePass:
        out = NaivePass()
        jira_auth = base64.b64encode(f"{self.jira_email}:{self.token}".encode()).decode()
        with (
            httpx.Client(base_url=self.hub_url, headers={"Authorization": f"Bearer {self.token}"}) as hub,
            httpx.Client(base_url=self.jira_url, headers={"Authorization": f"Basic {jira_auth}"}) as jira,
        ):
            for ticket_id, company_id in self._list(hub, out):
                self._sync_one(hub, jira, ticket_id, company_id, out)
        return out

    def _list(self, hub: httpx.Client, out: NaivePass) -> list[tuple[str, str | None]]:
        rows: list[tuple[str, str | None]] = []
        params: dict[str, Any] = {"limit": 100, "associations": "companies", "properties": "subject"}
        while True:
            body = _send(hub, out, "GET", "/crm/v4/objects/tickets", params=params)
            for row in body["results"]:
                links = (row.get("associations") or {}).get("companies", {}).get("results", [])
                rows.append((row["id"], links[0]["id"] if links else None))
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if after is None:
                return rows
            params["after"] = after

    def _sync_one(
        self, hub: httpx.Client, jira: httpx.Client, ticket_id: str, company_id: str | None, out: NaivePass
    ) -> None:
        path = f"/crm/v3/objects/tickets/{ticket_id}"
        ticket = _send(hub, out, "GET", path, params={"properties": TICKET_PROPERTIES})["properties"]
        company = "a prospect"
        if company_id is not None:
            company = _send(hub, out, "GET", f"/crm/v3/objects/companies/{company_id}")["properties"]["name"]
        out.records += 1
        fields = _issue_fields(ticket, company, self.project)
        digest = hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()
        known = self.seen.get(ticket_id)
        if known is None:
            created = _send(jira, out, "POST", "/rest/api/3/issue", json={"fields": fields})
            self.seen[ticket_id] = (digest, created["key"])
            out.created += 1
        elif known[0] != digest:
            update = {k: v for k, v in fields.items() if k not in ("project", "issuetype")}
            _send(jira, out, "PUT", f"/rest/api/3/issue/{known[1]}", json={"fields": update})
            self.seen[ticket_id] = (digest, known[1])
            out.updated += 1


def _issue_fields(ticket: dict[str, Any], company: str, project: str) -> dict[str, Any]:
    text = f"{ticket.get('content') or ''}\n\nRequested by {company}."
    return {
        "project": {"key": project},
        "issuetype": {"name": "Story"},
        "summary": " ".join(str(ticket.get("subject") or "Customer feedback").split())[:250],
        "description": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        },
        "labels": ["customer-feedback"],
    }


def _send(client: httpx.Client, out: NaivePass, method: str, path: str, **kwargs: Any) -> Any:
    """One request; on 429 sleep `Retry-After` and send it again, as a careful script would."""
    while True:
        response = client.request(method, path, **kwargs)
        if response.status_code != 429:
            response.raise_for_status()
            return response.json() if response.content else None
        out.http_429 += 1
        time.sleep(float(response.headers.get("Retry-After", "1")))
