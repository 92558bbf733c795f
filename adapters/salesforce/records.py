"""Salesforce JSON -> neutral records. Pure functions: no I/O, no clock, no logging.

Query rows look like `{"attributes": {"type", "url"}, "Id": ..., "Field": value, "Owner": {...}}`;
datetimes render as `2024-05-01T12:00:00.000+0000`, dates as `2024-05-01`, numbers as JSON numbers.
Collections answer a list of `{"id", "success", "errors": [{"statusCode", "message", "fields"}]}`
(plus `created` on upsert), in input order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from mappings.errors import MappingError
from mappings.models import Account, Feedback, Owner, Urgency
from mappings.values import number_field

if TYPE_CHECKING:
    from adapters.salesforce.settings import SalesforceSettings

SYSTEM = "salesforce"


def parse_datetime(value: object) -> datetime:
    """A Salesforce datetime (`2024-05-01T12:00:00.000+0000` or with `Z`) -> aware UTC."""
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"datetime missing or not a string: {value!r}")
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise MappingError(f"unparsable datetime: {value!r}") from exc
    if stamp.tzinfo is None:
        raise MappingError(f"datetime without a zone: {value!r}")
    return stamp.astimezone(UTC)


def parse_date(value: object) -> date | None:
    """A Date field; empty or unreadable -> None (one mistyped date must not reject the record)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def record_url(instance_url: str, obj: str, record_id: str) -> str:
    return f"{instance_url.rstrip('/')}/lightning/r/{obj}/{record_id}/view"


def _text(row: Mapping[str, Any], name: str | None) -> str:
    if not name:
        return ""
    value = row.get(name)
    if isinstance(value, bool) or value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def record_id(row: Mapping[str, Any]) -> str:
    ident = row.get("Id")
    if not isinstance(ident, str) or not ident:
        raise MappingError(f"row without an Id: {ident!r}")
    return ident


def to_feedback(row: Mapping[str, Any], settings: SalesforceSettings, instance_url: str) -> Feedback:
    """One Case (or custom object) row -> Feedback; raises MappingError when it cannot."""
    case_id = record_id(row)
    s = settings
    title = _text(row, s.subject_field)
    if not title:
        raise MappingError(f"{s.feedback_object} {case_id} has no {s.subject_field}")
    return Feedback(
        system=SYSTEM,
        id=case_id,
        updated_at=parse_datetime(row.get("SystemModstamp")),
        url=record_url(instance_url, s.feedback_object, case_id),
        account_id=_text(row, s.account_field) or None,
        title=title,
        body=_text(row, s.description_field),
        category=_text(row, s.category_field),
        pipeline=_text(row, s.pipeline_field),
        urgency=s.urgency_map.get(_text(row, s.urgency_field).upper(), Urgency.MEDIUM),
        requested_by=_text(row, s.requested_by_field),
        group_hint=_text(row, s.group_hint_field) or None,
        backlog_key=_text(row, s.backlog_key_field) or None,
        backlog_status=_text(row, s.backlog_status_field) or None,
        backlog_milestone=_text(row, s.backlog_milestone_field) or None,
        backlog_due=parse_date(row.get(s.backlog_due_field)),
        promised_date=parse_date(row.get(s.promised_date_field)) if s.promised_date_field else None,
    )


def to_owner(row: Mapping[str, Any]) -> Owner | None:
    """The `Owner` relationship of an Account row (a User, or a Queue without an email)."""
    owner = row.get("Owner")
    ident = row.get("OwnerId")
    if isinstance(owner, Mapping):
        ident = owner.get("Id") or ident
        if isinstance(ident, str) and ident:
            return Owner(id=ident, email=_text(owner, "Email"), name=_text(owner, "Name"))
    return Owner(id=ident) if isinstance(ident, str) and ident else None


def to_account(
    row: Mapping[str, Any], settings: SalesforceSettings, instance_url: str, open_deal_value: float = 0.0
) -> Account:
    """One Account row (with `Owner.*`) -> Account."""
    account_id = record_id(row)
    return Account(
        system=SYSTEM,
        id=account_id,
        updated_at=parse_datetime(row.get("SystemModstamp")),
        url=record_url(instance_url, "Account", account_id),
        name=_text(row, "Name") or f"account {account_id}",
        owner=to_owner(row),
        tier=_text(row, settings.account_tier_field) or "unknown",
        arr=number_field(row, settings.account_arr_field, f"account {account_id}"),
        open_deal_value=open_deal_value,
    )


def deal_sums(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """`SELECT AccountId, SUM(Amount) ... GROUP BY AccountId` rows -> account id -> sum (`expr0`)."""
    sums: dict[str, float] = {}
    for row in rows:
        account = row.get("AccountId")
        value = row.get("expr0")
        if isinstance(account, str) and isinstance(value, int | float) and not isinstance(value, bool):
            sums[account] = float(value)
    return sums


def result_error(result: Mapping[str, Any]) -> str | None:
    """None for a successful collections result, else its errors as one line."""
    if result.get("success") is True:
        return None
    parts = [
        f"{e.get('statusCode', 'ERROR')}: {e.get('message', '')}".strip()
        for e in result.get("errors") or ()
        if isinstance(e, Mapping)
    ]
    return "; ".join(parts) or "failed without an error message"


def error_codes(body: object) -> set[str]:
    """The `errorCode`s of a REST error body (`[{"message", "errorCode"}]`)."""
    if not isinstance(body, list):
        return set()
    return {str(e.get("errorCode")) for e in body if isinstance(e, Mapping) and e.get("errorCode")}
