"""Reading vendor responses: JSON bodies (malformed ones named), the vendor's clock (`Date`),
Retry-After values, and URLs with their secrets redacted for logs. Used by `adapters.http` and, for
responses taken with `HttpClient.request`, by adapters (re-exported there)."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from adapters.errors import MalformedResponseError

SENSITIVE_PARAMS = frozenset(
    {"access_token", "token", "api_key", "apikey", "key", "client_secret", "password"}
)


def redacted_url(url: httpx.URL) -> str:
    """The URL with sensitive query values replaced, for logs."""
    params = [(k, "[redacted]" if k.lower() in SENSITIVE_PARAMS else v) for k, v in url.params.multi_items()]
    return str(url.copy_with(params=params)) if params else str(url)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def excerpt(response: httpx.Response, limit: int = 300) -> str:
    text = response.text
    return text if len(text) <= limit else text[:limit] + "…"


def decode_json(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except ValueError:
        pass  # e.g. NaN, a lone surrogate or not UTF-8: the standard decoder decides, as it always did
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponseError(
            f"{response.request.method} {response.request.url.path}: "
            f"body is not JSON: {excerpt(response, 120)}"
        ) from exc


def server_date(response: httpx.Response) -> datetime | None:
    """The vendor's clock (HTTP `Date`, whole seconds), or None when absent or unreadable."""
    header = response.headers.get("Date")
    if header:
        try:
            return email.utils.parsedate_to_datetime(header).astimezone(UTC)
        except (TypeError, ValueError):
            return None
    return None


def server_time(response: httpx.Response) -> datetime:
    """The vendor's clock (HTTP `Date`), not ours; falls back to now when the header is absent."""
    return server_date(response) or datetime.now(UTC)


def encode_json(body: Any) -> bytes | None:
    """A request body as httpx's `json=` encodes it (compact UTF-8), by orjson where it can: several
    times cheaper on a 100-record batch. What orjson refuses (an int beyond 64 bits, a non-str key)
    goes to the standard library, as httpx would send it; None is no body."""
    if body is None:
        return None
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def sorted_json(value: Any) -> bytes:
    """Canonical JSON of `value` for hashing: compact, keys sorted, UTF-8, anything not JSON as `str()`.
    orjson where it can (a feedback record's fields: ~5x cheaper than the standard library);
    what it refuses (an int beyond 64 bits, a non-str key) goes to the standard library in the same
    compact form. Deterministic: the same value always gives the same bytes."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(
            value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
        ).encode()


def loads_json(text: str | bytes) -> Any:
    """`json.loads(text)`, by orjson where it can (several times faster on a batch body); the stdlib
    reads what orjson refuses (the NaN or Infinity `json.dumps` writes), so such text parses, or
    fails, as it did. Unlike the stdlib, orjson reads an int beyond 64 bits as a float."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def json_body(response: httpx.Response, system: str, what: str) -> Any:
    """The JSON of a response obtained with `request` (e.g. one allowed through `allow=`)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponseError(
            f"{system}: {what} answered with a non-JSON body: {response.text[:120]}"
        ) from exc
