"""Salesforce as a feedback source (Cases), backlog-link sink (fields on the Case) and alert sink (Tasks).

REST API: SOQL `query` with `nextRecordsUrl`, and sObject Collections for writes.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
Retries and rate limiting live in `adapters.http.HttpClient` (with `classify` from `query.py`, since
Salesforce throttles with 403 REQUEST_LIMIT_EXCEEDED); this module only shapes requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError
from adapters.http import HttpClient, RateLimit
from adapters.paging import Page, Reject, max_cursor
from adapters.salesforce.alerts import COLLECTION_LIMIT, SalesforceAlerts
from adapters.salesforce.query import Raw, classify, iter_query, query_rows
from adapters.salesforce.records import deal_sums, parse_datetime, result_error, to_account, to_feedback
from adapters.salesforce.settings import SalesforceSettings as SalesforceSettings
from adapters.salesforce.soql import (
    IN_CHUNK,
    chunks,
    datetime_literal,
    in_list,
    is_record_id,
    quote,
    select,
)
from mappings.errors import MappingError
from mappings.models import Account, Alert, Cursor, Feedback, FeedbackLink, WriteResult

__all__ = ["RATE_LIMITS", "SalesforceCrm", "SalesforceSettings", "classify"]

log = structlog.get_logger("syncer.salesforce")

# Salesforce's allocation is org-wide per rolling 24 h (Enterprise: 100,000 + 1,000 per licence); we
# take a modest share so the customer's other integrations keep theirs. Override per org in config.
RATE_LIMITS: Mapping[str, RateLimit] = {"default": RateLimit(rate=5.0, burst=10)}


class SalesforceCrm:
    """Cases in; backlog links and owner Tasks out. One instance per run: accounts are cached."""

    system = "salesforce"

    def __init__(
        self,
        http: HttpClient,
        settings: SalesforceSettings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = http
        self._settings = settings or SalesforceSettings()
        self._instance = self._settings.instance_url or http.base_url
        now = clock or (lambda: datetime.now(UTC))
        self._alerts = SalesforceAlerts(http, self._settings, lambda: _today(now))
        self._accounts: dict[str, Account | None] = {}

    # -- CrmSource --------------------------------------------------------------------------------
    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        """Cases with SystemModstamp in `[since, until]` (whole seconds), ascending by (stamp, Id).

        Records at `since` itself come again: the engine dedupes the overlap by content hash.
        """
        if until < since.updated_at:
            return
        s = self._settings
        where = [
            f"SystemModstamp >= {datetime_literal(since.updated_at)}",
            f"SystemModstamp <= {datetime_literal(until)}",
        ]
        if s.record_type_id:
            where.append(f"RecordTypeId = {quote(s.record_type_id)}")
        soql = select(s.feedback_fields(), s.feedback_object, where, "ORDER BY SystemModstamp, Id")
        first = True
        for batch in iter_query(self._http, s.base, soql):
            page = replace(self._to_page(batch.rows), served_at=batch.served_at)
            if first:  # totalSize counts the whole query: a progress bar can show a total and an ETA
                page, first = replace(page, total=batch.total), False
            yield page

    def get_feedback(self, ids: Collection[str]) -> Page[Feedback]:
        """Cases by id (`Id IN`, 200 per query); unknown or malformed ids are absent."""
        s = self._settings
        rows: list[Raw] = []
        for chunk in chunks(_valid_ids(ids), IN_CHUNK):
            soql = select(s.feedback_fields(), s.feedback_object, [f"Id IN {in_list(chunk)}"])
            rows.extend(query_rows(self._http, s.base, soql))
        page = self._to_page(rows)
        return Page(page.items, cursor=None, rejects=page.rejects)

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        """Accounts with owner and open-opportunity value; cached for the instance's life."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        missing = [i for i in _valid_ids(wanted) if i not in self._accounts]
        for chunk in chunks(missing, IN_CHUNK):
            self._fetch_accounts(chunk)
        return {i: acct for i in wanted if (acct := self._accounts.get(i)) is not None}

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        """Accounts modified in `[since, until]`, then accounts whose Opportunities were; each once.

        Each query batch ends with a page whose cursor is the newest SystemModstamp in it (the vendor's
        clock). Deleted opportunities are not seen (they leave the query; `queryAll` would show them).
        """
        if until < since.updated_at:
            return
        window = [
            f"SystemModstamp >= {datetime_literal(since.updated_at)}",
            f"SystemModstamp <= {datetime_literal(until)}",
        ]
        base = self._settings.base
        seen: set[str] = set()
        served_at = None  # when the pull's first query (Accounts) was answered: see Page.served_at
        accounts = select(["Id", "SystemModstamp"], "Account", window, "ORDER BY SystemModstamp, Id")
        for batch in iter_query(self._http, base, accounts):
            served_at = batch.served_at  # the same on every batch of one query
            ids = [r["Id"] for r in batch.rows if isinstance(r.get("Id"), str)]
            yield from self._fresh_pages(ids, seen, _newest(batch.rows), served_at)
        deals = select(
            ["AccountId", "SystemModstamp"],
            "Opportunity",
            [*window, "AccountId != null"],
            "ORDER BY SystemModstamp, Id",
        )
        for batch in iter_query(self._http, base, deals):
            ids = [r["AccountId"] for r in batch.rows if isinstance(r.get("AccountId"), str)]
            yield from self._fresh_pages(ids, seen, _newest(batch.rows), served_at)

    # -- CrmSink ----------------------------------------------------------------------------------
    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        """Write backlog key/url/status/milestone/due onto Cases, 200 per collections PATCH."""
        latest = {link.feedback_id: link for link in links}  # an id twice in one call is refused
        outcome: dict[str, str | None] = {}
        for chunk in chunks(list(latest.values()), COLLECTION_LIMIT):
            outcome.update(self._update_chunk(chunk))
        return [WriteResult(ref=link.feedback_id, error=outcome[link.feedback_id]) for link in links]

    # -- AlertSink --------------------------------------------------------------------------------
    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        """Tasks created earlier, alert key -> Task id."""
        return self._alerts.find_alerts(keys)

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        """One Task per alert, upserted by its key (a resend updates, never duplicates)."""
        return self._alerts.create_alerts(alerts)

    # -- internals --------------------------------------------------------------------------------
    def _to_page(self, rows: list[Raw]) -> Page[Feedback]:
        items: list[Feedback] = []
        rejects: list[Reject] = []
        for row in rows:
            try:
                items.append(to_feedback(row, self._settings, self._instance))
            except MappingError as exc:
                text = json.dumps(row, ensure_ascii=False, default=str)[:2000]
                rejects.append(Reject(str(row.get("Id") or ""), str(exc), text))
        if rejects:
            log.warning("feedback.rejected", system=self.system, count=len(rejects))
        return Page(tuple(items), cursor=max_cursor(items, None), rejects=tuple(rejects))

    def _fresh_pages(
        self, account_ids: Sequence[str], seen: set[str], cursor: Cursor | None, served_at: datetime | None
    ) -> Iterator[Page[Account]]:
        new = [a for a in dict.fromkeys(account_ids) if a not in seen and is_record_id(a)]
        seen.update(new)
        for chunk in chunks(new, IN_CHUNK):
            self._fetch_accounts(chunk)  # re-read even if cached: these changed
            found = tuple(a for i in chunk if (a := self._accounts.get(i)) is not None)
            if found:
                yield Page(found, cursor=None, served_at=served_at)
        yield Page((), cursor=cursor, served_at=served_at)  # the batch is done: its newest stamp may be saved

    def _fetch_accounts(self, chunk: Sequence[str]) -> None:
        s = self._settings
        soql = select(s.account_fields(), "Account", [f"Id IN {in_list(chunk)}"])
        rows = query_rows(self._http, s.base, soql)
        sums = self._open_deal_values(chunk) if rows else {}
        for account_id in chunk:
            self._accounts[account_id] = None
        for row in rows:
            try:
                account = to_account(row, s, self._instance, sums.get(str(row.get("Id")), 0.0))
            except MappingError as exc:
                log.warning("account.rejected", system=self.system, id=row.get("Id"), reason=str(exc))
                continue
            self._accounts[account.id] = account

    def _open_deal_values(self, chunk: Sequence[str]) -> dict[str, float]:
        soql = select(
            ["AccountId", "SUM(Amount)"],
            "Opportunity",
            ["IsClosed = false", f"AccountId IN {in_list(chunk)}"],
            "GROUP BY AccountId",
        )
        return deal_sums(query_rows(self._http, self._settings.base, soql))

    def _update_chunk(self, chunk: Sequence[FeedbackLink]) -> dict[str, str | None]:
        body = {"allOrNone": False, "records": [self._link_record(link) for link in chunk]}
        try:
            # setting the same values twice is harmless: PATCH is retried by the client
            answer = self._http.patch_json(f"{self._settings.base}/composite/sobjects", body)
        except AuthError:
            raise
        except PermanentError as exc:  # the whole call refused (e.g. an unknown field): nothing written
            return {link.feedback_id: str(exc) for link in chunk}
        if not isinstance(answer, list) or len(answer) != len(chunk):
            raise MalformedResponseError("salesforce collections update: not one result per record")
        return {
            link.feedback_id: result_error(r) if isinstance(r, dict) else "result is not an object"
            for link, r in zip(chunk, answer, strict=True)
        }

    def _link_record(self, link: FeedbackLink) -> dict[str, Any]:
        s = self._settings
        # null clears a field; a Date field takes YYYY-MM-DD
        return {
            "attributes": {"type": s.feedback_object},
            "id": link.feedback_id,
            s.backlog_key_field: link.backlog_key,
            s.backlog_url_field: link.backlog_url or None,
            s.backlog_status_field: link.status.value if link.status else None,
            s.backlog_milestone_field: link.milestone or None,
            s.backlog_due_field: link.due.isoformat() if link.due else None,
        }


def _today(now: Callable[[], datetime]) -> date:
    return now().astimezone(UTC).date()


def _valid_ids(ids: Collection[str]) -> list[str]:
    # one malformed id in `Id IN (...)` fails the whole query (INVALID_QUERY_FILTER_OPERATOR)
    return [i for i in dict.fromkeys(str(x) for x in ids) if is_record_id(i)]


def _newest(rows: Sequence[Raw]) -> Cursor | None:
    stamps = []
    for row in rows:
        try:
            stamps.append(parse_datetime(row.get("SystemModstamp")))
        except MappingError:
            continue
    return Cursor(max(stamps), "") if stamps else None
