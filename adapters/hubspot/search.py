"""CRM search over one object type: modified-time windows that stay under the 10,000-result cap.

https://developers.hubspot.com/docs/api/crm/search: `after` is an offset, a query returns at most 10,000
results (asking beyond is HTTP 400), `limit` is at most 200, and searches are rate limited separately.
Also the small response helpers every HubSpot module shares.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import structlog

from adapters.errors import MalformedResponseError
from adapters.http import HttpClient
from adapters.hubspot.records import parse_timestamp, to_epoch_ms
from adapters.paging import Prefetch, guard_tokens

log = structlog.get_logger("syncer.hubspot")

SEARCH_CAP = 10_000  # search returns at most 10,000 results per query; asking beyond is HTTP 400
MAX_SEARCH_LIMIT = 200
MODIFIED = "hs_lastmodifieddate"

T = TypeVar("T")
Raw = dict[str, Any]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def results(body: Any, what: str) -> list[Raw]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise MalformedResponseError(f"hubspot {what}: response has no results list")
    return [r for r in body["results"] if isinstance(r, dict)]


def next_after(body: Mapping[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


class CrmSearch:
    """`POST /crm/v3/objects/{object_type}/search` for one object type and property list."""

    def __init__(self, http: HttpClient, object_type: str, properties: Sequence[str], limit: int) -> None:
        self._http = http
        self._path = f"/crm/v3/objects/{object_type}/search"
        self._properties = list(properties)
        self._limit = max(1, min(limit, MAX_SEARCH_LIMIT))
        self.window_total: int | None = None
        # HubSpot's clock when the first query of the latest `iter_modified` was answered (see Page)
        self.first_served_at: datetime | None = None

    def iter_modified(self, low: int, high: int) -> Generator[list[Raw], None, None]:
        """Records modified in `[low, high]` ms, ascending, each once.

        Pages by keyset, not by offset: every page is a fresh query from the last stamp seen, skipping
        the records already returned at that stamp. An offset shifts when a record is edited while we
        page (it leaves the window or moves to its end) and the record that slides into the gap is
        never returned; and a query that never pages past `limit` never meets the 10,000-result cap.
        """
        check = guard_tokens()
        lo, seen = low, set[str]()
        self.window_total = None
        self.first_served_at = None
        if lo > high:
            return

        def ask(start: int) -> Prefetch[tuple[Raw, datetime | None]]:
            return Prefetch(partial(self._post_dated, self._window_body(start, high, None)))

        body, self.first_served_at = ask(lo).result()
        while True:
            found = results(body, "search")
            if self.window_total is None and isinstance(body.get("total"), int):
                self.window_total = body["total"]  # the first query's total: the whole window
            fresh = [r for r in found if _id(r) not in seen]
            if next_after(body) is None or not found:
                if fresh:
                    yield fresh
                return
            first, last = to_epoch_ms(_stamp(found[0])), to_epoch_ms(_stamp(found[-1]))
            if first == last:  # a whole page shares one stamp (a bulk job): page that millisecond by id
                if fresh:
                    yield fresh
                yield from self._iter_one_millisecond(last, seen | {_id(r) for r in found})
                lo, seen = last + 1, set()
                check(lo)
                if lo > high:
                    return
                answer = ask(lo)
            else:
                lo, seen = last, {_id(r) for r in found if to_epoch_ms(_stamp(r)) == last}
                check(lo)
                answer = ask(lo)  # the next page is asked for now and read while the caller stores this one
                if fresh:
                    yield fresh
            body, _ = answer.result()

    def iter_matching(self, filters: list[Raw]) -> Generator[list[Raw], None, None]:
        """Every record matching one filter group, by ascending id (small result sets: no cap handling)."""
        body = partial(self.body, filters, "hs_object_id")
        stopped = yield from self._iter_query(self.post(body(None)), body)
        if stopped is not None:
            raise MalformedResponseError(f"hubspot search {self._path}: more than {SEARCH_CAP} matches")

    def post(self, body: Raw) -> Raw:
        return self._post_dated(body)[0]

    def _post_dated(self, body: Raw) -> tuple[Raw, datetime | None]:
        response, served_at = self._http.request_json_dated(
            "POST", self._path, json_body=body, bucket="search", idempotent=True
        )
        if not isinstance(response, dict):
            raise MalformedResponseError("hubspot search: response is not an object")
        return response, served_at

    def body(self, filters: list[Raw], sort: str, after: str | None) -> Raw:
        out: Raw = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self._properties,
            "limit": self._limit,
        }
        if after is not None:
            out["after"] = after
        return out

    def _iter_one_millisecond(self, stamp: int, seen: set[str]) -> Generator[list[Raw], None, None]:
        """Every record modified at `stamp`, keyset-paged by id (fresh queries); `seen` ones are skipped."""
        check = guard_tokens()
        last_id: str | None = None
        while True:
            body = self.post(self._millisecond_body(stamp, last_id, None))
            found = results(body, "search")
            fresh = [r for r in found if _id(r) not in seen]
            if fresh:
                yield fresh
            if next_after(body) is None or not found:
                return
            last_id = _id(found[-1])
            check(last_id)

    def _iter_query(
        self, first: Raw, body: Callable[[str | None], Raw]
    ) -> Generator[list[Raw], None, Raw | None]:
        """Page one query via `after`; returns the last record if the cap stopped us, else None."""
        check = guard_tokens()
        page, fetched = first, 0
        while True:
            found = results(page, "search")
            if found:
                yield found
            fetched += len(found)
            after = next_after(page)
            if after is None or not found:
                return None
            if fetched + self._limit > SEARCH_CAP:
                return found[-1]
            check(after)
            page = self.post(body(after))

    def _window_body(self, low: int, high: int, after: str | None) -> Raw:
        filters = [
            {"propertyName": MODIFIED, "operator": "GTE", "value": str(low)},
            {"propertyName": MODIFIED, "operator": "LTE", "value": str(high)},
        ]
        return self.body(filters, MODIFIED, after)

    def _millisecond_body(self, stamp: int, after_id: str | None, after: str | None) -> Raw:
        filters: list[Raw] = [{"propertyName": MODIFIED, "operator": "EQ", "value": str(stamp)}]
        if after_id is not None:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": after_id})
        return self.body(filters, "hs_object_id", after)


def _id(raw: Mapping[str, Any]) -> str:
    return str(raw.get("id", ""))


def _stamp(raw: Mapping[str, Any]) -> datetime:
    return parse_timestamp((raw.get("properties") or {}).get(MODIFIED) or raw.get("updatedAt"))
