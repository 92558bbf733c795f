"""The emulator's records, schema and SOQL evaluation (over `emulator_soql.Query`)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from adapters.salesforce.emulator_soql import Cond, Literal, Query, SoqlError

# field -> type; "id" fields are record ids, "datetime" stored as epoch seconds (whole seconds)
_COMMON = {"Id": "id", "SystemModstamp": "datetime", "CreatedDate": "datetime", "OwnerId": "id"}
SCHEMA: dict[str, dict[str, str]] = {
    "User": {"Id": "id", "SystemModstamp": "datetime", "Email": "str", "Name": "str"},
    "Account": {
        **_COMMON,
        "Name": "str",
        "AnnualRevenue": "number",
        "Customer_Tier__c": "str",
    },
    "Opportunity": {
        **_COMMON,
        "Name": "str",
        "AccountId": "id",
        "Amount": "number",
        "IsClosed": "bool",
        "StageName": "str",
    },
    "Case": {
        **_COMMON,
        "CaseNumber": "str",
        "Subject": "str",
        "Description": "str",
        "Type": "str",
        "Origin": "str",
        "Priority": "str",
        "Status": "str",
        "AccountId": "id",
        "RecordTypeId": "id",
        "Syncer_Backlog_Key__c": "str",
        "Syncer_Backlog_Url__c": "str",
        "Syncer_Backlog_Status__c": "str",
        "Syncer_Milestone__c": "str",
        "Syncer_Milestone_Due__c": "date",
        "Syncer_Promised_Date__c": "date",
    },
    "Task": {
        **_COMMON,
        "Subject": "str",
        "Description": "str",
        "ActivityDate": "date",
        "Status": "str",
        "Priority": "str",
        "WhatId": "id",
        "WhoId": "id",
        "Syncer_Alert_Key__c": "str",
    },
}
EXTERNAL_IDS = {("Task", "Syncer_Alert_Key__c")}
READ_ONLY = {"Id", "SystemModstamp", "CreatedDate", "CaseNumber", "IsClosed"}
PREFIXES = {"User": "005", "Account": "001", "Opportunity": "006", "Case": "500", "Task": "00T"}
RELATIONS = {"Owner": ("OwnerId", "User"), "Account": ("AccountId", "Account")}
ID_PATTERN = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
Row = dict[str, Any]


def render_datetime(seconds: int) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.000+0000"


class Store:
    """Every record of the fake org; thread-safe; `clock` gives epoch seconds (truncated on write)."""

    def __init__(self, clock: Callable[[], float], version: str) -> None:
        self.clock, self.version = clock, version
        self.objects: dict[str, dict[str, Row]] = {name: {} for name in SCHEMA}
        self.lock = threading.RLock()
        self._seq = 0

    def new_id(self, obj: str) -> str:
        self._seq += 1
        return f"{PREFIXES[obj]}5g000{self._seq:07d}AAA"

    def check_field(self, obj: str, name: str) -> str:
        kind = SCHEMA[obj].get(name)
        if kind is None:
            raise SoqlError(f"No such column '{name}' on entity '{obj}'", "INVALID_FIELD")
        return kind

    def write(self, obj: str, record_id: str | None, fields: Mapping[str, Any]) -> str:
        """Create (no id) or update; validates field names and types; bumps SystemModstamp."""
        for name, value in fields.items():
            kind = self.check_field(obj, name)
            if name in READ_ONLY:
                raise SoqlError(f"Unable to create/update fields: {name}", "INVALID_FIELD_FOR_INSERT_UPDATE")
            _check_value(name, kind, value)
        now = int(self.clock())
        with self.lock:
            if record_id is None:
                record_id = self.new_id(obj)
                row: Row = {"Id": record_id, "CreatedDate": now}
                if obj == "Case":
                    row["CaseNumber"] = f"{len(self.objects['Case']) + 1:08d}"
                self.objects[obj][record_id] = row
            row = self.objects[obj][record_id]
            row.update({k: v for k, v in fields.items()})
            if obj == "Opportunity":
                row["IsClosed"] = str(row.get("StageName") or "").startswith("Closed")
            row["SystemModstamp"] = now
            return record_id

    # -- queries ----------------------------------------------------------------------------------
    def run(self, q: Query) -> list[Row]:
        if q.obj not in SCHEMA:
            raise SoqlError(f"sObject type '{q.obj}' is not supported.", "INVALID_TYPE")
        for cond in q.where:
            self._check_cond(q.obj, cond)
        self._check_select(q)
        with self.lock:
            rows = [r for r in self.objects[q.obj].values() if all(_match(r, c) for c in q.where)]
            for name in reversed(q.order_by):
                self.check_field(q.obj, name)
                rows.sort(key=_sort_key(name))
            if q.limit is not None:
                rows = rows[: q.limit]
            if q.group_by:
                return self._aggregate(q, rows)
            return [self._render(q.obj, r, q.fields) for r in rows]

    def _check_select(self, q: Query) -> None:
        """Every selected field must exist even when no row matches, as Salesforce checks at parse time."""
        for name in q.fields:
            if name.startswith("SUM("):
                self.check_field(q.obj, name[4:-1])
            elif "." in name:
                rel, _, sub = name.partition(".")
                if rel not in RELATIONS:
                    raise SoqlError(f"Didn't understand relationship '{rel}'", "INVALID_FIELD")
                key, target = RELATIONS[rel]
                self.check_field(q.obj, key)
                self.check_field(target, sub)
            else:
                self.check_field(q.obj, name)
            if q.group_by is not None and not name.startswith("SUM(") and name != q.group_by:
                raise SoqlError(f"field '{name}' can not be grouped in a query call", "MALFORMED_QUERY")

    def _check_cond(self, obj: str, cond: Cond) -> None:
        kind = self.check_field(obj, cond.field)
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        for lit in values:
            if lit.kind == "null":
                continue
            if kind == "datetime" and lit.kind != "datetime":
                raise SoqlError(
                    f"value of filter criterion for field '{cond.field}' must be of type dateTime "
                    "and should not be enclosed in quotes",
                    "INVALID_FIELD",
                )
            if kind == "id" and not (lit.kind == "str" and ID_PATTERN.fullmatch(lit.value)):
                raise SoqlError(f"invalid ID field: {lit.value}", "INVALID_QUERY_FILTER_OPERATOR")
            if kind == "bool" and lit.kind != "bool":
                raise SoqlError(f"{cond.field} takes true or false", "INVALID_FIELD")

    def _aggregate(self, q: Query, rows: list[Row]) -> list[Row]:
        group = q.group_by or ""
        self.check_field(q.obj, group)
        sums: dict[Any, float] = {}
        for row in rows:
            key = row.get(group)
            sums.setdefault(key, 0.0)
            for name in q.fields:
                if name.startswith("SUM("):
                    value = row.get(name[4:-1])
                    sums[key] += float(value or 0)
        out = []
        for key, total in sums.items():
            rendered: Row = {"attributes": {"type": "AggregateResult"}}
            expr = 0
            for name in q.fields:
                if name.startswith("SUM("):
                    self.check_field(q.obj, name[4:-1])
                    rendered[f"expr{expr}"] = total
                    expr += 1
                elif name == group:
                    rendered[name] = key
                else:
                    raise SoqlError(f"field '{name}' can not be grouped in a query call", "MALFORMED_QUERY")
            out.append(rendered)
        return out

    def _render(self, obj: str, row: Row, fields: list[str]) -> Row:
        out: Row = {"attributes": self._attributes(obj, row["Id"])}
        for name in fields:
            if "." in name:
                rel, _, sub = name.partition(".")
                if rel not in RELATIONS:
                    raise SoqlError(f"Didn't understand relationship '{rel}'", "INVALID_FIELD")
                key, target = RELATIONS[rel]
                self.check_field(obj, key)
                self.check_field(target, sub)
                parent = self.objects[target].get(row.get(key) or "")
                if parent is None:
                    out[rel] = None
                    continue
                nested = out.get(rel) or {"attributes": self._attributes(target, parent["Id"])}
                nested[sub] = _wire(SCHEMA[target][sub], parent.get(sub))
                out[rel] = nested
            else:
                out[name] = _wire(self.check_field(obj, name), row.get(name))
        return out

    def _attributes(self, obj: str, record_id: str) -> dict[str, str]:
        return {"type": obj, "url": f"/services/data/{self.version}/sobjects/{obj}/{record_id}"}


def _sort_key(name: str) -> Callable[[Row], tuple[bool, Any]]:
    # nulls first, as Salesforce sorts ascending by default
    return lambda row: (row.get(name) is not None, row.get(name) or 0)


def _check_value(name: str, kind: str, value: Any) -> None:
    if value is None:
        return
    ok = {
        "str": isinstance(value, str),
        "id": isinstance(value, str) and bool(ID_PATTERN.fullmatch(value)),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "date": isinstance(value, str) and _is_date(value),
        "datetime": False,
    }[kind]
    if not ok:
        raise SoqlError(f"{name}: value not of required type: {value!r}", "INVALID_FIELD")


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _wire(kind: str, value: Any) -> Any:
    if kind == "datetime" and isinstance(value, int):
        return render_datetime(value)
    return value


def _comparable(lit: Literal) -> Any:
    if lit.kind == "datetime":
        return int(lit.value.timestamp())
    return lit.value


def _match(row: Row, cond: Cond) -> bool:
    value = row.get(cond.field)
    if isinstance(cond.value, tuple):
        return value in {_comparable(v) for v in cond.value}
    want = _comparable(cond.value)
    if cond.op == "=":
        return bool(value == want)
    if cond.op == "!=":
        return bool(value != want)
    if value is None or want is None:
        return False
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return ops[cond.op](value, want)
