"""HubSpot JSON -> neutral records. Pure functions: no I/O, no clock, no logging.

Shapes follow the CRM v3 objects API (`{"id", "properties": {...}, "createdAt", "updatedAt"}`), the
owners API and the v4 associations batch read. Every property value arrives as a string (or null).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mappings.errors import MappingError
from mappings.models import Account, Feedback, Owner, Urgency

if TYPE_CHECKING:
    from adapters.hubspot.client import HubSpotSettings

APP_URL = "https://app.hubspot.com/contacts"


def parse_timestamp(value: object) -> datetime:
    """A HubSpot datetime: ISO 8601 (`2024-05-01T12:00:00.123Z`) or epoch milliseconds as a string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"timestamp missing or not a string: {value!r}")
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MappingError(f"unparsable timestamp: {text!r}") from exc
    if stamp.tzinfo is None:
        raise MappingError(f"timestamp without a time zone: {text!r}")
    return stamp.astimezone(UTC)


def to_epoch_ms(stamp: datetime) -> int:
    """Epoch milliseconds (floor), the unit search filters on datetimes take."""
    if stamp.tzinfo is None:
        raise ValueError("naive datetime")
    delta = stamp - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def record_url(portal_id: str, object_type: str, object_id: str) -> str:
    return f"{APP_URL}/{portal_id}/{object_type}/{object_id}"


def _props(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    props = raw.get("properties")
    if not isinstance(props, Mapping):
        raise MappingError("record has no properties object")
    return props


def _text(props: Mapping[str, Any], name: str | None) -> str:
    if not name:
        return ""
    value = props.get(name)
    return value.strip() if isinstance(value, str) else ""


def _record_id(raw: Mapping[str, Any]) -> str:
    ident = raw.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool) or not str(ident):
        raise MappingError(f"record without an id: {ident!r}")
    return str(ident)


def to_urgency(value: str, table: Mapping[str, Urgency]) -> Urgency:
    """Vendor priority -> urgency; unknown or empty values count as medium."""
    return table.get(value.strip().upper(), Urgency.MEDIUM)


def to_feedback(raw: Mapping[str, Any], account_id: str | None, settings: HubSpotSettings) -> Feedback:
    """One ticket from search (or batch read) -> Feedback; raises MappingError when it cannot."""
    ticket_id = _record_id(raw)
    props = _props(raw)
    title = _text(props, "subject")
    if not title:
        raise MappingError(f"ticket {ticket_id} has no subject")
    updated = props.get("hs_lastmodifieddate") or raw.get("updatedAt")
    return Feedback(
        system="hubspot",
        id=ticket_id,
        updated_at=parse_timestamp(updated),
        url=record_url(settings.portal_id, "ticket", ticket_id),
        account_id=account_id,
        title=title,
        body=_text(props, "content"),
        category=_text(props, settings.category_property),
        pipeline=_text(props, settings.pipeline_property),
        urgency=to_urgency(_text(props, settings.urgency_property), settings.urgency_map),
        requested_by=_text(props, settings.requested_by_property),
        group_hint=_text(props, settings.group_hint_property) or None,
        backlog_key=_text(props, settings.backlog_key_property) or None,
    )


def to_owner(raw: Mapping[str, Any]) -> Owner:
    """One entry of `GET /crm/v3/owners`."""
    first, last = raw.get("firstName") or "", raw.get("lastName") or ""
    return Owner(
        id=_record_id(raw),
        email=str(raw.get("email") or ""),
        name=f"{first} {last}".strip(),
    )


def _amount(props: Mapping[str, Any], name: str, company_id: str) -> float:
    text = _text(props, name)
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError as exc:
        raise MappingError(f"company {company_id}: {name} is not a number: {text!r}") from exc


def to_account(raw: Mapping[str, Any], owners: Mapping[str, Owner], settings: HubSpotSettings) -> Account:
    """One company from batch read -> Account, with its owner resolved from the owners list."""
    company_id = _record_id(raw)
    props = _props(raw)
    owner_id = _text(props, "hubspot_owner_id")
    owner = owners.get(owner_id, Owner(id=owner_id)) if owner_id else None
    updated = raw.get("updatedAt") or props.get("hs_lastmodifieddate")
    return Account(
        system="hubspot",
        id=company_id,
        updated_at=parse_timestamp(updated),
        url=record_url(settings.portal_id, "company", company_id),
        name=_text(props, "name") or f"company {company_id}",
        owner=owner,
        tier=_text(props, settings.company_tier_property) or "unknown",
        arr=_amount(props, settings.company_arr_property, company_id),
    )


def primary_association(result: Mapping[str, Any]) -> str | None:
    """From one v4 association batch-read result, the associated id labelled Primary, else the first."""
    targets = [t for t in result.get("to") or () if isinstance(t, Mapping) and t.get("toObjectId")]
    for target in targets:
        labels = {str(k.get("label") or "") for k in target.get("associationTypes") or ()}
        if "Primary" in labels:
            return str(target["toObjectId"])
    return str(targets[0]["toObjectId"]) if targets else None


def batch_errors(body: Mapping[str, Any]) -> dict[str, str]:
    """Ids a batch call refused (a 207 multi-status body's `errors[].context.ids`) -> message."""
    failed: dict[str, str] = {}
    for error in body.get("errors") or ():
        if not isinstance(error, Mapping):
            continue
        message = f"{error.get('category', 'ERROR')}: {error.get('message', '')}".strip()
        context = error.get("context") or {}
        for ident in context.get("ids") or context.get("id") or ():
            failed[str(ident)] = message
    return failed
