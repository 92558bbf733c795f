"""Reading plain values out of vendor rows, for the adapters' `records.py` (pure; raises MappingError)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings.errors import MappingError


def number_field(row: Mapping[str, Any], name: str, what: str) -> float:
    """`row[name]` as a float; absent or empty is 0.0; anything else that is not a number is an error."""
    value = row.get(name)
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise MappingError(f"{what}: {name} is not a number: {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise MappingError(f"{what}: {name} is not a number: {value!r}") from exc
