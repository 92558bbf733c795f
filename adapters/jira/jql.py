"""The subset of JQL the Jira emulator understands: parsed into conditions, never evaluated as code.

Grammar (case-insensitive keywords):
    query   := [clause (AND clause)*] [ORDER BY sort (, sort)*]
    clause  := field op value | field IN "(" value ("," value)* ")"
    field   := project | updated | created | labels | key | issuekey
    sort    := (updated | created | key) [ASC | DESC]
Datetime literals are read at minute resolution in the searching user's zone, as Jira does
(https://support.atlassian.com/jira-software-cloud/docs/jql-fields/#Updated); numbers are epoch ms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>>=|<=|!=|=|>|<)'
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.\-:/]+))"
)
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_TIME_FIELDS = frozenset({"updated", "created"})
_FIELDS = frozenset({"project", "labels", "key", "issuekey", *_TIME_FIELDS})


class JqlError(ValueError):
    """The query is outside the supported subset or malformed; the message is Jira-like."""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str  # normalised: issuekey -> key
    op: str  # = != > >= < <= in
    values: tuple[Any, ...]  # strings, or epoch ms for time fields


@dataclass(frozen=True, slots=True)
class Query:
    conditions: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """`record` has project, key, labels (list), updated and created (epoch ms)."""
        return all(_match(cond, record) for cond in self.conditions)

    def sort(self, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        ordered = list(records)
        for name, descending in reversed(self.order or (("key", True),)):
            ordered.sort(key=lambda r, n=name: _sort_value(n, r), reverse=descending)  # type: ignore[misc]
        return ordered


def _sort_value(name: str, record: Mapping[str, Any]) -> Any:
    if name == "key":
        project, _, number = str(record["key"]).rpartition("-")
        return (project, int(number) if number.isdigit() else 0)
    return record[name]


def _match(cond: Condition, record: Mapping[str, Any]) -> bool:
    if cond.field == "labels":
        have = set(record["labels"])
        hit = any(v in have for v in cond.values)
        return hit if cond.op in ("=", "in") else not hit
    actual = record[cond.field]
    if cond.field in ("project", "key"):
        actual = str(actual).upper()
        hit = any(actual == str(v).upper() for v in cond.values)
        return hit if cond.op in ("=", "in") else not hit
    bound = cond.values[0]
    return bool(
        {
            "=": actual == bound,
            "!=": actual != bound,
            ">": actual > bound,
            ">=": actual >= bound,
            "<": actual < bound,
            "<=": actual <= bound,
        }[cond.op]
    )


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if not found or found.end() == pos:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[pos:].strip()[:1]}' is a reserved JQL "
                "character."
            )
        kind = found.lastgroup or ""
        value = found.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = found.end()
    return out


def _time_value(kind: str, value: str, zone: tzinfo) -> int:
    if kind == "word" and value.isdigit():
        return int(value)  # epoch milliseconds
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
        return int(parsed.timestamp() * 1000)
    raise JqlError(
        f"Date value '{value}' for field 'updated' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
        "e.g. '-5d', '4w 2d'."
    )


class _Parser:
    def __init__(self, text: str, zone: tzinfo) -> None:
        self.toks, self.pos, self.zone = _tokens(text), 0, zone

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, what: str = "a value") -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise JqlError(f"Error in the JQL Query: Expecting {what} but reached the end of the query.")
        self.pos += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Query:
        conditions: list[Condition] = []
        if self.peek() and not self._at_order():
            conditions.append(self.clause())
            while self.keyword("AND"):
                conditions.append(self.clause())
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDER"):
            if not self.keyword("BY"):
                raise JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
            order.append(self.sort_key())
            while self.peek() == ("punct", ","):
                self.pos += 1
                order.append(self.sort_key())
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: Unsupported or unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return Query(tuple(conditions), tuple(order))

    def _at_order(self) -> bool:
        tok = self.peek()
        return bool(tok and tok[0] == "word" and tok[1].upper() == "ORDER")

    def clause(self) -> Condition:
        kind, name = self.take("a field")
        field = name.lower()
        if kind != "word" or field not in _FIELDS:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        field = "key" if field == "issuekey" else field
        if self.keyword("IN"):
            return Condition(field, "in", self.value_list(field))
        kind, op = self.take("an operator")
        if kind != "op" or (op not in ("=", "!=") and field not in _TIME_FIELDS):
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        return Condition(field, op, (self.value(field),))

    def value_list(self, field: str) -> tuple[Any, ...]:
        if self.take("'('") != ("punct", "("):
            raise JqlError("Error in the JQL Query: Expecting '(' after 'in'.")
        values = [self.value(field)]
        while (tok := self.take("')'")) == ("punct", ","):
            values.append(self.value(field))
        if tok != ("punct", ")"):
            raise JqlError(f"Error in the JQL Query: Expecting ')' but got '{tok[1]}'.")
        return tuple(values)

    def value(self, field: str) -> Any:
        kind, value = self.take()
        if kind not in ("str", "word"):
            raise JqlError(f"Error in the JQL Query: Expecting a value but got '{value}'.")
        return _time_value(kind, value, self.zone) if field in _TIME_FIELDS else value

    def sort_key(self) -> tuple[str, bool]:
        kind, name = self.take("a field to order by")
        field = "key" if name.lower() == "issuekey" else name.lower()
        if kind != "word" or field not in ("updated", "created", "key"):
            raise JqlError(f"Not able to sort using field '{name}'.")
        if self.keyword("DESC"):
            return field, True
        self.keyword("ASC")
        return field, False


def parse_jql(text: str, zone: tzinfo) -> Query:
    """Parse the supported JQL subset; raises JqlError naming the problem."""
    return _Parser(text, zone).parse()
