"""Lexing ``--template`` text: literal text and ``{{ }}`` actions, trim markers
applied and comments dropped, each action's tokens with their positions."""

from __future__ import annotations

import re


class TemplateError(ValueError):
    """A template that does not parse or fails while running (gh-like message)."""


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?))
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\)(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<comma>,)
    """,
    re.VERBOSE,
)
KEYWORDS = {"if", "else", "end", "range", "with", "break", "continue"}
UNSUPPORTED = {"define", "template", "block"}


class Token:
    __slots__ = ("kind", "pos", "text")

    def __init__(self, kind: str, text: str, pos: int) -> None:
        self.kind = kind
        self.text = text
        self.pos = pos


class Action:
    __slots__ = ("pos", "source", "tokens")

    def __init__(self, tokens: list[Token], pos: int, source: str) -> None:
        self.tokens = tokens
        self.pos = pos
        self.source = source


def split_actions(text: str) -> list[str | Action]:
    """Text and actions, with trim markers applied."""
    parts: list[str | Action] = []
    index = 0
    trim_next = False
    while True:
        start = text.find("{{", index)
        chunk = text[index:] if start < 0 else text[index:start]
        if trim_next:
            chunk = chunk.lstrip(" \t\r\n")
        if start < 0:
            if chunk:
                parts.append(chunk)
            return parts
        inner_start = start + 2
        if text.startswith("- ", inner_start) or text[inner_start : inner_start + 2] in (
            "-\t",
            "-\n",
            "-\r",
        ):
            chunk = chunk.rstrip(" \t\r\n")
            inner_start += 1
        if chunk:
            parts.append(chunk)
        end, inner_end, trim_next = _action_end(text, inner_start)
        body = text[inner_start:inner_end]
        stripped = body.strip()
        if stripped.startswith("/*"):
            if not stripped.endswith("*/"):
                raise TemplateError(f"template: :{line_of(text, start)}: unclosed comment")
        else:
            parts.append(Action(_lex(body, inner_start, text), start, body))
        index = end


def _action_end(text: str, pos: int) -> tuple[int, int, bool]:
    """(index after "}}", index of the action's end, right-trim?) skipping quoted "}}"."""
    i = pos
    while i < len(text):
        char = text[i]
        if char in "\"`'":
            close = text.find(char, i + 1)
            while char != "`" and close > 0 and _escaped(text, close):
                close = text.find(char, close + 1)
            if close < 0:
                break
            i = close + 1
            continue
        if text.startswith(" -}}", i) or text.startswith("\t-}}", i) or text.startswith("\n-}}", i):
            return i + 4, i, True
        if text.startswith("}}", i):
            return i + 2, i, False
        i += 1
    raise TemplateError(f"template: :{line_of(text, pos)}: unclosed action")


def _escaped(text: str, index: int) -> bool:
    count = 0
    while index - 1 - count >= 0 and text[index - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _lex(body: str, offset: int, text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(body):
        match = _TOKEN.match(body, index)
        if match is None:
            bad = body[index]
            raise TemplateError(
                f"template: :{line_of(text, offset + index)}: unexpected {bad!r} in command"
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(0), offset + index))
        index = match.end()
    return tokens
