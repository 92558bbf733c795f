"""HubSpot JSON -> neutral records. Pure functions: no I/O, no clock, no logging.

Shapes follow the CRM v3 objects API (`{"id", "properties": {...}, "createdAt", "updatedAt"}`), the
owners API and the v4 associations batch read. Every property value arrives as a string (or null).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mappings.errors import MappingError
from mappings.models import Account, Feedback, Owner, Urgency

if TYPE_CHECKING:
    from adapters.hubspot.settings import HubSpotSettings

APP_URL = "https://app.hubspot.com/contacts"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def parse_timestamp(value: object) -> datetime:
    """A HubSpot datetime: ISO 8601 (`2024-05-01T12:00:00.123Z`) or epoch milliseconds as a string."""
    if not isinstance(value, str):  # strings first: they are what HubSpot sends, several per record
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC)
        raise MappingError(f"timestamp missing or not a string: {value!r}")
    text = value.strip()
    if not text:
        raise MappingError(f"timestamp missing or not a string: {value!r}")
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MappingError(f"unparsable timestamp: {text!r}") from exc
    if stamp.tzinfo is None:
        raise MappingError(f"timestamp without a time zone: {text!r}")
    return stamp.astimezone(UTC)


def parse_date(value: object) -> date | None:
    """A HubSpot date property: `YYYY-MM-DD` or midnight-UTC epoch ms; empty or unreadable -> None.

    Lenient on purpose: a mistyped date on one ticket must not reject the whole feedback record.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC).date()
        if len(text) == 10:
            return date.fromisoformat(text)
        stamp = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return stamp.astimezone(UTC).date() if stamp.tzinfo else stamp.date()


def to_epoch_ms(stamp: datetime) -> int:
    """Epoch milliseconds (floor), the unit search filters on datetimes take."""
    if stamp.tzinfo is None:
        raise ValueError("naive datetime")
    return (stamp - _EPOCH) // _MILLISECOND  # timedelta floor division: exact, in C


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
        backlog_status=_text(props, settings.backlog_status_property) or None,
        backlog_milestone=_text(props, settings.backlog_milestone_property) or None,
        backlog_due=parse_date(props.get(settings.backlog_due_property)),
        promised_date=(
            parse_date(props.get(settings.promised_date_property))
            if settings.promised_date_property
            else None
        ),
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


def to_account(
    raw: Mapping[str, Any],
    owners: Mapping[str, Owner],
    settings: HubSpotSettings,
    open_deal_value: float = 0.0,
) -> Account:
    """One company from batch read -> Account, with its owner resolved from the owners list."""
    company_id = _record_id(raw)
    props = _props(raw)
    owner_id = _text(props, "hubspot_owner_id")
    owner = owners.get(owner_id) if owner_id else None  # an id missing from the owners list: deleted
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
        open_deal_value=open_deal_value,
    )


CLOSED_STAGES = frozenset({"closedwon", "closedlost"})  # the default pipeline's closed stage ids


def is_open_deal(raw: Mapping[str, Any]) -> bool:
    """A deal is closed when HubSpot says so (`hs_is_closed`) or it sits in a default closed stage."""
    props = raw.get("properties")
    if not isinstance(props, Mapping):
        return False
    closed = _text(props, "hs_is_closed").lower() == "true"
    return not closed and _text(props, "dealstage").lower() not in CLOSED_STAGES


def deal_amount(raw: Mapping[str, Any]) -> float:
    """A deal's `amount`; missing or unreadable counts as 0 (one bad deal must not hide an account)."""
    props = raw.get("properties")
    text = _text(props, "amount") if isinstance(props, Mapping) else ""
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0


def associated_ids(result: Mapping[str, Any]) -> tuple[str, ...]:
    """Every target id of one v4 association batch-read result, in the order given."""
    return tuple(
        str(t["toObjectId"]) for t in result.get("to") or () if isinstance(t, Mapping) and t.get("toObjectId")
    )


def open_deal_amount(raw: Mapping[str, Any]) -> float | None:
    """An open deal's amount (`deal_amount`); None for a closed deal, which counts for no company."""
    return deal_amount(raw) if is_open_deal(raw) else None


def open_deal_values(
    company_deals: Mapping[str, Iterable[str]], open_amounts: Mapping[str, float]
) -> dict[str, float]:
    """Company id -> sum of its open deals' amounts (deal id -> amount, closed deals absent); a deal
    shared by two companies counts for both."""
    return {
        company: sum(open_amounts[d] for d in dict.fromkeys(ids) if d in open_amounts)
        for company, ids in company_deals.items()
    }


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
