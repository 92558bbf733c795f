"""Jiandaoyun (简道云) open API v5 as a CRM: a feedback form in, write-back widgets and follow-up entries out.

Every call is `POST /api/v5/app/entry/data/<verb>` with a JSON body and `Authorization: Bearer <key>`.
`data/list` returns rows ordered by data id (not by update time): an incremental pull is a `range` filter
on `updateTime` walked with the `data_id` cursor, and only the last page of a pull proposes a cursor.
Throttling is HTTP 400 `{"code": 8303}` (not 429): `classify` maps it to RATE_LIMITED.
Retries and rate limiting live in `adapters.http.HttpClient`; this module only shapes requests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError
from adapters.http import ErrorKind, HttpClient, RateLimit, classify_status
from adapters.jiandaoyun.records import (
    SYSTEM,
    date_value,
    error_code,
    iso_ms,
    to_account,
    to_feedback,
)
from adapters.jiandaoyun.settings import JiandaoyunSettings as JiandaoyunSettings
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from mappings.errors import MappingError
from mappings.models import Account, Alert, Cursor, Feedback, FeedbackLink, WriteResult

__all__ = ["RATE_LIMITS", "JiandaoyunCrm", "JiandaoyunSettings", "classify"]

log = structlog.get_logger("syncer.jiandaoyun")

API = "/api/v5/app/entry/data"
PAGE_LIMIT = 100  # data/list: limit 1-100
BATCH_LIMIT = 100  # batch_create / batch_update: <= 100 rows
IN_LIMIT = 100  # `in` filter takes <= 200 values; 100 so one page holds every match
THROTTLE_CODES = frozenset({8303})
AUTH_CODES = frozenset({8301, 8302})  # (unverified) key invalid / no permission on the app
# 50 req/s per company and 10/s on batch endpoints; we keep headroom for the customer's other integrations
RATE_LIMITS: Mapping[str, RateLimit] = {
    "default": RateLimit(rate=20.0, burst=20),
    "batch": RateLimit(rate=8.0, burst=8),
}
_ALERT_NS = uuid.UUID("8f6b0c1e-3d2a-5b7c-9e4f-1a2b3c4d5e6f")

Raw = dict[str, Any]


def classify(response: httpx.Response) -> ErrorKind | None:
    """400 `{"code": 8303}` is throttling; auth codes on a 400 are auth; otherwise the status table."""
    if response.status_code == 400:
        try:
            code = error_code(response.json())
        except ValueError:
            code = None
        if code in THROTTLE_CODES:
            return ErrorKind.RATE_LIMITED
        if code in AUTH_CODES:
            return ErrorKind.AUTH
    return classify_status(response)


def transaction_id(keys: Sequence[str]) -> str:
    """A UUID derived from a batch's alert keys: a retried batch carries the same id."""
    return str(uuid.uuid5(_ALERT_NS, "\n".join(sorted(keys))))


def _wrap(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"value": value} for name, value in values.items()}


