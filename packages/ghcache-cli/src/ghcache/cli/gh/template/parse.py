"""Parsing ``--template`` text into a tree of nodes: text, actions (pipelines
of commands), if/range/with with their else branches, break and continue."""

from __future__ import annotations

import json
import re

from ghcache.cli.gh.template.functions import FUNCTION_NAMES
from ghcache.cli.gh.template.lex import (
    KEYWORDS,
    UNSUPPORTED,
    Action,
    TemplateError,
    Token,
    line_of,
    split_actions,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a --template hit milliseconds; annotations are strings
    from typing import Any


class Arg:
    __slots__ = ("chain", "kind", "name", "pipe", "pos", "text", "value")

    def __init__(
        self,
        kind: str,  # field var dot lit ident pipe nil
        pos: int,
        text: str,
        *,
        chain: list[str] | None = None,
        value: Any = None,
        name: str = "",
        pipe: Pipe | None = None,
    ) -> None:
        self.kind = kind
        self.pos = pos
        self.text = text
        self.chain = chain if chain is not None else []
        self.value = value
        self.name = name
        self.pipe = pipe


class Command:
    __slots__ = ("args", "pos", "text")

    def __init__(self, args: list[Arg], pos: int, text: str) -> None:
        self.args = args
        self.pos = pos
        self.text = text


class Pipe:
    __slots__ = ("assign", "commands", "decl", "pos")

    def __init__(
        self,
        commands: list[Command],
        *,
        decl: list[str] | None = None,
        assign: bool = False,
        pos: int = 0,
    ) -> None:
        self.commands = commands
        self.decl = decl if decl is not None else []
        self.assign = assign
        self.pos = pos


class Node:
    __slots__ = ("body", "kind", "orelse", "pipe", "pos", "text")

    def __init__(
        self,
        kind: str,  # text action if range with break continue
        *,
        text: str = "",
        pipe: Pipe | None = None,
        body: list[Node] | None = None,
        orelse: list[Node] | None = None,
        pos: int = 0,
    ) -> None:
        self.kind = kind
        self.text = text
        self.pipe = pipe
        self.body = body if body is not None else []
        self.orelse = orelse if orelse is not None else []
        self.pos = pos


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = split_actions(text)
        self.index = 0

    def error(self, message: str, pos: int) -> TemplateError:
        return TemplateError(f"template: :{line_of(self.text, pos)}: {message}")

    def parse(self) -> list[Node]:
        nodes, stop = self.parse_list(())
        if stop is not None:
            raise self.error(f"unexpected {{{{{stop.tokens[0].text}}}}}", stop.pos)
        return nodes

    def parse_list(self, stops: tuple[str, ...]) -> tuple[list[Node], Action | None]:
        nodes: list[Node] = []
        while self.index < len(self.items):
            item = self.items[self.index]
            self.index += 1
            if isinstance(item, str):
                nodes.append(Node("text", text=item))
                continue
            if not item.tokens:
                raise self.error("missing value for command", item.pos)
            head = item.tokens[0]
            word = head.text if head.kind == "ident" else ""
            if word in stops:
                return nodes, item
            if word in ("end", "else"):
                raise self.error(f"unexpected {{{{{word}}}}}", item.pos)
            if word in UNSUPPORTED:
                raise self.error(
                    f"{{{{{word}}}}} is not supported by ghcache's templates", item.pos
                )
            if word in ("if", "range", "with"):
                nodes.append(self.parse_control(word, item, item.tokens[1:]))
            elif word in ("break", "continue"):
                nodes.append(Node(word, pos=item.pos))
            else:
                nodes.append(Node("action", pipe=self.parse_pipe(item.tokens, item), pos=item.pos))
        if stops:
            raise TemplateError(f"template: :{line_of(self.text, len(self.text))}: unexpected EOF")
        return nodes, None

    def parse_control(self, word: str, item: Action, tokens: list[Token]) -> Node:
        if not tokens:
            raise self.error(f"missing value for {word}", item.pos)
        node = Node(
            word, pipe=self.parse_pipe(tokens, item, allow_two=word == "range"), pos=item.pos
        )
        node.body, stop = self.parse_list(("end", "else"))
        assert stop is not None
        if stop.tokens[0].text == "else":
            rest = stop.tokens[1:]
            if rest and rest[0].kind == "ident" and rest[0].text in ("if", "with"):
                # "else if" is an if nested in the else branch sharing our {{end}}.
                node.orelse = [self.parse_control(rest[0].text, stop, rest[1:])]
                return node
            if rest:
                raise self.error("unexpected tokens after else", stop.pos)
            node.orelse, stop = self.parse_list(("end", "else"))
            assert stop is not None
            if stop.tokens[0].text != "end" or len(stop.tokens) > 1:
                raise self.error("expected end; found " + stop.source.strip(), stop.pos)
        elif len(stop.tokens) > 1:
            raise self.error("unexpected tokens after end", stop.pos)
        return node

    def parse_pipe(self, tokens: list[Token], item: Action, *, allow_two: bool = False) -> Pipe:
        pipe = Pipe([], pos=item.pos)
        rest = tokens
        # Declarations: "$x :=", "$x =", and for range "$i, $e :=".
        if rest and rest[0].kind == "var" and "." not in rest[0].text:
            if len(rest) > 1 and rest[1].kind in ("declare", "assign"):
                pipe.decl = [rest[0].text]
                pipe.assign = rest[1].kind == "assign"
                rest = rest[2:]
            elif (
                allow_two
                and len(rest) > 3
                and rest[1].kind == "comma"
                and rest[2].kind == "var"
                and rest[3].kind in ("declare", "assign")
            ):
                pipe.decl = [rest[0].text, rest[2].text]
                rest = rest[4:]
        commands, leftover = self.parse_commands(rest, item)
        if leftover:
            raise self.error(f"unexpected {leftover[0].text!r} in command", leftover[0].pos)
        if not commands:
            raise self.error("missing value for command", item.pos)
        pipe.commands = commands
        return pipe

    def parse_commands(
        self, tokens: list[Token], item: Action
    ) -> tuple[list[Command], list[Token]]:
        commands: list[Command] = []
        rest = tokens
        while rest:
            args: list[Arg] = []
            start = rest[0].pos
            while rest and rest[0].kind not in ("pipe", "rparen"):
                arg, rest = self.parse_operand(rest, item)
                args.append(arg)
            if not args:
                raise self.error("missing value for command", start)
            end = rest[0].pos if rest else item.pos + 2 + len(item.source)
            commands.append(Command(args, start, self.text[start:end].strip()))
            if rest and rest[0].kind == "pipe":
                rest = rest[1:]
                if not rest:
                    raise self.error("missing command after |", item.pos)
                continue
            break
        return commands, rest

    def parse_operand(self, tokens: list[Token], item: Action) -> tuple[Arg, list[Token]]:
        token, rest = tokens[0], tokens[1:]
        kind, text = token.kind, token.text
        if kind == "field":
            chain = text.split(".")[1:]
            pos = token.pos + len(chain[0]) + 1 if len(chain) > 1 else token.pos
            return Arg("field", pos, text, chain=chain), rest
        if kind == "dot":
            return Arg("dot", token.pos, text), rest
        if kind == "var":
            name, *chain = text.split(".")
            return Arg("var", token.pos, text, chain=chain, name=name), rest
        if kind in ("string", "raw", "char", "number"):
            return Arg("lit", token.pos, text, value=_literal(kind, text)), rest
        if kind == "ident":
            name, *chain = text.split(".")
            if name in ("true", "false"):
                return Arg("lit", token.pos, text, value=name == "true"), rest
            if name == "nil":
                return Arg("nil", token.pos, text), rest
            if name in KEYWORDS or name in UNSUPPORTED:
                raise self.error(f"unexpected <{name}> in command", token.pos)
            if name not in FUNCTION_NAMES:
                raise self.error(f'function "{name}" not defined', token.pos)
            return Arg("ident", token.pos, text, name=name, chain=chain), rest
        if kind == "lparen":
            depth = 0
            for index, inner in enumerate(rest):
                if inner.kind == "lparen":
                    depth += 1
                elif inner.kind == "rparen":
                    if depth == 0:
                        commands, leftover = self.parse_commands(rest[:index], item)
                        if leftover or not commands:
                            raise self.error("unexpected ) in operand", inner.pos)
                        chain = inner.text.split(".")[1:]
                        return (
                            Arg(
                                "pipe",
                                token.pos,
                                text,
                                pipe=Pipe(commands, pos=token.pos),
                                chain=chain,
                            ),
                            rest[index + 1 :],
                        )
                    depth -= 1
            raise self.error("unclosed left paren", token.pos)
        raise self.error(f"unexpected {text!r} in operand", token.pos)


def _literal(kind: str, text: str) -> Any:
    if kind == "raw":
        return text[1:-1]
    if kind == "string":
        try:
            return json.loads(text)
        except ValueError:
            return text[1:-1].encode("utf-8").decode("unicode_escape")
    if kind == "char":
        return ord(json.loads('"' + text[1:-1] + '"'))
    clean = text.replace("_", "")
    if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", clean):
        return int(clean, 16)
    if re.fullmatch(r"[+-]?\d+", clean):
        return int(clean)
    return float(clean)


def parse_template(text: str) -> list[Node]:
    """The tree of ``text``; raises :class:`TemplateError` with gh's message."""
    return _Parser(text).parse()
