"""The HubSpot emulator's search answers exactly what a plain scan of every entry answers."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.hubspot.emulator_search import (
    Entry,
    SearchError,
    SearchIndex,
    _by_id,
    _check_filters,
    _matcher,
    _paging,
    _sort_key,
    index_entry,
    run_search,
)
from adapters.hubspot.emulator_wire import iso_ms

BASE_MS = 1_700_000_000_000
STAMPS = [BASE_MS + step * 250 for step in range(6)]  # few distinct times: many ties, broken by id
Answer = tuple[int, list[str], str | None]


def scan(entries: list[Entry], body: Mapping[str, Any]) -> Answer:
    """The reference: test every entry, then take the page from a heap over all hits."""
    limit, after = _paging(body)
    matches = _matcher(_check_filters(body.get("filterGroups") or []))
    hits = [e for e in entries if matches(e)]
    sorts = [s for s in body.get("sorts") or () if isinstance(s, dict)]
    rule = sorts[0] if sorts else {}
    key = _sort_key(str(rule["propertyName"])) if sorts else _by_id
    end = after + limit
    pick = heapq.nlargest if rule.get("direction") == "DESCENDING" else heapq.nsmallest
    page = pick(end, hits, key=key)[after:end]
    return len(hits), [e.object_id for e in page], (str(end) if end < len(hits) else None)


def indexed(index: SearchIndex, body: Mapping[str, Any]) -> Answer:
    total, page, after = run_search(index, body)
    return total, [e.object_id for e in page], after


def answer(search: Any, where: Any, body: Mapping[str, Any]) -> Answer | str:
    try:
        return search(where, body)  # type: ignore[no-any-return]
    except SearchError as exc:
        return f"400: {exc}"


stamps = st.sampled_from(STAMPS)
modified = st.one_of(stamps.map(iso_ms), stamps.map(str), st.sampled_from([None, "", "not a date"]))
props = st.fixed_dictionaries(
    {
        "hs_lastmodifieddate": modified,
        "subject": st.sampled_from(["Export", "export", "Dark mode", None]),
        "amount": st.sampled_from(["10", "250.5", "x", None]),
        "createdate": stamps.map(iso_ms),
    }
)
# (id, properties) writes and (id, None) deletes, applied in order; ids repeat to exercise moves
writes = st.lists(st.tuples(st.integers(1, 40), st.one_of(props, props, st.none())), min_size=1, max_size=60)

bound_value = st.one_of(
    stamps, stamps.map(lambda ms: ms + 1), stamps.map(iso_ms), stamps.map(str), st.just("garbage")
)
range_filter = st.fixed_dictionaries(
    {
        "propertyName": st.just("hs_lastmodifieddate"),
        "operator": st.sampled_from(["GT", "GTE", "LT", "LTE", "EQ", "NEQ"]),
        "value": bound_value,
    }
)
other_filter = st.one_of(
    st.fixed_dictionaries(
        {"propertyName": st.just("subject"), "operator": st.just("EQ"), "value": st.just("export")}
    ),
    st.fixed_dictionaries(
        {"propertyName": st.just("amount"), "operator": st.just("GT"), "value": st.just("100")}
    ),
    st.fixed_dictionaries(
        {
            "propertyName": st.sampled_from(["hs_lastmodifieddate", "subject"]),
            "operator": st.sampled_from(["HAS_PROPERTY", "NOT_HAS_PROPERTY"]),
        }
    ),
    st.fixed_dictionaries(
        {
            "propertyName": st.just("hs_lastmodifieddate"),
            "operator": st.just("IN"),
            "values": st.lists(stamps),
        }
    ),
)
# mostly range filters, mostly one group: the shape of a sync's queries, which the index answers itself
group = st.fixed_dictionaries(
    {"filters": st.lists(st.one_of(range_filter, range_filter, other_filter), min_size=1, max_size=4)}
)
groups = st.one_of(st.lists(group, min_size=1, max_size=1), st.lists(group, max_size=3))
sort = st.fixed_dictionaries(
    {
        "propertyName": st.sampled_from(["hs_lastmodifieddate", "createdate", "amount", "hs_object_id"]),
        "direction": st.sampled_from(["ASCENDING", "DESCENDING"]),
    }
)
bodies = st.fixed_dictionaries(
    {"filterGroups": groups, "limit": st.integers(1, 6), "after": st.integers(0, 12)},
    optional={"sorts": st.lists(sort, max_size=1)},
)


@settings(max_examples=600, deadline=None)
@given(writes, st.lists(bodies, min_size=1, max_size=4), st.integers(0, 60))
def test_run_search_matches_a_plain_scan(
    history: list[tuple[int, dict[str, str | None] | None]], queries: list[dict[str, Any]], first_search: int
) -> None:
    index = SearchIndex()
    for n, (number, properties) in enumerate(history):
        if n == first_search:
            index.ordered()  # from here on the order is kept up to date write by write
        object_id = str(number)
        if properties is None:
            index.discard(object_id)
        else:
            index.put(index_entry(object_id, {**properties, "hs_object_id": object_id}))
    entries = list(index.entries())
    for body in queries:
        assert answer(indexed, index, body) == answer(scan, entries, body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"limit": 201}, id="limit-over-200"),
        pytest.param({"limit": 100, "after": 9_950}, id="beyond-10k"),
        pytest.param(
            {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "NEAR"}]}]},
            id="unknown-operator",
        ),
    ],
)
def test_run_search_refuses_what_hubspot_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(SearchError):
        run_search(SearchIndex(), body)


def test_run_search_range_bounds_match_a_plain_scan() -> None:
    """Every pair of range filters on the indexed property, at and around each stored time."""
    index = SearchIndex()
    for number in range(1, 31):
        stamp = STAMPS[number % len(STAMPS)]
        modified = None if number % 7 == 0 else (iso_ms(stamp) if number % 2 else str(stamp))
        index.put(index_entry(str(number), {"hs_lastmodifieddate": modified, "amount": str(number)}))
    index.ordered()
    index.put(index_entry("3", {"hs_lastmodifieddate": str(STAMPS[-1]), "amount": "3"}))  # moves
    index.discard("4")
    values = [STAMPS[0] - 1, *STAMPS, STAMPS[2] + 1, STAMPS[-1] + 1]
    ranges = [
        {"propertyName": "hs_lastmodifieddate", "operator": operator, "value": str(value)}
        for operator in ("GT", "GTE", "LT", "LTE", "EQ")
        for value in values
    ]
    sorts = [
        [],
        *(
            [{"propertyName": p, "direction": d}]
            for p in ("hs_lastmodifieddate", "amount")
            for d in ("ASCENDING", "DESCENDING")
        ),
    ]
    entries = list(index.entries())
    for first, second, rule in itertools.product(ranges, [None, *ranges], sorts):
        filters = [first] if second is None else [first, second]
        body = {"filterGroups": [{"filters": filters}], "sorts": rule, "limit": 4, "after": 2}
        assert indexed(index, body) == scan(entries, body), body