def _cond(field: str, method: str, value: list[Any], type_: str = "text") -> dict[str, Any]:
    return {"field": field, "type": type_, "method": method, "value": value}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class JiandaoyunCrm:
    """Feedback entries in; backlog links (per-row `data/update`) and follow-up entries out."""

    system = SYSTEM

    def __init__(self, http: HttpClient, settings: JiandaoyunSettings | None = None) -> None:
        self._http = http
        self._settings = settings or JiandaoyunSettings()
        self._accounts: dict[str, Account | None] = {}

    # -- CrmSource --------------------------------------------------------------------------------
    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        """Feedback with updateTime in `[since, until]`, walked by data id.

        Rows come in data-id order, so a page's newest stamp says nothing about the rows still to come:
        only the last page carries a cursor (the newest `(updateTime, _id)` of the whole pull).
        """
        if until < since.updated_at:
            return
        s = self._settings
        window = [_cond("updateTime", "range", [iso_ms(since.updated_at), iso_ms(until)], "datetime")]
        best: Cursor | None = None
        rows_iter = self._walk_dated(s.feedback_entry_id, s.feedback_fields(), window)
        pending: Page[Feedback] | None = None
        served_at: datetime | None = None
        for rows, served_at in rows_iter:
            page = self._feedback_page(rows)
            best = max_cursor(page.items, best)
            if pending is not None:
                yield Page(pending.items, cursor=None, rejects=pending.rejects, served_at=served_at)
            pending = page
        if pending is not None:
            yield Page(pending.items, cursor=best, rejects=pending.rejects, served_at=served_at)

    def get_feedback(self, ids: Collection[str]) -> Page[Feedback]:
        """Feedback by data id (`_id in`, 100 per query); unknown ids are absent."""
        s = self._settings
        rows: list[Raw] = []
        for chunk in _chunks(list(dict.fromkeys(str(i) for i in ids if i)), IN_LIMIT):
            for batch in self._walk(
                s.feedback_entry_id, s.feedback_fields(), [_cond("_id", "in", list(chunk))]
            ):
                rows.extend(batch)
        page = self._feedback_page(rows)
        return Page(page.items, cursor=None, rejects=page.rejects)

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        """Customers (owner member, tier, ARR, open-deal value) by data id; cached for the instance."""
        wanted = list(dict.fromkeys(str(i) for i in ids if i))
        missing = [i for i in wanted if i not in self._accounts]
        for chunk in _chunks(missing, IN_LIMIT):
            for account_id in chunk:
                self._accounts[account_id] = None
            self._store_accounts(
                self._list_all(
                    self._settings.customer_entry_id,
                    self._settings.customer_fields(),
                    [_cond("_id", "in", list(chunk))],
                )
            )
        return {i: acct for i in wanted if (acct := self._accounts.get(i)) is not None}

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        """Customers with updateTime in `[since, until]`; the open-deal value is a widget of the customer."""
        if until < since.updated_at:
            return
        s = self._settings
        window = [_cond("updateTime", "range", [iso_ms(since.updated_at), iso_ms(until)], "datetime")]
        best: Cursor | None = None
        served_at: datetime | None = None
        for rows, served_at in self._walk_dated(s.customer_entry_id, s.customer_fields(), window):
            accounts = self._store_accounts(rows)
            best = max_cursor(accounts, best)
            if accounts:
                yield Page(tuple(accounts), cursor=None, served_at=served_at)
        cursor = Cursor(best.updated_at, "") if best else None
        yield Page((), cursor=cursor, served_at=served_at)

    # -- CrmSink ----------------------------------------------------------------------------------
    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        """One `data/update` per row (values differ per row; batch_update sets the same values on all)."""
        latest = {link.feedback_id: link for link in links}
        outcome = {fid: self._update_one(link) for fid, link in latest.items()}
        return [WriteResult(ref=link.feedback_id, error=outcome[link.feedback_id]) for link in links]

    # -- AlertSink --------------------------------------------------------------------------------
    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        """Follow-up entries created earlier: alert key -> data id (`in` filter on the key widget)."""
        s = self._settings
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(k for k in keys if k)), IN_LIMIT):
            cond = [_cond(s.alert_key_field, "in", list(chunk))]
            for row in self._list_all(s.followup_entry_id, [s.alert_key_field], cond):
                key = row.get(s.alert_key_field)
                if isinstance(key, str) and key and isinstance(row.get("_id"), str):
                    found.setdefault(key, row["_id"])
        return found

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        """Follow-up entries via `batch_create` (100 per call), `transaction_id` = uuid5 of the keys."""
        latest = {alert.key: alert for alert in alerts}
        outcome: dict[str, WriteResult] = {}
        for chunk in _chunks(list(latest.values()), BATCH_LIMIT):
            outcome.update(self._create_chunk(chunk))
        return [outcome[alert.key] for alert in alerts]

    # -- internals --------------------------------------------------------------------------------
    def _post(self, verb: str, body: Mapping[str, Any], *, bucket: str = "default") -> Any:
        # every call is a POST; reads, same-value updates and transaction-id creates are safe to resend
        return self._http.post_json(f"{API}/{verb}", dict(body), bucket=bucket, idempotent=True)

    def _walk(self, entry_id: str, fields: list[str], cond: list[dict[str, Any]]) -> Iterator[list[Raw]]:
        return (rows for rows, _ in self._walk_dated(entry_id, fields, cond))

    def _walk_dated(
        self, entry_id: str, fields: list[str], cond: list[dict[str, Any]]
    ) -> Iterator[tuple[list[Raw], datetime | None]]:
        """Every page of `data/list`, following the `data_id` cursor until a short page, each with
        Jiandaoyun's clock when the walk's FIRST page was answered (see Page.served_at)."""
        check = guard_tokens()
        last = ""
        first_served: datetime | None = None
        while True:
            body: dict[str, Any] = {
                "app_id": self._settings.app_id,
                "entry_id": entry_id,
                "fields": fields,
                "filter": {"rel": "and", "cond": cond},
                "limit": PAGE_LIMIT,
            }
            if last:
                body["data_id"] = last
            answer, served_at = self._http.request_json_dated(
                "POST", f"{API}/list", json_body=body, idempotent=True
            )
            first_served = served_at if not last else first_served
            if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), list):
                raise MalformedResponseError("jiandaoyun data/list: response has no data list")
            rows = [r for r in answer["data"] if isinstance(r, dict)]
            if rows:
                yield rows, first_served
            if len(answer["data"]) < PAGE_LIMIT or not rows:
                return
            nxt = rows[-1].get("_id")
            if not isinstance(nxt, str) or not nxt:
                raise MalformedResponseError("jiandaoyun data/list: last row has no _id")
            check(nxt)
            last = nxt

    def _list_all(self, entry_id: str, fields: list[str], cond: list[dict[str, Any]]) -> list[Raw]:
        return [row for rows in self._walk(entry_id, fields, cond) for row in rows]

    def _feedback_page(self, rows: list[Raw]) -> Page[Feedback]:
        items: list[Feedback] = []
        rejects: list[Reject] = []
        for row in rows:
            try:
                items.append(to_feedback(row, self._settings))
            except MappingError as exc:
                raw = json.dumps(row, ensure_ascii=False, default=str)[:2000]
                rejects.append(Reject(str(row.get("_id") or ""), str(exc), raw))
        if rejects:
            log.warning("feedback.rejected", system=self.system, count=len(rejects))
        return Page(tuple(items), cursor=max_cursor(items, None), rejects=tuple(rejects))

    def _store_accounts(self, rows: list[Raw]) -> list[Account]:
        stored: list[Account] = []
        for row in rows:
            try:
                account = to_account(row, self._settings)
            except MappingError as exc:
                log.warning("account.rejected", system=self.system, id=row.get("_id"), reason=str(exc))
                continue
            self._accounts[account.id] = account
            stored.append(account)
        return stored

    def _update_one(self, link: FeedbackLink) -> str | None:
        s = self._settings
        values = {
            s.backlog_key_field: link.backlog_key,
            s.backlog_url_field: link.backlog_url or None,
            s.backlog_status_field: link.status.value if link.status else None,
            s.backlog_milestone_field: link.milestone or None,
            s.backlog_due_field: date_value(link.due),
        }
        body = {
            "app_id": s.app_id,
            "entry_id": s.feedback_entry_id,
            "data_id": link.feedback_id,
            "data": _wrap(values),
        }
        try:
            answer = self._post("update", body)
        except AuthError:
            raise
        except PermanentError as exc:  # unknown data id, a refused value: this row only
            return str(exc)
        if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), Mapping):
            raise MalformedResponseError("jiandaoyun data/update: response has no data object")
        return None

    def _alert_values(self, alert: Alert) -> dict[str, Any]:
        s = self._settings
        return {
            s.alert_title_field: alert.subject,
            s.alert_body_field: alert.message,
            s.alert_owner_field: alert.owner.id if alert.owner else None,  # member widgets take the username
            s.alert_customer_field: alert.account_id,
            s.alert_key_field: alert.key,
        }

    def _create_chunk(self, chunk: Sequence[Alert]) -> dict[str, WriteResult]:
        s = self._settings
        keys = [a.key for a in chunk]
        body = {
            "app_id": s.app_id,
            "entry_id": s.followup_entry_id,
            "data_list": [_wrap(self._alert_values(a)) for a in chunk],
            "transaction_id": transaction_id(keys),
            "is_start_workflow": False,
        }
        try:
            answer = self._post("batch_create", body, bucket="batch")
        except AuthError:
            raise
        except PermanentError as exc:
            # a replayed transaction may be refused: adopt what exists, report the rest as failed
            existing = self.find_alerts(keys)
            return {
                k: WriteResult(ref=k, remote_id=existing[k])
                if k in existing
                else WriteResult(ref=k, error=str(exc))
                for k in keys
            }
        ids = answer.get("success_ids") if isinstance(answer, Mapping) else None
        if isinstance(ids, list) and len(ids) == len(keys) and all(isinstance(i, str) for i in ids):
            return {k: WriteResult(ref=k, remote_id=i) for k, i in zip(keys, ids, strict=True)}
        existing = self.find_alerts(keys)  # a short answer: read back which rows landed
        return {
            k: WriteResult(ref=k, remote_id=existing[k])
            if k in existing
            else WriteResult(ref=k, error="jiandaoyun batch_create: row not created")
            for k in keys
        }
