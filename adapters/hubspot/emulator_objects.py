"""Object types, association types and create validation of the HubSpot emulator; pure functions.

Association type ids are HubSpot's HUBSPOT_DEFINED ones (the official SDKs' `AssociationType` enum);
deal<->company uses the "Primary" pair (5/6) HubSpot reports for a deal's primary company.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.hubspot.emulator_search import DEFAULT_PROPERTIES
from adapters.hubspot.emulator_wire import SINGULAR

OBJECT_TYPES = ("companies", "tickets", "deals", "tasks", "notes")
ASSOCIATION_TYPES: Mapping[tuple[str, str], int] = {
    ("tickets", "companies"): 339,
    ("companies", "tickets"): 340,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("tasks", "companies"): 192,
    ("companies", "tasks"): 191,
    ("tasks", "tickets"): 230,
    ("tickets", "tasks"): 229,
    ("notes", "companies"): 190,
    ("companies", "notes"): 189,
    ("notes", "tickets"): 228,
    ("tickets", "notes"): 227,
}
# https://developers.hubspot.com/docs/api/crm/tasks and /notes: hs_timestamp is required on create
REQUIRED_ON_CREATE: Mapping[str, tuple[str, ...]] = {"tasks": ("hs_timestamp",), "notes": ("hs_timestamp",)}
READ_ONLY = frozenset({"hs_object_id", "createdate", "hs_lastmodifieddate"})


class CreateError(ValueError):
    """A create input breaks a rule; HubSpot refuses the whole batch with HTTP 400."""


@dataclass(frozen=True, slots=True)
class NewObject:
    properties: dict[str, Any]
    links: list[tuple[str, str]]  # (to type, to id)
    trace_id: str | None


def parse_create_inputs(
    object_type: str, body: Any, exists: Callable[[str, str], bool], limit: int
) -> list[NewObject]:
    """Validate a batch/create body; raises CreateError naming the first offending input."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise CreateError("Invalid input JSON: inputs is required")
    if len(inputs) > limit:
        raise CreateError(f"Batch input size {len(inputs)} exceeds the limit of {limit}")
    return [_parse_one(object_type, n, item, exists) for n, item in enumerate(inputs)]


def _parse_one(object_type: str, index: int, item: Any, exists: Callable[[str, str], bool]) -> NewObject:
    if not isinstance(item, dict) or not isinstance(item.get("properties") or {}, dict):
        raise CreateError(f"inputs[{index}]: properties must be an object")
    props = {k: v for k, v in (item.get("properties") or {}).items() if k not in READ_ONLY}
    missing = [name for name in REQUIRED_ON_CREATE.get(object_type, ()) if props.get(name) in (None, "")]
    if missing:
        raise CreateError(f"inputs[{index}]: missing required properties {missing}")
    links = [_parse_association(object_type, index, a, exists) for a in item.get("associations") or ()]
    trace = item.get("objectWriteTraceId")
    return NewObject(props, links, None if trace is None else str(trace))


def _parse_association(
    object_type: str, index: int, assoc: Any, exists: Callable[[str, str], bool]
) -> tuple[str, str]:
    target = str(((assoc or {}).get("to") or {}).get("id", ""))
    types = (assoc or {}).get("types") or []
    type_id = types[0].get("associationTypeId") if types and isinstance(types[0], dict) else None
    to_type = next((t for (f, t), i in ASSOCIATION_TYPES.items() if f == object_type and i == type_id), None)
    if to_type is None:
        raise CreateError(f"inputs[{index}]: association type {type_id} is not valid from {object_type}")
    if not exists(to_type, target):
        kind = SINGULAR.get(to_type, to_type.upper())
        raise CreateError(f"inputs[{index}]: {kind} {target} does not exist")
    return to_type, target


def association_read_body(
    from_type: str, to_type: str, links: Mapping[str, list[str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The v4 batch-read results for ids with associations, and NO_ASSOCIATIONS_FOUND errors for the rest."""
    kinds = [
        {"category": "HUBSPOT_DEFINED", "typeId": ASSOCIATION_TYPES[(from_type, to_type)], "label": None}
    ]
    results = [
        {"from": {"id": i}, "to": [{"toObjectId": int(t), "associationTypes": kinds} for t in targets]}
        for i, targets in links.items()
        if targets
    ]
    errors = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {to_type} is associated with {SINGULAR.get(from_type, from_type)} {i}.",
            "context": {"fromObjectId": [i], "toObjectType": [to_type]},
        }
        for i, targets in links.items()
        if not targets
    ]
    return results, errors


def public_object(
    object_type: str, object_id: str, props: Mapping[str, str | None], wanted: list[str] | None
) -> dict[str, Any]:
    """An object as the API shows it: the requested (or default) properties plus the system ones."""
    names = wanted or list(DEFAULT_PROPERTIES[object_type])
    shown = {n: props.get(n) for n in [*names, "createdate", "hs_lastmodifieddate", "hs_object_id"]}
    return {
        "id": object_id,
        "properties": shown,
        "createdAt": props.get("createdate"),
        "updatedAt": props.get("hs_lastmodifieddate"),
        "archived": False,
    }
