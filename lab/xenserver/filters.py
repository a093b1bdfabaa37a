"""XenServer's filter language for `<class>.get_all_records_where`.

    expr  := conj ('or' conj)*
    conj  := unary ('and' unary)*
    unary := 'not' unary | '(' expr ')' | 'true' | 'false' | value '=' value | value '<>' value
    value := 'field' STRING | STRING
A field compares by its string form, as xapi's database stores it: booleans 'true'/'false', integers decimal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op><>|=|\(|\))|(?P<word>[A-Za-z_]+))')


class FilterSyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise FilterSyntaxError(f"unexpected character at {pos}: {text[pos:pos + 10]!r}")
        pos = match.end()
        if match.group("string") is not None:
            tokens.append(("string", re.sub(r"\\(.)", r"\1", match.group("string")[1:-1])))
        elif match.group("op") is not None:
            tokens.append(("op", match.group("op")))
        else:
            tokens.append(("word", match.group("word").lower()))
    return tokens


def as_db_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return repr(value)
    return str(value)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise FilterSyntaxError(f"expected {value or kind} at token {self.pos}, got {token}")
        self.pos += 1
        return token[1]

    def accept(self, kind: str, value: str) -> bool:
        if self.peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise FilterSyntaxError(f"unexpected {self.peek()} at token {self.pos}")
        return predicate

    def expr(self) -> Predicate:
        terms = [self.conj()]
        while self.accept("word", "or"):
            terms.append(self.conj())
        return terms[0] if len(terms) == 1 else (lambda rec: any(t(rec) for t in terms))

    def conj(self) -> Predicate:
        terms = [self.unary()]
        while self.accept("word", "and"):
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else (lambda rec: all(t(rec) for t in terms))

    def unary(self) -> Predicate:
        if self.accept("word", "not"):
            inner = self.unary()
            return lambda rec: not inner(rec)
        if self.accept("op", "("):
            inner = self.expr()
            self.take("op", ")")
            return inner
        if self.accept("word", "true"):
            return lambda rec: True
        if self.accept("word", "false"):
            return lambda rec: False
        left = self.value()
        equal = self.take("op") if self.peek() in (("op", "="), ("op", "<>")) else self.take("op", "=")
        right = self.value()
        if equal == "=":
            return lambda rec: left(rec) == right(rec)
        return lambda rec: left(rec) != right(rec)

    def value(self) -> Callable[[dict[str, Any]], str | None]:
        if self.accept("word", "field"):
            name = self.take("string")
            return lambda rec: as_db_string(rec[name]) if name in rec else None
        literal = self.take("string")
        return lambda rec: literal


def compile_filter(text: str) -> Predicate:
    """Parse once; raise FilterSyntaxError on bad input (XenAPI answers that with an error, too)."""
    return _Parser(text).parse()
