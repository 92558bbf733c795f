"""HubSpot CRM as a feedback source (tickets) and sink (backlog link written back onto tickets).

Endpoints (CRM v3 objects, v4 associations):
https://developers.hubspot.com/docs/api/crm/search
https://developers.hubspot.com/docs/api/crm/associations
Retries and rate limiting live in `adapters.http.HttpClient`; this module only shapes requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError
from adapters.http import HttpClient, RateLimit
from adapters.hubspot.alerts import HubSpotAlerts
from adapters.hubspot.reads import (
    BATCH_SIZE,
    companies_of_deals,
    company_open_deal_values,
    read_associations,
    read_objects,
)
from adapters.hubspot.records import (
    batch_errors,
    parse_timestamp,
    primary_association,
    to_account,
    to_epoch_ms,
    to_feedback,
    to_owner,
)
from adapters.hubspot.search import CrmSearch, Raw, chunks, next_after, results
from adapters.hubspot.settings import HubSpotSettings as HubSpotSettings
from adapters.paging import Page, Reject, guard_tokens, max_cursor
from mappings.errors import MappingError
from mappings.models import Account, Alert, Cursor, Feedback, FeedbackLink, Owner, WriteResult

log = structlog.get_logger("syncer.hubspot")

# Sized under HubSpot's published limits: 100 requests / 10 s burst on Free/Starter private apps,
# and 5 searches / s per account (https://developers.hubspot.com/docs/api/usage-details).
RATE_LIMITS: Mapping[str, RateLimit] = {
    "default": RateLimit(rate=9.0, burst=10),
    # burst 1: at most 1 + 4 = 5 searches in any one-second window, HubSpot's limit
    "search": RateLimit(rate=4.0, burst=1),
}

OWNERS_PAGE = 100
COMPANIES_READ = "/crm/v3/objects/companies/batch/read"
TICKETS_UPDATE = "/crm/v3/objects/tickets/batch/update"
OWNERS = "/crm/v3/owners"
CHANGE_PROPERTIES = ("hs_lastmodifieddate", "hs_object_id")  # all an account-change search needs


class HubSpotCrm:
    """Tickets in; backlog links and owner alerts out. One instance per run: owners and companies cached."""

    system = "hubspot"

    def __init__(
        self,
        http: HttpClient,
        settings: HubSpotSettings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = http
        self._settings = settings or HubSpotSettings()
        size = self._settings.page_size
        self._tickets = CrmSearch(http, "tickets", self._settings.ticket_properties(), size)
        self._company_changes = CrmSearch(http, "companies", CHANGE_PROPERTIES, size)
        self._deal_changes = CrmSearch(http, "deals", CHANGE_PROPERTIES, size)
        self._alerts = HubSpotAlerts(http, self._settings, clock or (lambda: datetime.now(UTC)))
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
        first = True
        for raws in self._tickets.iter_modified(low, high):
            page = self._to_page(raws)
            if first:  # HubSpot search counts its matches: a progress bar can show a total and an ETA
                page, first = (
                    Page(page.items, page.cursor, page.rejects, total=self._tickets.window_total),
                    False,
                )
            yield page

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        """Companies (owner, open deal value) by id, 100 per batch read; cached for the instance's life."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        missing = [i for i in wanted if i not in self._companies]
        for chunk in chunks(missing, BATCH_SIZE):
            self._fetch_companies(chunk)
        return {i: acct for i in wanted if (acct := self._companies.get(i)) is not None}

    def get_feedback(self, ids: Collection[str]) -> Page[Feedback]:
        """Tickets by id (batch read, 100 per call), mapped like a search page; unknown ids are absent.

        Used to replay dead letters: a fix such as associating a company does not touch the ticket's
        modified time, so an incremental pull would never see it again.
        """
        raws = read_objects(self._http, "tickets", list(ids), self._settings.ticket_properties())
        page = self._to_page(list(raws.values()))
        return Page(page.items, cursor=None, rejects=page.rejects)

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        """Companies modified in `[since, until]`, then companies whose deals were; each once, freshly read.

        Pages hold at most 100 accounts; each carries as cursor the newest modification stamp (of a
        company or a deal, in HubSpot's clock) among the search results it covers, so the engine never
        needs our own clock for this stream. Deals deleted (archived) in the window are not seen: search
        does not return archived records.
        """
        low, high = to_epoch_ms(since.updated_at), to_epoch_ms(until)
        if high < low:
            return
        seen: set[str] = set()
        for raws in self._company_changes.iter_modified(low, high):
            ids = [str(r["id"]) for r in raws if r.get("id") is not None]
            yield from _stamped(self._fresh_pages(ids, seen), _newest(raws))
        for raws in self._deal_changes.iter_modified(low, high):
            deal_ids = [str(r["id"]) for r in raws if r.get("id") is not None]
            yield from _stamped(
                self._fresh_pages(companies_of_deals(self._http, deal_ids), seen), _newest(raws)
            )

    # -- CrmSink ----------------------------------------------------------------------------------
    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        """Write backlog key/url/status/milestone/due onto tickets, 100 per batch update; results in order."""
        latest = {link.feedback_id: link for link in links}  # HubSpot rejects duplicate ids in a batch
        outcome: dict[str, str | None] = {}
        for chunk in chunks(list(latest.values()), BATCH_SIZE):
            outcome.update(self._update_chunk(chunk))
        return [WriteResult(ref=link.feedback_id, error=outcome.get(link.feedback_id)) for link in links]

    # -- AlertSink --------------------------------------------------------------------------------
    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        """Alerts (tasks or notes) created earlier, key -> object id; search lags writes by seconds."""
        return self._alerts.find_alerts(keys)

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        """One task/note per alert on its company and tickets; raises when the outcome is unknown."""
        return self._alerts.create_alerts(alerts)

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
        found = read_associations(self._http, "tickets", "companies", ticket_ids)
        return {t: c for t, result in found.items() if (c := primary_association(result)) is not None}

    # -- accounts ---------------------------------------------------------------------------------
    def _fresh_pages(self, company_ids: Sequence[str], seen: set[str]) -> Iterator[Page[Account]]:
        new = [c for c in dict.fromkeys(company_ids) if c not in seen]
        seen.update(new)
        for chunk in chunks(new, BATCH_SIZE):
            self._fetch_companies(chunk)  # re-read even if cached: these changed
            accounts = tuple(a for c in chunk if (a := self._companies.get(c)) is not None)
            if accounts:
                yield Page(accounts, cursor=None)

    def _fetch_companies(self, chunk: Sequence[str]) -> None:
        body = {"properties": self._settings.company_properties(), "inputs": [{"id": i} for i in chunk]}
        response = self._http.post_json(COMPANIES_READ, body, idempotent=True)  # 207 when some are unknown
        raws = results(response, "companies batch read")
        owners = self._get_owners()
        deal_values = company_open_deal_values(self._http, [str(r.get("id")) for r in raws]) if raws else {}
        for company_id in chunk:
            self._companies[company_id] = None
        for raw in raws:
            value = deal_values.get(str(raw.get("id")), 0.0)
            try:
                account = to_account(raw, owners, self._settings, open_deal_value=value)
            except MappingError as exc:
                log.warning("account.rejected", system=self.system, id=raw.get("id"), reason=str(exc))
                continue
            self._companies[account.id] = account

    def _get_owners(self) -> Mapping[str, Owner]:
        if self._owners is None:
            owners: dict[str, Owner] = {}
            check = guard_tokens()
            params: dict[str, Any] = {"limit": OWNERS_PAGE}
            while True:
                body = self._http.get_json(OWNERS, params=params)
                for raw in results(body, "owners"):
                    try:
                        owner = to_owner(raw)
                    except MappingError:
                        continue
                    owners[owner.id] = owner
                after = next_after(body)
                if after is None:
                    break
                check(after)
                params = {"limit": OWNERS_PAGE, "after": after}
            self._owners = owners
        return self._owners

    # -- write back -------------------------------------------------------------------------------
    def _update_chunk(self, chunk: Sequence[FeedbackLink]) -> dict[str, str | None]:
        inputs = [{"id": link.feedback_id, "properties": self._link_properties(link)} for link in chunk]
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
        updated = {str(r.get("id")) for r in results(body, "batch update")}
        return {
            link.feedback_id: failed.get(link.feedback_id)
            or (None if link.feedback_id in updated else "not in the batch response")
            for link in chunk
        }

    def _link_properties(self, link: FeedbackLink) -> dict[str, str]:
        s = self._settings
        # "" clears a property; a date property takes YYYY-MM-DD
        return {
            s.backlog_key_property: link.backlog_key,
            s.backlog_url_property: link.backlog_url,
            s.backlog_status_property: link.status.value if link.status else "",
            s.backlog_milestone_property: link.milestone or "",
            s.backlog_due_property: link.due.isoformat() if link.due else "",
        }


def _newest(raws: Sequence[Raw]) -> Cursor | None:
    stamps = []
    for raw in raws:
        value = (raw.get("properties") or {}).get("hs_lastmodifieddate")
        try:
            stamps.append(parse_timestamp(value))
        except (MappingError, TypeError, ValueError):
            continue
    return Cursor(max(stamps), "") if stamps else None


def _stamped(pages: Iterator[Page[Account]], cursor: Cursor | None) -> Iterator[Page[Account]]:
    """Put the search batch's newest stamp on its last page (an empty page if all were seen already)."""
    previous: Page[Account] | None = None
    for page in pages:
        if previous is not None:
            yield previous
        previous = page
    yield Page(previous.items if previous else (), cursor=cursor)
