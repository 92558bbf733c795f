"""The CRM search semantics the HubSpot emulator implements, as pure functions over index entries.

https://developers.hubspot.com/docs/api/crm/search: filterGroups are ORed, filters inside a group are
ANDed; datetime values are epoch milliseconds; one sort rule; `limit` <= 200; at most 10,000 results
per query (`after` + `limit` beyond that is a 400); `after` is an offset and is omitted on the last page.

Syncs page by a range of `hs_lastmodifieddate`, sorted by it, so the index keeps its entries in that order
too: a query bounded on it reads only the entries in range, already sorted, instead of scanning them all.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_LIMIT = 200
RESULT_CAP = 10_000
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
MAX_IN_VALUES = 100  # values in one IN / NOT_IN filter
DATETIME_PROPERTIES = frozenset({"createdate", "hs_lastmodifieddate", "closedate", "hs_timestamp"})
NUMBER_PROPERTIES = frozenset({"hs_object_id", "annualrevenue", "amount", "numberofemployees"})
DEFAULT_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate"),
    "tickets": (
        "subject",
        "content",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
    ),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate"),
    "tasks": ("hs_task_subject", "hs_task_status", "hs_task_priority", "hs_timestamp", "hubspot_owner_id"),
    "notes": ("hs_note_body", "hs_timestamp", "hubspot_owner_id"),
}

Comparable = float | str
ORDERED_BY = "hs_lastmodifieddate"  # the property incremental syncs filter on and sort by


class SearchError(ValueError):
    """The request breaks a documented search rule; answered with HTTP 400."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One object as the search index holds it, with typed keys precomputed for filtering and sorting."""

    object_id: str
    props: dict[str, str | None]
    keys: dict[str, Comparable]


def comparable(name: str, value: Any) -> Comparable | None:
    """A property value as search compares it: datetimes as epoch ms, numbers as floats, text folded."""
    if value is None or value == "":
        return None
    text = str(value)
    if name in DATETIME_PROPERTIES:
        if text.lstrip("-").isdigit():
            return float(text)
        try:
            return datetime.fromisoformat(text).timestamp() * 1000
        except ValueError:
            return None
    if name in NUMBER_PROPERTIES:
        try:
            return float(text)
        except ValueError:
            return None
    return text.casefold()


def index_entry(object_id: str, props: Mapping[str, str | None]) -> Entry:
    snapshot = dict(props)
    keys = {n: k for n, v in snapshot.items() if (k := comparable(n, v)) is not None}
    return Entry(object_id, snapshot, keys)


Position = tuple[Comparable, int, str]  # (ORDERED_BY key, numeric id, id): the search sort order


class SearchIndex:
    """One object type's searchable entries, plus the positions of those with an `ORDERED_BY` key.

    The positions are sorted on the first search that needs them, then kept sorted entry by entry.
    """

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._order: list[Position] | None = None

    def put(self, entry: Entry) -> None:
        old = self._entries.get(entry.object_id)
        self._entries[entry.object_id] = entry
        if self._order is not None:
            if old is not None:
                self._unplace(old)
            if ORDERED_BY in entry.keys:
                insort(self._order, _position(entry))

    def discard(self, object_id: str) -> None:
        old = self._entries.pop(object_id, None)
        if old is not None:
            self._unplace(old)

    def get(self, object_id: str) -> Entry:
        return self._entries[object_id]

    def entries(self) -> Iterable[Entry]:
        return self._entries.values()

    def ordered(self) -> list[Position]:
        """Positions of the entries with an `ORDERED_BY` key, ascending."""
        if self._order is None:
            self._order = sorted(_position(e) for e in self._entries.values() if ORDERED_BY in e.keys)
        return self._order

    def _unplace(self, entry: Entry) -> None:
        if self._order is not None and ORDERED_BY in entry.keys:
            del self._order[bisect_left(self._order, _position(entry))]


def _position(entry: Entry) -> Position:
    return (entry.keys[ORDERED_BY], int(entry.object_id), entry.object_id)


