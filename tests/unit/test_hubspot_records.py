"""HubSpot record helpers: stamps (parsed once per result on the hot path, so pinned here) and deal values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.hubspot.records import (
    associated_ids,
    open_deal_amount,
    open_deal_values,
    parse_timestamp,
    to_epoch_ms,
)
from mappings.errors import MappingError

NOON = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2024-05-01T12:00:00.123Z", NOON, id="iso-z"),
        pytest.param("2024-05-01T14:00:00.123+02:00", NOON, id="iso-offset"),
        pytest.param("  2024-05-01T12:00:00.123Z\n", NOON, id="iso-padded"),
        pytest.param("1714564800123", NOON, id="epoch-ms-text"),
        pytest.param(" 1714564800123 ", NOON, id="epoch-ms-text-padded"),
        pytest.param(1714564800123, NOON, id="epoch-ms-int"),
        pytest.param(1714564800123.0, NOON, id="epoch-ms-float"),
    ],
)
def test_parse_timestamp_reads_hubspot_stamps(value: object, expected: datetime) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(True, id="bool"),
        pytest.param(["2024-05-01"], id="list"),
        pytest.param("yesterday", id="unparsable"),
        pytest.param("2024-05-01T12:00:00", id="naive"),
    ],
)
def test_parse_timestamp_rejects_what_is_not_a_stamp(value: object) -> None:
    with pytest.raises(MappingError):
        parse_timestamp(value)


def _reference_epoch_ms(stamp: datetime) -> int:
    delta = stamp - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
        ),
    )
)
def test_to_epoch_ms_floors_to_the_millisecond(stamp: datetime) -> None:
    assert to_epoch_ms(stamp) == _reference_epoch_ms(stamp)


def test_to_epoch_ms_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_epoch_ms(datetime(2024, 5, 1))  # noqa: DTZ001 - the naive input is the point


def _deal(amount: str | None, stage: str = "appointmentscheduled", closed: str = "false") -> dict[str, Any]:
    return {"id": "1", "properties": {"amount": amount, "dealstage": stage, "hs_is_closed": closed}}


@pytest.mark.parametrize(
    ("deal", "expected"),
    [
        pytest.param(_deal("1500.5"), 1500.5, id="open"),
        pytest.param(_deal(None), 0.0, id="open-without-amount"),
        pytest.param(_deal("n/a"), 0.0, id="open-unreadable-amount"),
        pytest.param(_deal("10", closed="true"), None, id="closed-flag"),
        pytest.param(_deal("10", stage="closedwon"), None, id="closed-stage"),
        pytest.param({"id": "1"}, None, id="no-properties"),
    ],
)
def test_open_deal_amount(deal: dict[str, Any], expected: float | None) -> None:
    assert open_deal_amount(deal) == expected


def test_open_deal_values_sums_open_deals_once_each_and_shares_them() -> None:
    links = {"c1": ("d1", "d2", "d1", "d3"), "c2": ("d1",), "c3": ("d3",), "c4": ()}
    amounts = {"d1": 100.0, "d2": 5.5}  # d3 is closed: absent
    assert open_deal_values(links, amounts) == {"c1": 105.5, "c2": 100.0, "c3": 0, "c4": 0}


def test_associated_ids_keeps_order_and_skips_malformed_targets() -> None:
    result = {
        "from": {"id": "1"},
        "to": [{"toObjectId": 9}, "junk", {"toObjectId": None}, {"toObjectId": "4"}],
    }
    assert associated_ids(result) == ("9", "4")
    assert associated_ids({"from": {"id": "1"}}) == ()
