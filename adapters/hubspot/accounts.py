"""Companies as accounts: batch reads with their open deals, owners, and what changed since a cursor.

Request economy (issue 9): companies are read 100 per batch read but their deals' associations 1,000
per v4 read, so companies are fetched in groups of up to 1,000; every deal read while valuing a company
is remembered (deal -> company, deal -> stamp) so that the deal-change search of the same run needs no
association read for deals we already know, and re-reads no company whose deal we read at that stamp.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from adapters.http import HttpClient
from adapters.hubspot.reads import (
    ASSOCIATION_BATCH_SIZE,
    BATCH_SIZE,
    DEAL_PROPERTIES,
    iter_objects,
    read_associations,
)
from adapters.hubspot.records import associated_ids, open_deal_amount, open_deal_values, to_account, to_owner
from adapters.hubspot.search import Raw, chunks, next_after, results
from adapters.hubspot.settings import HubSpotSettings
from adapters.paging import Page, guard_tokens
from mappings.errors import MappingError
from mappings.models import Account, Owner

log = structlog.get_logger("syncer.hubspot")

OWNERS_PAGE = 100
OWNERS = "/crm/v3/owners"
COMPANIES_READ = "/crm/v3/objects/companies/batch/read"


class HubSpotAccounts:
    """Per-run caches of companies, owners and the deals read with them."""

    def __init__(self, http: HttpClient, settings: HubSpotSettings, stamp: Callable[[Raw], str]) -> None:
        self._http, self._settings, self._stamp = http, settings, stamp
        self.companies: dict[str, Account | None] = {}
        self._owners: dict[str, Owner] | None = None
        self._deal_company: dict[str, tuple[str, ...]] = {}
        self._deal_stamp: dict[str, str] = {}
        self._hints: dict[str, Account] = {}

    def hint(self, accounts: Mapping[str, Account]) -> None:
        """Snapshots the engine already holds (kept fresh by the account-change stream): reading one of
        these companies again takes only its batch read (it may have been deleted or edited); its open
        deal value, and its owner if unchanged, come from the snapshot."""
        self._hints.update(accounts)

    def fetch(self, company_ids: Sequence[str]) -> None:
        """(Re-)read these companies, up to 1,000 per association read, into `companies`."""
        for group in chunks(list(dict.fromkeys(company_ids)), ASSOCIATION_BATCH_SIZE):
            self._fetch_group(group)

    def fresh_batches(self, batches: Sequence[Sequence[str]], seen: set[str]) -> list[list[Page[Account]]]:
        """Re-read the companies not `seen` yet this run (even if cached: they changed), for several
        search batches at once: read together (up to 1,000 per association read, 100 per company and
        deal batch read, however the batches split them), they come back as each batch's own pages of
        at most 100 accounts, in batch order."""
        news: list[list[str]] = []
        for ids in batches:
            new = [c for c in dict.fromkeys(ids) if c not in seen]
            seen.update(new)
            news.append(new)
        everyone = [c for new in news for c in new]
        if self._hints:  # these changed: a snapshot's deal value may be stale
            for company_id in everyone:
                self._hints.pop(company_id, None)
        for group in chunks(everyone, ASSOCIATION_BATCH_SIZE):
            self._fetch_group(group)
        return [self._pages(new) for new in news]

    def _pages(self, company_ids: Sequence[str]) -> list[Page[Account]]:
        pages: list[Page[Account]] = []
        for chunk in chunks(company_ids, BATCH_SIZE):
            accounts = tuple(a for c in chunk if (a := self.companies.get(c)) is not None)
            if accounts:
                pages.append(Page(accounts, cursor=None))
        return pages

    def companies_of_deal_batches(self, batches: Sequence[Mapping[str, str]]) -> list[list[str]]:
        """Companies to re-read for each batch of deals (id -> stamp): none for a deal this run already
        read at that stamp; the cached association where we have one; one v4 read (per 1,000) for the
        deals of all batches whose company is not known yet."""
        changed = [[d for d, stamp in deals.items() if self._deal_stamp.get(d) != stamp] for deals in batches]
        unmapped = list(dict.fromkeys(d for ids in changed for d in ids if d not in self._deal_company))
        found = read_associations(self._http, "deals", "companies", unmapped) if unmapped else {}
        for deal, result in found.items():
            self._deal_company[deal] = associated_ids(result)
        return [list(dict.fromkeys(c for d in ids for c in self._deal_company.get(d, ()))) for ids in changed]

    def owners(self) -> Mapping[str, Owner]:
        """Every owner, read once per run and only when a company is read."""
        if self._owners is None:
            self._owners = self._read_owners()
        return self._owners

    def _fetch_group(self, group: Sequence[str]) -> None:
        raws: list[Raw] = []
        for chunk in chunks(group, BATCH_SIZE):
            body = {"properties": self._settings.company_properties(), "inputs": [{"id": i} for i in chunk]}
            response = self._http.post_json(COMPANIES_READ, body, idempotent=True)  # 207: some unknown
            raws.extend(results(response, "companies batch read"))
        ids = [str(r.get("id")) for r in raws]
        hints = {c: self._hints.pop(c) for c in group if c in self._hints}
        full = [i for i in ids if i not in hints]
        values = self._open_deal_values(full) if full else {}
        for company_id in group:
            self.companies[company_id] = None
        for company_id, raw in zip(ids, raws, strict=True):
            hint = hints.get(company_id)
            value = hint.open_deal_value if hint else values.get(company_id, 0.0)
            try:
                owners = self._owners_for(raw, hint)
                account = to_account(raw, owners, self._settings, open_deal_value=value)
            except MappingError as exc:
                log.warning("account.rejected", system="hubspot", id=raw.get("id"), reason=str(exc))
                continue
            self.companies[account.id] = account

    def _owners_for(self, raw: Raw, hint: Account | None) -> Mapping[str, Owner]:
        """The owners list, unless the snapshot already knows the company's (unchanged) owner."""
        owner_id = str((raw.get("properties") or {}).get("hubspot_owner_id") or "")
        if hint is not None and (not owner_id or (hint.owner is not None and hint.owner.id == owner_id)):
            return {owner_id: hint.owner} if hint.owner is not None and owner_id else {}
        return self.owners()

    def _open_deal_values(self, company_ids: Sequence[str]) -> dict[str, float]:
        links = {
            company: associated_ids(result)
            for company, result in read_associations(self._http, "companies", "deals", company_ids).items()
        }
        deal_ids = list(dict.fromkeys(d for targets in links.values() for d in targets))
        # each deal is reduced to its stamp and open amount as its batch read answers: a group's 1,000
        # deal records are not all held at once (they would outlive the young GC generations)
        stamps: dict[str, str] = {}
        amounts: dict[str, float] = {}
        for deal, raw in iter_objects(self._http, "deals", deal_ids, DEAL_PROPERTIES) if deal_ids else ():
            stamps[deal] = self._stamp(raw)
            if (amount := open_deal_amount(raw)) is not None:
                amounts[deal] = amount
            else:
                amounts.pop(deal, None)  # a record read twice: its last answer counts
        for company, targets in links.items():
            for deal in targets:
                owners = self._deal_company.get(deal, ())
                if company not in owners:
                    self._deal_company[deal] = (*owners, company)
        self._deal_stamp.update(stamps)
        values = open_deal_values(links, amounts)
        return {company: values.get(company, 0.0) for company in company_ids}

    def _read_owners(self) -> dict[str, Owner]:
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
                return owners
            check(after)
            params = {"limit": OWNERS_PAGE, "after": after}
