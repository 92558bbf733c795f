"""HubSpot CRM as a feedback source (tickets) and sink (backlog link written back onto tickets).

Endpoints (CRM v3 objects, v4 associations):
https://developers.hubspot.com/docs/api/crm/search
https://developers.hubspot.com/docs/api/crm/associations
Retries and rate limiting live in `adapters.http.HttpClient`; this module only shapes requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError
from adapters.http import HttpClient, RateLimit
from adapters.hubspot.records import (
    batch_errors,
    parse_timestamp,
    primary_association,
    to_account,
    to_epoch_ms,
    to_feedback,
    to_owner,
)
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from mappings.errors import MappingError
from mappings.models import Account, Cursor, Feedback, FeedbackLink, Owner, Urgency, WriteResult

log = structlog.get_logger("syncer.hubspot")

# Sized under HubSpot's published limits: 100 requests / 10 s burst on Free/Starter private apps,
# and 5 searches / s per account (https://developers.hubspot.com/docs/api/usage-details).
RATE_LIMITS: Mapping[str, RateLimit] = {
    "default": RateLimit(rate=9.0, burst=10),
    # burst 1: at most 1 + 4 = 5 searches in any one-second window, HubSpot's limit
    "search": RateLimit(rate=4.0, burst=1),
}

SEARCH_CAP = 10_000  # search returns at most 10,000 results per query; asking beyond is HTTP 400
MAX_SEARCH_LIMIT = 200
BATCH_SIZE = 100  # objects batch read/update
ASSOCIATION_BATCH_SIZE = 1000  # v4 associations batch read, since Feb 2025
OWNERS_PAGE = 100

TICKETS_SEARCH = "/crm/v3/objects/tickets/search"
TICKET_COMPANIES = "/crm/v4/associations/tickets/companies/batch/read"
COMPANIES_READ = "/crm/v3/objects/companies/batch/read"
TICKETS_UPDATE = "/crm/v3/objects/tickets/batch/update"
OWNERS = "/crm/v3/owners"

_DEFAULT_URGENCY: Mapping[str, Urgency] = {
    "LOW": Urgency.LOW,
    "MEDIUM": Urgency.MEDIUM,
    "HIGH": Urgency.HIGH,
    "URGENT": Urgency.CRITICAL,
}

T = TypeVar("T")
Raw = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HubSpotSettings:
    """Which ticket/company properties carry what; defaults match a stock HubSpot Service Hub."""

    portal_id: str = "0"
    category_property: str = "hs_ticket_category"
    pipeline_property: str = "hs_pipeline"
    urgency_property: str = "hs_ticket_priority"
    urgency_map: Mapping[str, Urgency] = field(default_factory=lambda: dict(_DEFAULT_URGENCY))
    group_hint_property: str | None = "feature_request_id"
    requested_by_property: str | None = None
    company_tier_property: str = "customer_tier"
    company_arr_property: str = "annualrevenue"
    backlog_key_property: str = "syncer_backlog_key"
    backlog_url_property: str = "syncer_backlog_url"
    backlog_status_property: str = "syncer_backlog_status"
    page_size: int = MAX_SEARCH_LIMIT

    def ticket_properties(self) -> list[str]:
        names = [
            "subject",
            "content",
            "hs_lastmodifieddate",
            "createdate",
            self.category_property,
            self.pipeline_property,
            self.urgency_property,
            self.group_hint_property,
            self.requested_by_property,
            self.backlog_key_property,
        ]
        return list(dict.fromkeys(n for n in names if n))

    def company_properties(self) -> list[str]:
        names = ["name", "hubspot_owner_id", self.company_tier_property, self.company_arr_property]
        return list(dict.fromkeys(names))


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _results(body: Any, what: str) -> list[Raw]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise MalformedResponseError(f"hubspot {what}: response has no results list")
    return [r for r in body["results"] if isinstance(r, dict)]


def _next_after(body: Mapping[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


class HubSpotCrm:
    """Tickets in, backlog links out. One instance per run: owners and companies are cached in it."""

    system = "hubspot"

    def __init__(self, http: HttpClient, settings: HubSpotSettings | None = None) -> None:
        self._http = http
        self._settings = settings or HubSpotSettings()
        self._limit = max(1, min(self._settings.page_size, MAX_SEARCH_LIMIT))
        self._owners: dict[str, Owner] | None = None
        self._companies: dict[str, Account | None] = {}

    # -- CrmSource --------------------------------------------------------------------------------
    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        """Tickets modified in `[since, until]` (ms), ascending by modified time, one Page per search page.

        Records at `since` itself are returned again: HubSpot's tie order is not our id order, so the
        engine dedupes the overlap by content hash rather than us guessing which ties were seen.
        """
        low, high = to_epoch_ms(since.updated_at), to_epoch_ms(until)
        if high < low:
            return
        for raws in self._iter_search_pages(low, high):
            yield self._to_page(raws)

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        """Companies (with owner) by id, batch-read 100 at a time; cached for the instance's life."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        missing = [i for i in wanted if i not in self._companies]
        for chunk in _chunks(missing, BATCH_SIZE):
            self._fetch_companies(chunk)
        return {i: acct for i in wanted if (acct := self._companies.get(i)) is not None}

    # -- CrmSink ----------------------------------------------------------------------------------
    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        """Write backlog key/url/status onto tickets, 100 per batch update; one result per link, in order."""
        latest = {link.feedback_id: link for link in links}  # HubSpot rejects duplicate ids in a batch
        outcome: dict[str, str | None] = {}
        for chunk in _chunks(list(latest.values()), BATCH_SIZE):
            outcome.update(self._update_chunk(chunk))
        return [WriteResult(ref=link.feedback_id, error=outcome.get(link.feedback_id)) for link in links]

    # -- search paging ----------------------------------------------------------------------------
    def _iter_search_pages(self, low: int, high: int) -> Generator[list[Raw], None, None]:
        """Windows over `[low, high]` ms, ascending; a window holding more than the cap is halved first."""
        windows = [(low, high)]
        while windows:
            lo, hi = windows.pop()
            first = self._search(self._window_body(lo, hi, None))
            total = first.get("total")
            if not isinstance(total, int):
                raise MalformedResponseError("hubspot search: response has no integer total")
            if total > SEARCH_CAP:
                if lo == hi:
                    yield from self._iter_one_millisecond(lo)
                else:
                    mid = (lo + hi) // 2
                    log.info("hubspot.window_split", low=lo, high=hi, total=total)
                    windows += [(mid + 1, hi), (lo, mid)]  # popped lower half first: stays ascending
                continue
            stopped = yield from self._iter_query(first, partial(self._window_body, lo, hi))
            if stopped is not None:
                # the window grew past the cap while we paged it: resume from the last stamp seen
                last = to_epoch_ms(_stamp(stopped))
                windows += [(last + 1, hi), (last, last)] if last == lo else [(last, hi)]

    def _iter_one_millisecond(self, stamp: int) -> Generator[list[Raw], None, None]:
        """More than the cap share one stamp (a bulk job): keyset by id, restarting before the cap."""
        last_id: str | None = None
        while True:
            body = partial(self._millisecond_body, stamp, last_id)
            stopped = yield from self._iter_query(self._search(body(None)), body)
            if stopped is None:
                return
            last_id = str(stopped["id"])

    def _iter_query(
        self, first: Raw, body: Callable[[str | None], Raw]
    ) -> Generator[list[Raw], None, Raw | None]:
        """Page one query via `after`; returns the last record if the cap stopped us, else None."""
        check = guard_tokens()
        page, fetched = first, 0
        while True:
            results = _results(page, "search")
            if results:
                yield results
            fetched += len(results)
            after = _next_after(page)
            if after is None or not results:
                return None
            if fetched + self._limit > SEARCH_CAP:
                return results[-1]
            check(after)
            page = self._search(body(after))

    def _search(self, body: Raw) -> Raw:
        response = self._http.post_json(TICKETS_SEARCH, body, bucket="search", idempotent=True)
        if not isinstance(response, dict):
            raise MalformedResponseError("hubspot search: response is not an object")
        return response

    def _query(self, filters: list[Raw], sort: str, after: str | None) -> Raw:
        body: Raw = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self._settings.ticket_properties(),
            "limit": self._limit,
        }
        if after is not None:
            body["after"] = after
        return body

    def _window_body(self, low: int, high: int, after: str | None) -> Raw:
        filters = [
            {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(low)},
            {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": str(high)},
        ]
        return self._query(filters, "hs_lastmodifieddate", after)

    def _millisecond_body(self, stamp: int, after_id: str | None, after: str | None) -> Raw:
        filters = [{"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": str(stamp)}]
        if after_id is not None:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": after_id})
        return self._query(filters, "hs_object_id", after)

    # -- mapping a page ---------------------------------------------------------------------------
    def _to_page(self, raws: list[Raw]) -> Page[Feedback]:
        ids = [str(raw.get("id", "")) for raw in raws]
        companies = self._ticket_companies([i for i in ids if i])
        items: list[Feedback] = []
        rejects: list[Reject] = []
        for ticket_id, raw in zip(ids, raws, strict=True):
            try:
                items.append(to_feedback(raw, companies.get(ticket_id), self._settings))
            except MappingError as exc:
                text = json.dumps(raw, ensure_ascii=False, default=str)[:2000]
                rejects.append(Reject(ticket_id, str(exc), text))
        if rejects:
            log.warning("feedback.rejected", system=self.system, count=len(rejects))
        return Page(tuple(items), cursor=max_cursor(items, None), rejects=tuple(rejects))

    def _ticket_companies(self, ticket_ids: Sequence[str]) -> dict[str, str]:
        """ticket id -> company id, one v4 batch read per 1,000 tickets; tickets without one are absent."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(ticket_ids)), ASSOCIATION_BATCH_SIZE):
            body = {"inputs": [{"id": i} for i in chunk]}
            # 207 multi-status lists tickets without companies under errors[]: nothing to do for those
            response = self._http.post_json(TICKET_COMPANIES, body, idempotent=True)
            for result in _results(response, "associations batch read"):
                company = primary_association(result)
                source = (result.get("from") or {}).get("id")
                if company is not None and source is not None:
                    found[str(source)] = company
        return found

    # -- accounts ---------------------------------------------------------------------------------
    def _fetch_companies(self, chunk: Sequence[str]) -> None:
        body = {"properties": self._settings.company_properties(), "inputs": [{"id": i} for i in chunk]}
        response = self._http.post_json(COMPANIES_READ, body, idempotent=True)  # 207 when some are unknown
        owners = self._get_owners()
        for raw in _results(response, "companies batch read"):
            try:
                account = to_account(raw, owners, self._settings)
            except MappingError as exc:
                log.warning("account.rejected", system=self.system, id=raw.get("id"), reason=str(exc))
                continue
            self._companies[account.id] = account
        for company_id in chunk:
            self._companies.setdefault(company_id, None)

    def _get_owners(self) -> Mapping[str, Owner]:
        if self._owners is None:
            owners: dict[str, Owner] = {}
            check = guard_tokens()
            params: dict[str, Any] = {"limit": OWNERS_PAGE}
            while True:
                body = self._http.get_json(OWNERS, params=params)
                for raw in _results(body, "owners"):
                    try:
                        owner = to_owner(raw)
                    except MappingError:
                        continue
                    owners[owner.id] = owner
                after = _next_after(body)
                if after is None:
                    break
                check(after)
                params = {"limit": OWNERS_PAGE, "after": after}
            self._owners = owners
        return self._owners

    # -- write back -------------------------------------------------------------------------------
    def _update_chunk(self, chunk: Sequence[FeedbackLink]) -> dict[str, str | None]:
        s = self._settings
        inputs = [
            {
                "id": link.feedback_id,
                "properties": {
                    s.backlog_key_property: link.backlog_key,
                    s.backlog_url_property: link.backlog_url,
                    s.backlog_status_property: link.status.value if link.status else "",
                },
            }
            for link in chunk
        ]
        try:
            # setting the same values twice is harmless, so the call may be retried
            body = self._http.post_json(TICKETS_UPDATE, {"inputs": inputs}, idempotent=True)
        except AuthError:
            raise
        except PermanentError as exc:  # HubSpot refuses the whole batch for one bad input
            return {link.feedback_id: str(exc) for link in chunk}
        if not isinstance(body, dict):
            raise MalformedResponseError("hubspot batch update: response is not an object")
        failed = batch_errors(body)
        updated = {str(r.get("id")) for r in _results(body, "batch update")}
        return {
            link.feedback_id: failed.get(link.feedback_id)
            or (None if link.feedback_id in updated else "not in the batch response")
            for link in chunk
        }


def _stamp(raw: Mapping[str, Any]) -> datetime:
    return parse_timestamp((raw.get("properties") or {}).get("hs_lastmodifieddate") or raw.get("updatedAt"))
