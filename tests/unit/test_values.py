from __future__ import annotations

import pytest

from mappings.errors import MappingError
from mappings.values import number_field


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param({}, 0.0, id="absent"),
        pytest.param({"arr": ""}, 0.0, id="empty"),
        pytest.param({"arr": 12}, 12.0, id="int"),
        pytest.param({"arr": "12.5"}, 12.5, id="numeric-text"),
    ],
)
def test_number_field_reads_numbers(row: dict[str, object], expected: float) -> None:
    assert number_field(row, "arr", "account 1") == expected


@pytest.mark.parametrize("value", [True, "lots", [1]], ids=["bool", "text", "list"])
def test_number_field_names_the_record_and_field_of_a_bad_value(value: object) -> None:
    with pytest.raises(MappingError, match="account 1: arr is not a number"):
        number_field({"arr": value}, "arr", "account 1")
