"""Building SOQL text: literals, `IN` lists, chunks. Pure.

https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
Datetime literals are unquoted ISO 8601 with a zone (`2024-05-01T00:00:00Z`); strings take `\\'` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")

IN_CHUNK = 200  # ids per `IN (...)`: matches the collections cap and keeps URLs far below 16k chars
_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"'}


def quote(value: str) -> str:
    """A SOQL string literal."""
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


def datetime_literal(stamp: datetime) -> str:
    """Whole seconds, UTC, `Z`: Salesforce stores datetimes at second resolution."""
    if stamp.tzinfo is None:
        raise ValueError("naive datetime")
    return f"{stamp.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def is_record_id(value: str) -> bool:
    """A 15- or 18-character Salesforce id; anything else in `Id IN (...)` fails the whole query."""
    return bool(_ID.fullmatch(value))


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def select(fields: Sequence[str], obj: str, where: Sequence[str] = (), tail: str = "") -> str:
    # S608: SOQL, not SQL; every value reaching `where` went through `quote`/`datetime_literal`
    text = f"SELECT {', '.join(fields)} FROM {obj}"  # noqa: S608
    if where:
        text += " WHERE " + " AND ".join(where)
    return f"{text} {tail}".rstrip()
