"""Jiandaoyun JSON -> neutral records. Pure functions: no I/O, no clock, no logging.

A row of `data/list` looks like `{"_id": "...", "createTime": "2024-05-01T10:30:00.000Z",
"updateTime": ..., "_widget_x": value}`; member widgets hold `{"username", "name", ...}`, dates ISO UTC
with ms, numbers JSON numbers. Writes wrap each value: `{"_widget_x": {"value": ...}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from mappings.errors import MappingError
from mappings.models import Account, Feedback, Owner, Urgency
from mappings.values import number_field

if TYPE_CHECKING:
    from adapters.jiandaoyun.settings import JiandaoyunSettings

SYSTEM = "jiandaoyun"


def iso_ms(value: datetime) -> str:
    """Aware datetime -> `2024-05-01T10:30:00.000Z` (the API's own format)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"datetime missing or not a string: {value!r}")
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"unparsable datetime: {value!r}") from exc
    if stamp.tzinfo is None:
        raise MappingError(f"datetime without a zone: {value!r}")
    return stamp.astimezone(UTC)


def parse_date(value: object) -> date | None:
    """A date widget (ISO datetime at midnight UTC, or YYYY-MM-DD); unreadable -> None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) > 10:
            return parse_datetime(text).date()
        return date.fromisoformat(text)
    except (ValueError, MappingError):
        return None


def date_value(value: date | None) -> str | None:
    return f"{value.isoformat()}T00:00:00.000Z" if value else None


def text(row: Mapping[str, Any], name: str | None) -> str:
    if not name:
        return ""
    value = row.get(name)
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, Mapping):  # a member/department widget
        return str(value.get("username") or value.get("name") or "")
    if isinstance(value, list):  # a multi-select: comma-joined
        return ",".join(str(v) for v in value if v is not None)
    return value.strip() if isinstance(value, str) else str(value)


def data_id(row: Mapping[str, Any]) -> str:
    ident = row.get("_id")
    if not isinstance(ident, str) or not ident:
        raise MappingError(f"row without an _id: {ident!r}")
    return ident


def record_url(s: JiandaoyunSettings, entry_id: str, ident: str) -> str:
    return f"{s.web_url.rstrip('/')}/dashboard/app/{s.app_id}/form/{entry_id}/data/{ident}"


def to_feedback(row: Mapping[str, Any], s: JiandaoyunSettings) -> Feedback:
    ident = data_id(row)
    title = text(row, s.title_field)
    if not title:
        raise MappingError(f"feedback {ident} has no title ({s.title_field})")
    return Feedback(
        system=SYSTEM,
        id=ident,
        updated_at=parse_datetime(row.get("updateTime")),
        url=record_url(s, s.feedback_entry_id, ident),
        account_id=text(row, s.customer_field) or None,
        title=title,
        body=text(row, s.content_field),
        category=text(row, s.category_field),
        urgency=s.urgency_map.get(text(row, s.urgency_field).upper(), Urgency.MEDIUM),
        requested_by=text(row, s.requested_by_field),
        group_hint=text(row, s.group_hint_field) or None,
        backlog_key=text(row, s.backlog_key_field) or None,
        backlog_status=text(row, s.backlog_status_field) or None,
        backlog_milestone=text(row, s.backlog_milestone_field) or None,
        backlog_due=parse_date(row.get(s.backlog_due_field)),
        promised_date=parse_date(row.get(s.promised_date_field)) if s.promised_date_field else None,
    )


def to_owner(value: object) -> Owner | None:
    if isinstance(value, Mapping):
        username = value.get("username")
        if isinstance(username, str) and username:
            name = value.get("name")
            return Owner(id=username, name=name if isinstance(name, str) else "")
    if isinstance(value, str) and value:
        return Owner(id=value)
    return None


def to_account(row: Mapping[str, Any], s: JiandaoyunSettings) -> Account:
    ident = data_id(row)
    what = f"customer {ident}"
    return Account(
        system=SYSTEM,
        id=ident,
        updated_at=parse_datetime(row.get("updateTime")),
        url=record_url(s, s.customer_entry_id, ident),
        name=text(row, s.customer_name_field) or what,
        owner=to_owner(row.get(s.customer_owner_field)),
        tier=text(row, s.customer_tier_field) or "unknown",
        arr=number_field(row, s.customer_arr_field, what),
        open_deal_value=number_field(row, s.customer_deal_field, what),
    )


def error_code(body: object) -> int | None:
    """The `code` of an error body `{"code": 8303, "msg": "..."}`."""
    if isinstance(body, Mapping):
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
        if isinstance(code, str) and code.isdigit():
            return int(code)
    return None
