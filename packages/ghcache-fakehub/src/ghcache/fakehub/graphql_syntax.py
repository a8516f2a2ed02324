"""The GraphQL lexer and parser: one query text to an Operation of Fields.

A real (tiny) parser instead of regexes, so aliases, variables, arguments in any order and
nested selections behave like on GitHub. Unsupported syntax raises GraphQLParseError, which
the executor answers with GitHub's error shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n]*)
  | (?P<punct>\.\.\.|[!$&()\[\]{}:=@|])
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<block>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\")
  | (?P<string>"(?:[^"\\\n]|\\.)*")
    """,
    re.VERBOSE,
)


class GraphQLParseError(Exception):
    pass


@dataclass(frozen=True)
class Var:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Operation:
    kind: str
    selections: list[Field]
    defaults: dict[str, Any]


@dataclass
class _Tok:
    kind: str
    value: str
    line: int
    column: int


def tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        if m is None:
            raise GraphQLParseError(f'Parse error on "{text[pos]}" at [{line}, {column}]')
        kind = m.lastgroup or "skip"
        if kind != "skip":
            tokens.append(_Tok(kind, m.group(), line, column))
        pos = m.end()
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, value: str | None = None) -> bool:
        if self.i >= len(self.tokens):
            return False
        return value is None or self.tokens[self.i].value == value

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise GraphQLParseError("Parse error on end of input (expected more)")
        tok = self.tokens[self.i]
        if (value is not None and tok.value != value) or (kind is not None and tok.kind != kind):
            label = {"name": "IDENTIFIER", "string": "STRING", "number": "INT"}.get(tok.kind)
            label = label or tok.value.upper()
            raise GraphQLParseError(
                f'Parse error on "{tok.value}" ({label}) at [{tok.line}, {tok.column}]'
            )
        self.i += 1
        return tok.value

    def document(self) -> Operation:
        kind = "query"
        defaults: dict[str, Any] = {}
        if self.peek("query") or self.peek("mutation") or self.peek("subscription"):
            kind = self.take()
            if self.i < len(self.tokens) and self.tokens[self.i].kind == "name":
                self.take()
            if self.peek("("):
                defaults = self.variable_definitions()
        selections = self.selection_set()
        if self.i < len(self.tokens):
            tok = self.tokens[self.i]
            raise GraphQLParseError(
                f"fakehub supports a single operation without fragments "
                f'(unexpected "{tok.value}" at [{tok.line}, {tok.column}])'
            )
        return Operation(kind, selections, defaults)

    def variable_definitions(self) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        self.take("(")
        while not self.peek(")"):
            self.take("$")
            name = self.take(kind="name")
            self.take(":")
            self.type_ref()
            if self.peek("="):
                self.take("=")
                defaults[name] = self.value()
        self.take(")")
        return defaults

    def type_ref(self) -> None:
        if self.peek("["):
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        if self.peek("!"):
            self.take("!")

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while not self.peek("}"):
            if self.peek("..."):
                # Inline fragments ("... on Issue { }") apply unconditionally here: the
                # supported connections hold one node type each.
                self.take("...")
                if not self.peek("on"):
                    raise GraphQLParseError("fakehub does not support named fragments")
                self.take("on")
                self.take(kind="name")
                fields.extend(self.selection_set())
                continue
            fields.append(self.field())
        self.take("}")
        if not fields:
            raise GraphQLParseError("Parse error: empty selection set")
        return fields

    def field(self) -> Field:
        name = self.take(kind="name")
        alias = None
        if self.peek(":"):
            self.take(":")
            alias, name = name, self.take(kind="name")
        args: dict[str, Any] = {}
        if self.peek("("):
            self.take("(")
            while not self.peek(")"):
                arg = self.take(kind="name")
                self.take(":")
                args[arg] = self.value()
            self.take(")")
        while self.peek("@"):  # directives are accepted and ignored
            self.take("@")
            self.take(kind="name")
            if self.peek("("):
                while not self.peek(")"):
                    self.i += 1
                self.take(")")
        selections = self.selection_set() if self.peek("{") else None
        return Field(name, alias, args, selections)

    def value(self) -> Any:
        if self.i >= len(self.tokens):
            raise GraphQLParseError("Parse error on end of input (expected a value)")
        tok = self.tokens[self.i]
        if tok.value == "$":
            self.take("$")
            return Var(self.take(kind="name"))
        if tok.value == "[":
            self.take("[")
            items = []
            while not self.peek("]"):
                items.append(self.value())
            self.take("]")
            return items
        if tok.value == "{":
            self.take("{")
            obj = {}
            while not self.peek("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        self.i += 1
        if tok.kind == "string":
            return bytes(tok.value[1:-1], "utf-8").decode("unicode_escape")
        if tok.kind == "block":
            return tok.value[3:-3]
        if tok.kind == "number":
            return float(tok.value) if any(c in tok.value for c in ".eE") else int(tok.value)
        if tok.kind == "name":
            return {"true": True, "false": False, "null": None}.get(tok.value, tok.value)
        raise GraphQLParseError(f'Parse error on "{tok.value}" at [{tok.line}, {tok.column}]')
