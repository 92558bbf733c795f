"""The emulator's mini SOQL: parses (never evaluates as code) exactly the shapes the client emits.

SELECT f[, Rel.f][, SUM(f)] FROM Obj [WHERE c AND c ...] [GROUP BY f] [ORDER BY f[, f] [ASC]] [LIMIT n]
where c is `f op literal` (op: = != < <= > >=) or `f IN ('a', 'b')`; literals are quoted strings,
unquoted datetimes, numbers, true/false/null. Anything else is a `SoqlError` (400 MALFORMED_QUERY).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:\\.|[^'\\])*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op>!=|>=|<=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t"}
KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "GROUP",
    "ORDER",
    "BY",
    "LIMIT",
    "ASC",
    "DESC",
}


class SoqlError(ValueError):
    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # str | datetime | number | bool | null
    value: Any


@dataclass(frozen=True, slots=True)
class Cond:
    field: str
    op: str  # = != < <= > >= IN
    value: Literal | tuple[Literal, ...]


@dataclass(slots=True)
class Query:
    fields: list[str] = field(default_factory=list)  # plain names, "Rel.Field" or "SUM(Field)"
    obj: str = ""
    where: list[Cond] = field(default_factory=list)
    group_by: str | None = None
    order_by: list[str] = field(default_factory=list)
    limit: int | None = None


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise SoqlError(f"unexpected token at: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise SoqlError("unexpected end of query")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == word:
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            raise SoqlError(f"expecting {word}, found {self.peek()}")

    def name(self) -> str:
        kind, text = self.take()
        if kind != "word" or text.upper() in KEYWORDS:
            raise SoqlError(f"expecting a field name, found {text!r}")
        return text

    def punct(self, char: str) -> bool:
        tok = self.peek()
        if tok == ("punct", char):
            self.i += 1
            return True
        return False


def parse(text: str) -> Query:
    p = _Parser(text)
    q = Query()
    p.expect("SELECT")
    while True:
        name = p.name()
        if p.punct("("):
            if name.upper() != "SUM":
                raise SoqlError(f"unsupported function {name}")
            name = f"SUM({p.name()})"
            if not p.punct(")"):
                raise SoqlError("expecting )")
        q.fields.append(name)
        if not p.punct(","):
            break
    p.expect("FROM")
    q.obj = p.name()
    if p.keyword("WHERE"):
        q.where.append(_cond(p))
        while p.keyword("AND"):
            q.where.append(_cond(p))
    if p.keyword("GROUP"):
        p.expect("BY")
        q.group_by = p.name()
    if p.keyword("ORDER"):
        p.expect("BY")
        q.order_by.append(p.name())
        p.keyword("ASC")
        while p.punct(","):
            q.order_by.append(p.name())
            p.keyword("ASC")
    if p.keyword("LIMIT"):
        kind, text = p.take()
        if kind != "num":
            raise SoqlError("LIMIT takes a number")
        q.limit = int(text)
    if p.peek() is not None:
        raise SoqlError(f"unexpected token {p.peek()}")
    return q


def _cond(p: _Parser) -> Cond:
    name = p.name()
    if p.keyword("IN"):
        if not p.punct("("):
            raise SoqlError("IN takes a parenthesised list")
        values = [_literal(p)]
        while p.punct(","):
            values.append(_literal(p))
        if not p.punct(")"):
            raise SoqlError("expecting ) after IN list")
        return Cond(name, "IN", tuple(values))
    kind, op = p.take()
    if kind != "op":
        raise SoqlError(f"expecting an operator after {name}, found {op!r}")
    return Cond(name, op, _literal(p))


def _literal(p: _Parser) -> Literal:
    kind, text = p.take()
    if kind == "str":
        body = re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(1)), text[1:-1])
        return Literal("str", body)
    if kind == "dt":
        stamp = datetime.fromisoformat(text.replace("+0000", "+00:00"))
        return Literal("datetime", stamp.astimezone(UTC))
    if kind == "num":
        return Literal("number", float(text))
    if kind == "word" and text.lower() in ("true", "false"):
        return Literal("bool", text.lower() == "true")
    if kind == "word" and text.lower() == "null":
        return Literal("null", None)
    raise SoqlError(f"unexpected literal {text!r}")
