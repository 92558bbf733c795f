"""Running SOQL: `GET /query?q=...`, then `nextRecordsUrl` until `done`.

https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
A batch holds up to 2,000 rows (the server may send fewer); a locator path looks like
`/services/data/v61.0/query/01gD0000002HU6KIAW-2000`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from adapters.errors import MalformedResponseError
from adapters.http import ErrorKind, HttpClient, classify_status
from adapters.paging import guard_tokens
from adapters.salesforce.records import error_codes

Raw = dict[str, Any]
THROTTLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})


def classify(response: httpx.Response) -> ErrorKind | None:
    """Salesforce throttles with 403 `REQUEST_LIMIT_EXCEEDED` (no 429, no Retry-After): rate limited."""
    if response.status_code == 403:
        try:
            body = response.json()
        except ValueError:
            body = None
        if error_codes(body) & THROTTLE_CODES:
            return ErrorKind.RATE_LIMITED
    return classify_status(response)


@dataclass(frozen=True, slots=True)
class Batch:
    rows: list[Raw]
    total: int | None
    # Salesforce's clock when the query was first answered (HTTP `Date`); the locator pages after it
    # read the result set fixed then (adapters.paging.Page.served_at)
    served_at: datetime | None = None


def iter_query(http: HttpClient, base: str, soql: str) -> Iterator[Batch]:
    """Every batch of one query, lazily; raises PaginationLoopError if a locator repeats."""
    check = guard_tokens()
    body, served_at = http.request_json_dated("GET", f"{base}/query", params={"q": soql})
    while True:
        rows, done, next_url, total = _batch(body)
        yield Batch(rows, total, served_at)
        if done or not next_url:
            return
        check(next_url)
        body = http.get_json(next_url)


def query_rows(http: HttpClient, base: str, soql: str) -> list[Raw]:
    return [row for batch in iter_query(http, base, soql) for row in batch.rows]


def _batch(body: object) -> tuple[list[Raw], bool, str | None, int | None]:
    if not isinstance(body, Mapping) or not isinstance(body.get("records"), list):
        raise MalformedResponseError("salesforce query: response has no records list")
    rows = [r for r in body["records"] if isinstance(r, dict)]
    next_url = body.get("nextRecordsUrl")
    total = body.get("totalSize")
    return (
        rows,
        body.get("done") is not False,
        next_url if isinstance(next_url, str) and next_url else None,
        total if isinstance(total, int) else None,
    )
