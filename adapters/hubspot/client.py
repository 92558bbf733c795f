"""HubSpot CRM as a feedback source (tickets) and sink (backlog link written back onto tickets).

Endpoints (CRM v3 objects, v4 associations):
https://developers.hubspot.com/docs/api/crm/search
https://developers.hubspot.com/docs/api/crm/associations
Retries and rate limiting live in `adapters.http.HttpClient`; this module only shapes requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import chain, islice
from typing import TypeVar

import structlog

from adapters.errors import AuthError, MalformedResponseError, PermanentError
from adapters.http import HttpClient, RateLimit
from adapters.hubspot.accounts import HubSpotAccounts
from adapters.hubspot.alerts import HubSpotAlerts
from adapters.hubspot.reads import ASSOCIATION_BATCH_SIZE, BATCH_SIZE, read_associations, read_objects
from adapters.hubspot.records import (
    batch_errors,
    parse_timestamp,
    primary_association,
    to_epoch_ms,
    to_feedback,
)
from adapters.hubspot.search import MAX_SEARCH_LIMIT, CrmSearch, Raw, chunks, results
from adapters.hubspot.settings import HubSpotSettings as HubSpotSettings
from adapters.hubspot.versions import settings_fingerprint, stamp_version, ticket_version
from adapters.paging import KnownVersions, Page, Reject, max_cursor, nothing_known
from mappings.errors import MappingError
from mappings.models import Account, Alert, Cursor, Feedback, FeedbackLink, WriteResult

log = structlog.get_logger("syncer.hubspot")
S = TypeVar("S", bound=Sized)

# HubSpot's published limits, as moving windows (adapters.http.MovingWindow): 100 requests per rolling
# 10 s on Free/Starter private apps (searches included) and 5 searches per second per account
# (https://developers.hubspot.com/docs/api/usage-details). The vendor's own numbers, no margin: our
# windows count each request from the moment its answer arrived, never before HubSpot counted it
# (adapters/rate_limits.py). A new client cannot see what the previous run of the org sent just
# before: it assumes half the general window and the whole search window were used, evenly, so
# back-to-back runs stay under the limit too. (Shared Redis budgets keep a margin of their own.)
RATE_LIMITS: Mapping[str, RateLimit] = {
    "default": RateLimit.moving(100, 10.0, prior=50),
    "search": RateLimit.moving(5, 1.0, prior=5),
}

TICKETS_UPDATE = "/crm/v3/objects/tickets/batch/update"
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
        self._page_limit = max(1, min(size, MAX_SEARCH_LIMIT))  # what one search page holds at most
        self._tickets = CrmSearch(http, "tickets", self._settings.ticket_properties(), size)
        self._company_changes = CrmSearch(http, "companies", CHANGE_PROPERTIES, size)
        self._deal_changes = CrmSearch(http, "deals", CHANGE_PROPERTIES, size)
        self._alerts = HubSpotAlerts(http, self._settings, clock or (lambda: datetime.now(UTC)))
        self._known: KnownVersions = nothing_known
        s = self._settings
        self._salt = settings_fingerprint(s)
        self._accounts = HubSpotAccounts(http, s, lambda raw: stamp_version(raw, self._salt))
        self._written = (
            s.backlog_key_property,
            s.backlog_url_property,
            s.backlog_status_property,
            s.backlog_milestone_property,
            s.backlog_due_property,
        )

    def skip_known(self, known: KnownVersions) -> None:
        """Records `known` reports as processed at their current version are skipped from now on
        (before association and company reads); pages carry the versions of what they map."""
        self._known = known

    # -- CrmSource --------------------------------------------------------------------------------
    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        """Tickets modified in `[since, until]` (ms), ascending by modified time, one Page per search page.

        Records at `since` itself are returned again: HubSpot's tie order is not our id order, so the
        engine dedupes the overlap by content hash rather than us guessing which ties were seen.
        Tickets the `skip_known` filter reports at their current version (our write-back's echoes)
        are left out before the association read; they still move the page's cursor.
        """
        low, high = to_epoch_ms(since.updated_at), to_epoch_ms(until)
        if high < low:
            return
        searches = self._tickets
        first = True
        # the engine commits, and a backfill resumes, per search page (200), but tickets' companies
        # are read 1,000 per association read: search pages are read ahead up to 1,000 tickets, then
        # yielded one by one, each with its own cursor. The first page goes alone: it commits (and a
        # stop requested meanwhile is honoured) before the read-ahead starts.
        for group in _read_ahead(searches.iter_modified(low, high), self._page_limit, first_alone=True):
            for page in self._changed_pages(group, searches.first_served_at):
                yield replace(page, total=searches.window_total) if first else page
                first = False

    def _changed_pages(self, group: Sequence[list[Raw]], served_at: datetime | None) -> list[Page[Feedback]]:
        """One Page per search page of `group`, with one association read for all of their tickets."""
        versions = [
            {_id(r): ticket_version(r, self._written, self._salt) for r in raws if _id(r)} for raws in group
        ]
        everyone = {i: v for page in versions for i, v in page.items()}
        known = set(self._known("tickets", everyone))  # the echo filter: see hubspot/versions.py
        fresh = [[r for r in raws if _id(r) not in known] for raws in group]
        companies = self._ticket_companies([_id(r) for raws in fresh for r in raws if _id(r)])
        pages: list[Page[Feedback]] = []
        for raws, unmapped, page_versions in zip(group, fresh, versions, strict=True):
            page = self._to_page(unmapped, companies)
            pages.append(
                Page(
                    page.items,
                    _later(page.cursor, _raw_cursor(raws)),  # skipped records still move the cursor
                    page.rejects,
                    versions={
                        "tickets": {
                            fb.id: page_versions[fb.id] for fb in page.items if fb.id in page_versions
                        }
                    },
                    skipped=len(raws) - len(unmapped),
                    served_at=served_at,
                    more=len(pages) < len(group) - 1,
                )
            )
        return pages

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        """Companies (owner, open deal value) by id, 100 per batch read; cached for the instance's life."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        cache = self._accounts.companies
        self._accounts.fetch([i for i in wanted if i not in cache])
        return {i: acct for i in wanted if (acct := cache.get(i)) is not None}

    def hint_accounts(self, accounts: Mapping[str, Account]) -> None:
        """Account snapshots the engine holds; `get_accounts` then re-reads those companies cheaply."""
        self._accounts.hint(accounts)

    def get_feedback(self, ids: Collection[str]) -> Page[Feedback]:
        """Tickets by id (batch read, 100 per call), mapped like a search page; unknown ids are absent.

        Used to replay dead letters: a fix such as associating a company does not touch the ticket's
        modified time, so an incremental pull would never see it again.
        """
        raws = read_objects(self._http, "tickets", list(ids), self._settings.ticket_properties())
        page = self._to_page(list(raws.values()), self._ticket_companies(list(raws)))
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
        accounts, limit = self._accounts, self._page_limit
        searches = self._company_changes
        deal_search = (_batch(raws, self._salt) for raws in self._deal_changes.iter_modified(low, high))
        deals_read: list[_Batch] = []
        # companies are read 1,000 per association read: search batches are grouped up to that many
        # before any read, and each batch's cursor still comes after every account it covers
        for group in _read_ahead((_batch(r, self._salt) for r in searches.iter_modified(low, high)), limit):
            pages = accounts.fresh_batches(self._unknown("companies", group), seen)
            # the deal-change search depends on nothing read here: one of its pages per company page
            # now, while the company reads wait on the general budget and the search budget is idle,
            # instead of back to back later, waiting on the search budget with the general one idle
            deals_read.extend(islice(deal_search, len(group)))
            for batch, batch_pages in zip(group, pages, strict=True):
                yield from _stamped(batch_pages, batch, "companies", searches.first_served_at)
        # the pull began with the company search: its first answer bounds what both searches saw
        served_at = searches.first_served_at
        for group in _read_ahead(chain(deals_read, deal_search), limit):
            unknown = self._unknown("deals", group)
            changed = accounts.companies_of_deal_batches(
                [{d: b.versions[d] for d in ids} for b, ids in zip(group, unknown, strict=True)]
            )
            pages = accounts.fresh_batches(changed, seen)
            for batch, batch_pages in zip(group, pages, strict=True):
                yield from _stamped(batch_pages, batch, "deals", served_at)

    def _unknown(self, kind: str, group: Sequence[_Batch]) -> list[list[str]]:
        """Per batch of the group, the ids not processed at their version yet: one lookup for the
        whole group, as a search returns each record once; a record in two batches (edited while we
        paged) has a version per batch, so such a group is looked up batch by batch."""
        everyone: dict[str, str] = {}
        for batch in group:
            everyone.update(batch.versions)
        if len(everyone) == sum(len(batch) for batch in group):
            known = set(self._known(kind, everyone))
            return [[i for i in batch.versions if i not in known] for batch in group]
        unknown: list[list[str]] = []
        for batch in group:
            known = set(self._known(kind, batch.versions))
            unknown.append([i for i in batch.versions if i not in known])
        return unknown

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
    def _to_page(self, raws: list[Raw], companies: Mapping[str, str]) -> Page[Feedback]:
        """Map tickets; `companies` is ticket id -> company id (`_ticket_companies`)."""
        ids = [str(raw.get("id", "")) for raw in raws]
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


def _id(raw: Raw) -> str:
    return str(raw.get("id") or "")


def _raw_cursor(raws: Sequence[Raw]) -> Cursor | None:
    """The max `(stamp, id)` among raw search results (mapped or not)."""
    best: Cursor | None = None
    for raw in raws:
        value = (raw.get("properties") or {}).get("hs_lastmodifieddate") or raw.get("updatedAt")
        try:
            candidate = Cursor(parse_timestamp(value), _id(raw))
        except (MappingError, TypeError, ValueError):
            continue
        best = candidate if best is None or candidate > best else best
    return best


def _later(a: Cursor | None, b: Cursor | None) -> Cursor | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def _newest(raws: Sequence[Raw]) -> Cursor | None:
    newest: datetime | None = None
    for raw in raws:
        value = (raw.get("properties") or {}).get("hs_lastmodifieddate")
        try:
            stamp = parse_timestamp(value)
        except (MappingError, TypeError, ValueError):
            continue
        if newest is None or stamp > newest:
            newest = stamp
    return Cursor(newest, "") if newest is not None else None


def _batch(raws: Sequence[Raw], salt: str) -> _Batch:
    """A change search's page: the versions of its results and their newest stamp."""
    versions: dict[str, str] = {}
    for raw in raws:  # each result's id read once
        if ident := _id(raw):
            versions[ident] = stamp_version(raw, salt)
    return _Batch(versions, _newest(raws))


def _stamped(
    pages: Sequence[Page[Account]], batch: _Batch, kind: str, served_at: datetime | None
) -> Iterator[Page[Account]]:
    """Put the search batch's newest stamp and its versions on its last page (an empty page if all
    were seen already): both are saved only once every account of the batch is."""
    yield from pages[:-1]
    last = pages[-1].items if pages else ()
    yield Page(last, cursor=batch.newest, versions={kind: batch.versions}, served_at=served_at)


@dataclass(frozen=True, slots=True)
class _Batch:
    """One page of a company or deal change search, reduced to what the accounts stream needs."""

    versions: dict[str, str]  # id -> version of every result
    newest: Cursor | None  # the newest modification stamp among the results

    def __len__(self) -> int:
        return len(self.versions)


def _read_ahead(pages: Iterable[S], page_limit: int, *, first_alone: bool = False) -> Iterator[list[S]]:
    """Search pages in groups of at most ASSOCIATION_BATCH_SIZE records (5 full pages of 200): a group
    closes when one more full page would not fit. With `first_alone`, the first page is a group."""
    group: list[S] = []
    size = 0
    for page in pages:
        group.append(page)
        size += len(page)
        if size + page_limit > ASSOCIATION_BATCH_SIZE or first_alone:
            yield group
            group, size, first_alone = [], 0, False
    if group:
        yield group