_ORDERED: Mapping[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


Test = Callable[[Entry], bool]


def _compile(flt: Mapping[str, Any]) -> Test:
    """One filter as a test over entries, its value made comparable once per query (not per entry)."""
    name, operator = str(flt.get("propertyName", "")), str(flt.get("operator", "EQ"))
    if operator == "HAS_PROPERTY":
        return lambda e: e.keys.get(name) is not None
    if operator == "NOT_HAS_PROPERTY":
        return lambda e: e.keys.get(name) is None
    if operator in ("IN", "NOT_IN"):
        values = {comparable(name, v) for v in flt.get("values") or ()}
        inside = operator == "IN"
        return lambda e: (e.keys.get(name) in values) == inside
    if operator == "CONTAINS_TOKEN":
        token = str(flt.get("value", "")).casefold().strip("*")
        return lambda e: isinstance(actual := e.keys.get(name), str) and token in actual
    compare = _ORDERED.get(operator)
    if compare is None:
        raise SearchError(f"Unsupported operator: {operator}")
    wanted = comparable(name, flt.get("value"))
    if wanted is None:  # only NEQ matches, and only entries that have a value
        return lambda e: operator == "NEQ" and e.keys.get(name) is not None
    kind = type(wanted)

    def test(entry: Entry) -> bool:
        actual = entry.keys.get(name)
        if actual is None:
            return operator == "NEQ"
        return type(actual) is kind and compare(actual, wanted)

    return test


def _matcher(groups: list[list[Mapping[str, Any]]]) -> Test:
    """filterGroups are ORed, the filters of a group ANDed; no groups match everything."""
    compiled = [[_compile(f) for f in group] for group in groups]

    def matches(entry: Entry) -> bool:
        for group in compiled:
            for test in group:
                if not test(entry):
                    break
            else:
                return True
        return not compiled

    return matches


def _check_filters(groups: Any) -> list[list[Mapping[str, Any]]]:
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        raise SearchError(f"At most {MAX_GROUPS} filterGroups are allowed")
    out = [list(g.get("filters") or ()) for g in groups if isinstance(g, dict)]
    if any(len(f) > MAX_FILTERS_PER_GROUP for f in out) or sum(len(f) for f in out) > MAX_FILTERS:
        raise SearchError(f"At most {MAX_FILTERS_PER_GROUP} filters per group and {MAX_FILTERS} in total")
    for flt in (f for group in out for f in group):
        if isinstance(flt, Mapping) and len(flt.get("values") or ()) > MAX_IN_VALUES:
            raise SearchError(f"At most {MAX_IN_VALUES} values are allowed in one filter")
    return out


def _sort_key(name: str) -> Callable[[Entry], tuple[int, Comparable, int]]:
    def key(entry: Entry) -> tuple[int, Comparable, int]:
        value = entry.keys.get(name)
        # missing values sort last; ties fall back to the object id
        return (1, 0.0, int(entry.object_id)) if value is None else (0, value, int(entry.object_id))

    return key


def run_search(index: SearchIndex, body: Mapping[str, Any]) -> tuple[int, list[Entry], str | None]:
    """Filter, sort and page; returns (total, this page's entries, next `after` or None)."""
    limit, after = _paging(body)
    groups = _check_filters(body.get("filterGroups") or [])
    matches = _matcher(groups)  # compiles every filter: an unsupported one is refused on any path
    sorts = [s for s in body.get("sorts") or () if isinstance(s, dict)]
    rule = sorts[0] if sorts else {}  # HubSpot honours one sort rule
    name = str(rule["propertyName"]) if sorts else None
    descending = rule.get("direction") == "DESCENDING"
    end = after + limit
    window = _window(index.ordered(), groups[0]) if len(groups) == 1 else None
    if window is None:
        hits = [e for e in index.entries() if matches(e)]
    else:
        positions, rest = window
        if name == ORDERED_BY:  # the window is in the requested order already: no heap
            if descending:
                positions.reverse()
            if rest is None:  # nothing left to test: the total is the window's size
                page = [index.get(p[2]) for p in positions[after:end]]
                return len(positions), page, _next_after(end, len(positions))
            hits = [e for e in (index.get(p[2]) for p in positions) if rest(e)]
            return len(hits), hits[after:end], _next_after(end, len(hits))
        hits = [e for e in (index.get(p[2]) for p in positions) if rest is None or rest(e)]
    key = _by_id if name is None else _sort_key(name)
    # only the first `end` in order are needed: a heap, not a sort of every hit (keys are unique)
    pick = heapq.nlargest if descending else heapq.nsmallest
    return len(hits), pick(end, hits, key=key)[after:end], _next_after(end, len(hits))


def _next_after(end: int, total: int) -> str | None:
    return str(end) if end < total else None


def _paging(body: Mapping[str, Any]) -> tuple[int, int]:
    """(limit, after), refused beyond the documented page size and result cap."""
    try:
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
    except (TypeError, ValueError) as exc:
        raise SearchError("limit and after must be integers") from exc
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
    if after < 0 or after + limit > RESULT_CAP:
        raise SearchError(
            f"The offset and limit exceed the maximum of {RESULT_CAP} results for a search query"
        )
    return limit, after


# where the entries a comparison on ORDERED_BY keeps start (lower bounds) and stop (upper bounds)
_STARTS: Mapping[str, Callable[..., int]] = {"GT": bisect_right, "GTE": bisect_left, "EQ": bisect_left}
_STOPS: Mapping[str, Callable[..., int]] = {"LT": bisect_left, "LTE": bisect_right, "EQ": bisect_right}


def _window(
    order: list[Position], group: list[Mapping[str, Any]]
) -> tuple[list[Position], Test | None] | None:
    """The positions a filter group's comparisons on ORDERED_BY keep, and a test of its other filters.

    None when the group does not bound ORDERED_BY: every entry is then a candidate.
    """
    start, stop, rest, bounded = 0, len(order), [], False
    for flt in group:
        operator = str(flt.get("operator", "EQ"))
        wanted = _bound(flt, operator)
        if wanted is None:
            rest.append(flt)
            continue
        bounded = True
        if operator in _STARTS:
            start = max(start, _STARTS[operator](order, wanted, key=_rank))
        if operator in _STOPS:
            stop = min(stop, _STOPS[operator](order, wanted, key=_rank))
    if not bounded:
        return None
    return order[start:stop], (_matcher([rest]) if rest else None)


def _bound(flt: Mapping[str, Any], operator: str) -> float | None:
    """The value of a range comparison on ORDERED_BY (whose keys are all floats), else None."""
    if str(flt.get("propertyName", "")) != ORDERED_BY or operator not in ("GT", "GTE", "LT", "LTE", "EQ"):
        return None
    wanted = comparable(ORDERED_BY, flt.get("value"))
    return wanted if isinstance(wanted, float) else None


def _rank(position: Position) -> Comparable:
    return position[0]


def _by_id(entry: Entry) -> tuple[int, Comparable, int]:
    return (0, 0.0, int(entry.object_id))
