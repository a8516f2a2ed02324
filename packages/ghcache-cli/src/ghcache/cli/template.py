"""``-t/--template``: the part of Go's text/template that gh users write, with
gh's extra functions (go-gh v1 ``pkg/template``, as in gh 2.23).

Supported: text and ``{{ }}`` actions with ``{{-``/``-}}`` trimming and
``{{/* comments */}}``; fields (``.a.b``), ``$``, variables (``$x := ...``,
``$x = ...``), pipelines with ``|``, parentheses, string/number/bool/nil
literals; ``if``/``else if``/``else``, ``range`` (with one or two variables,
``else``, ``break``, ``continue``), ``with``/``else``; the builtins and, or,
not, len, index, print, printf, println, eq, ne, lt, le, gt, ge, html,
urlquery; and gh's autocolor, color, join, pluck, tablerow, tablerender,
timeago, timefmt, truncate, hyperlink.  Not supported: define, template,
block, slice, call, js (a parse error names them).

Values print as Go prints them: JSON numbers are float64 (``1e+06`` style
for large ones), null is ``<nil>``, a missing key ``<no value>``, objects
``map[k:v]`` with sorted keys, arrays ``[a b]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from ghcache.cli.gotext import (
    MISSING,
    FuncError,
    TablePrinter,
    ansi_color,
    go_sprint_value,
    go_sprintf,
    go_time_format,
    go_type,
    parse_rfc3339,
    scalar_text,
    time_ago,
    truncate_text,
)
from ghcache.cli.jqfilter import TOO_DEEP, JqError, decode_go_json


class TemplateError(ValueError):
    """A template that does not parse or fails while running (gh-like message)."""


# --------------------------------------------------------------------------- lexing

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
_KEYWORDS = {"if", "else", "end", "range", "with", "break", "continue"}
_UNSUPPORTED = {"define", "template", "block"}


@dataclass
class Token:
    kind: str
    text: str
    pos: int


@dataclass
class Action:
    tokens: list[Token]
    pos: int
    source: str


def _split(text: str) -> list[str | Action]:
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
                raise TemplateError(f"template: :{_line(text, start)}: unclosed comment")
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
    raise TemplateError(f"template: :{_line(text, pos)}: unclosed action")


def _escaped(text: str, index: int) -> bool:
    count = 0
    while index - 1 - count >= 0 and text[index - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _lex(body: str, offset: int, text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(body):
        match = _TOKEN.match(body, index)
        if match is None:
            bad = body[index]
            raise TemplateError(
                f"template: :{_line(text, offset + index)}: unexpected {bad!r} in command"
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(0), offset + index))
        index = match.end()
    return tokens


# --------------------------------------------------------------------------- parsing


@dataclass
class Arg:
    kind: str  # field var dot lit ident pipe nil
    pos: int
    text: str
    chain: list[str] = field(default_factory=list)
    value: Any = None
    name: str = ""
    pipe: Pipe | None = None


@dataclass
class Command:
    args: list[Arg]
    pos: int
    text: str


@dataclass
class Pipe:
    commands: list[Command]
    decl: list[str] = field(default_factory=list)
    assign: bool = False
    pos: int = 0


@dataclass
class Node:
    kind: str  # text action if range with break continue
    text: str = ""
    pipe: Pipe | None = None
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)
    pos: int = 0


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = _split(text)
        self.index = 0

    def error(self, message: str, pos: int) -> TemplateError:
        return TemplateError(f"template: :{_line(self.text, pos)}: {message}")

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
            if word in _UNSUPPORTED:
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
            raise TemplateError(f"template: :{_line(self.text, len(self.text))}: unexpected EOF")
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
            if name in _KEYWORDS or name in _UNSUPPORTED:
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


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


# --------------------------------------------------------------------------- execution

FUNCTION_NAMES = {
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "urlquery",
    "autocolor",
    "color",
    "join",
    "pluck",
    "tablerow",
    "tablerender",
    "timeago",
    "timefmt",
    "truncate",
    "hyperlink",
}


def truth(value: Any) -> bool:
    if value is None or value is MISSING:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


class Template:
    """A parsed ``--template``; ``execute`` once per page, ``flush`` at the end."""

    def __init__(
        self,
        text: str,
        *,
        color: bool = False,
        width: int = 80,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.text = text
        self.color = color
        self.nodes = _Parser(text).parse()
        self.table = TablePrinter(width)
        self.now = now or (lambda: datetime.now(UTC))
        self._out: list[str] = []

    # -- entry points

    def render(self, data: Any) -> str:
        self._out = []
        variables: list[tuple[str, Any]] = [("$", data)]
        try:
            self._run(self.nodes, data, variables)
        except (_Break, _Continue):
            pass
        return "".join(self._out)

    def execute(self, body: bytes, out: IO[bytes]) -> None:
        try:
            data = decode_go_json(body)
        except JqError as exc:
            raise TemplateError(str(exc)) from None
        try:
            text = self.render(data)
        except RecursionError:
            raise TemplateError(TOO_DEEP) from None
        except TemplateError:
            out.write("".join(self._out).encode("utf-8"))
            raise
        out.write(text.encode("utf-8"))

    def flush(self, out: IO[bytes]) -> None:
        out.write(self.table.render().encode("utf-8"))

    # -- tree walking

    def _fail(self, pos: int, context: str, message: str) -> TemplateError:
        line = _line(self.text, pos)
        start = self.text.rfind("\n", 0, pos)
        column = pos if start < 0 else pos - start - 1
        return TemplateError(f'template: :{line}:{column}: executing "" at <{context}>: {message}')

    def _run(self, nodes: list[Node], dot: Any, variables: list[tuple[str, Any]]) -> None:
        for node in nodes:
            if node.kind == "text":
                self._out.append(node.text)
            elif node.kind == "action":
                assert node.pipe is not None
                value = self._pipe(node.pipe, dot, variables)
                if not node.pipe.decl:
                    # A null (or absent) value prints as Go's invalid reflect.Value does.
                    missing = value is None or value is MISSING
                    self._out.append("<no value>" if missing else go_sprint_value(value))
            elif node.kind in ("if", "with"):
                assert node.pipe is not None
                mark = len(variables)
                value = self._pipe(node.pipe, dot, variables)
                if truth(value):
                    self._run(node.body, value if node.kind == "with" else dot, variables)
                else:
                    self._run(node.orelse, dot, variables)
                del variables[mark:]
            elif node.kind == "range":
                self._range(node, dot, variables)
            elif node.kind == "break":
                raise _Break
            elif node.kind == "continue":
                raise _Continue

    def _range(self, node: Node, dot: Any, variables: list[tuple[str, Any]]) -> None:
        assert node.pipe is not None
        mark = len(variables)
        decl, node.pipe.decl = node.pipe.decl, []
        try:
            value = self._pipe(node.pipe, dot, variables)
        finally:
            node.pipe.decl = decl
        if isinstance(value, list):
            items: list[tuple[Any, Any]] = list(enumerate(value))
        elif isinstance(value, dict):
            items = [(key, value[key]) for key in sorted(value)]
        elif value is None or value is MISSING:
            items = []
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        else:
            raise self._fail(
                node.pos, "range", f"range can't iterate over {go_sprint_value(value)}"
            )
        if not items:
            self._run(node.orelse, dot, variables)
            return
        for key, item in items:
            del variables[mark:]
            if len(decl) == 1:
                variables.append((decl[0], item))
            elif len(decl) == 2:
                variables.append((decl[0], key))
                variables.append((decl[1], item))
            try:
                self._run(node.body, item, variables)
            except _Break:
                break
            except _Continue:
                continue
        del variables[mark:]

    def _pipe(self, pipe: Pipe, dot: Any, variables: list[tuple[str, Any]]) -> Any:
        value: Any = _NO_FINAL
        for command in pipe.commands:
            value = self._command(command, dot, variables, value)
        if pipe.decl:
            name = pipe.decl[-1]
            if pipe.assign:
                for index in range(len(variables) - 1, -1, -1):
                    if variables[index][0] == name:
                        variables[index] = (name, value)
                        break
                else:
                    raise self._fail(pipe.pos, name, f"undefined variable: {name}")
            else:
                variables.append((name, value))
        return value

    def _command(
        self, command: Command, dot: Any, variables: list[tuple[str, Any]], final: Any
    ) -> Any:
        first = command.args[0]
        if first.kind == "ident":
            args = [self._arg(arg, dot, variables) for arg in command.args[1:]]
            if final is not _NO_FINAL:
                args.append(final)
            try:
                result = self._call(first.name, args)
            except FuncError as exc:
                raise self._fail(
                    first.pos, command.text, f"error calling {first.name}: {exc}"
                ) from None
            return self._chain(result, first.chain, first, command.text, dot)
        if len(command.args) > 1 or final is not _NO_FINAL:
            if first.kind == "nil":
                raise self._fail(first.pos, "nil", "nil is not a command")
            raise self._fail(
                first.pos, first.text, f"can't give argument to non-function {first.text}"
            )
        if first.kind == "nil":
            raise self._fail(first.pos, "nil", "nil is not a command")
        return self._arg(first, dot, variables)

    def _arg(self, arg: Arg, dot: Any, variables: list[tuple[str, Any]]) -> Any:
        if arg.kind == "lit":
            return arg.value
        if arg.kind == "nil":
            return None
        if arg.kind == "dot":
            return dot
        if arg.kind == "field":
            return self._chain(dot, arg.chain, arg, arg.text, dot)
        if arg.kind == "var":
            for name, value in reversed(variables):
                if name == arg.name:
                    return self._chain(value, arg.chain, arg, arg.text, dot)
            raise self._fail(arg.pos, arg.text, f"undefined variable: {arg.name}")
        if arg.kind == "pipe":
            assert arg.pipe is not None
            return self._chain(self._pipe(arg.pipe, dot, variables), arg.chain, arg, arg.text, dot)
        if arg.kind == "ident":
            try:
                return self._call(arg.name, [])
            except FuncError as exc:
                raise self._fail(arg.pos, arg.text, f"error calling {arg.name}: {exc}") from None
        raise self._fail(arg.pos, arg.text, "unsupported operand")

    def _chain(self, value: Any, chain: list[str], arg: Arg, context: str, dot: Any) -> Any:
        for position, name in enumerate(chain):
            if isinstance(value, dict):
                value = value.get(name, MISSING)
            elif value is None or value is MISSING:
                raise self._fail(arg.pos, context, f"nil pointer evaluating interface {{}}.{name}")
            else:
                kind = go_type(value) if position == 0 and value is dot else "interface {}"
                raise self._fail(arg.pos, context, f"can't evaluate field {name} in type {kind}")
        return value

    # -- functions

    def _call(self, name: str, args: list[Any]) -> Any:
        handler: Callable[[list[Any]], Any] = getattr(self, f"_fn_{name}")
        return handler(args)

    def _fn_and(self, args: list[Any]) -> Any:
        _need(args, 1, "and")
        for value in args:
            if not truth(value):
                return value
        return args[-1]

    def _fn_or(self, args: list[Any]) -> Any:
        _need(args, 1, "or")
        for value in args:
            if truth(value):
                return value
        return args[-1]

    def _fn_not(self, args: list[Any]) -> Any:
        _exactly(args, 1, "not")
        return not truth(args[0])

    def _fn_len(self, args: list[Any]) -> Any:
        _exactly(args, 1, "len")
        value = args[0]
        if isinstance(value, str):
            return len(value.encode("utf-8"))
        if isinstance(value, list | dict):
            return len(value)
        if value is None or value is MISSING:
            raise FuncError("len of nil pointer")
        raise FuncError(f"len of type {go_type(value)}")

    def _fn_index(self, args: list[Any]) -> Any:
        _need(args, 1, "index")
        value = args[0]
        for key in args[1:]:
            if isinstance(value, dict):
                if not isinstance(key, str):
                    raise FuncError(f"value has type {go_type(key)}; should be string")
                value = value.get(key, MISSING)
            elif isinstance(value, list | str):
                if not isinstance(key, int) or isinstance(key, bool):
                    raise FuncError(f"cannot index slice/array with type {go_type(key)}")
                if not 0 <= key < len(value):
                    raise FuncError(f"index out of range: {key}")
                value = value[key] if isinstance(value, list) else value.encode("utf-8")[key]
            elif value is None or value is MISSING:
                raise FuncError("index of untyped nil")
            else:
                raise FuncError(f"can't index item of type {go_type(value)}")
        return value

    def _fn_print(self, args: list[Any]) -> Any:
        out: list[str] = []
        for position, value in enumerate(args):
            if position and not isinstance(value, str) and not isinstance(args[position - 1], str):
                out.append(" ")
            out.append(go_sprint_value(value))
        return "".join(out)

    def _fn_println(self, args: list[Any]) -> Any:
        return " ".join(go_sprint_value(value) for value in args) + "\n"

    def _fn_printf(self, args: list[Any]) -> Any:
        _need(args, 1, "printf")
        if not isinstance(args[0], str):
            raise FuncError(f"wrong type for value; expected string; got {go_type(args[0])}")
        return go_sprintf(args[0], args[1:])

    def _fn_eq(self, args: list[Any]) -> Any:
        _need(args, 2, "eq")
        first = _comparable(args[0])
        return any(first == _comparable(other) for other in args[1:])

    def _fn_ne(self, args: list[Any]) -> Any:
        _exactly(args, 2, "ne")
        return _comparable(args[0]) != _comparable(args[1])

    def _fn_lt(self, args: list[Any]) -> Any:
        return _ordered(args, "lt", lambda a, b: a < b)

    def _fn_le(self, args: list[Any]) -> Any:
        return _ordered(args, "le", lambda a, b: a <= b)

    def _fn_gt(self, args: list[Any]) -> Any:
        return _ordered(args, "gt", lambda a, b: a > b)

    def _fn_ge(self, args: list[Any]) -> Any:
        return _ordered(args, "ge", lambda a, b: a >= b)

    def _fn_html(self, args: list[Any]) -> Any:
        text = self._fn_print(args)
        for raw, escaped in (
            ("&", "&amp;"),
            ("'", "&#39;"),
            ('"', "&#34;"),
            ("<", "&lt;"),
            (">", "&gt;"),
        ):
            text = text.replace(raw, escaped)
        return text.replace("\x00", "\ufffd")

    def _fn_urlquery(self, args: list[Any]) -> Any:
        from urllib.parse import quote_plus

        return quote_plus(self._fn_print(args))

    def _fn_color(self, args: list[Any]) -> Any:
        _exactly(args, 2, "color")
        text = scalar_text(args[1])
        if not isinstance(args[0], str):
            raise FuncError("color name must be a string")
        return ansi_color(text, args[0]) if self.color else text

    _fn_autocolor = _fn_color

    def _fn_join(self, args: list[Any]) -> Any:
        _exactly(args, 2, "join")
        separator, items = args
        if not isinstance(items, list):
            raise FuncError(
                f"wrong type for value; expected []interface {{}}; got {go_type(items)}"
            )
        return str(separator).join(scalar_text(item) for item in items)

    def _fn_pluck(self, args: list[Any]) -> Any:
        _exactly(args, 2, "pluck")
        name, items = args
        if not isinstance(items, list):
            raise FuncError(
                f"wrong type for value; expected []interface {{}}; got {go_type(items)}"
            )
        plucked = []
        for item in items:
            if not isinstance(item, dict):
                raise FuncError(f"interface conversion: interface {{}} is {go_type(item)}, not map")
            plucked.append(item.get(name))
        return plucked

    def _fn_tablerow(self, args: list[Any]) -> Any:
        try:
            cells = [scalar_text(value) for value in args]
        except FuncError as exc:
            raise FuncError(f"failed to write table row: {exc}") from None
        self.table.add_row(cells)
        return ""

    def _fn_tablerender(self, args: list[Any]) -> Any:
        _exactly(args, 0, "tablerender")
        self._out.append(self.table.render())
        return ""

    def _fn_timefmt(self, args: list[Any]) -> Any:
        _exactly(args, 2, "timefmt")
        layout, value = args
        if not isinstance(value, str):
            raise FuncError(f"wrong type for value; expected string; got {go_type(value)}")
        return go_time_format(parse_rfc3339(value), str(layout))

    def _fn_timeago(self, args: list[Any]) -> Any:
        _exactly(args, 1, "timeago")
        if not isinstance(args[0], str):
            raise FuncError(f"wrong type for value; expected string; got {go_type(args[0])}")
        moment = parse_rfc3339(args[0])
        return time_ago((self.now() - moment).total_seconds())

    def _fn_truncate(self, args: list[Any]) -> Any:
        _exactly(args, 2, "truncate")
        width, value = args
        if not isinstance(width, int) or isinstance(width, bool):
            raise FuncError(f"wrong type for value; expected int; got {go_type(width)}")
        if value is None or value is MISSING:
            return ""
        if not isinstance(value, str):
            raise FuncError(f"invalid value; expected string, got {go_type(value)}")
        return truncate_text(width, value)

    def _fn_hyperlink(self, args: list[Any]) -> Any:
        _exactly(args, 2, "hyperlink")
        link, text = (str(value) for value in args)
        return f"\x1b]8;;{link}\x1b\\{text or link}\x1b]8;;\x1b\\"


_NO_FINAL = object()


def _need(args: list[Any], count: int, name: str) -> None:
    if len(args) < count:
        raise FuncError(f"wrong number of args for {name}: want at least {count} got {len(args)}")


def _exactly(args: list[Any], count: int, name: str) -> None:
    if len(args) != count:
        raise FuncError(f"wrong number of args for {name}: want {count} got {len(args)}")


def _comparable(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if value is MISSING:
        return None
    if isinstance(value, list | dict):
        raise FuncError("incompatible types for comparison")
    return value


def _ordered(args: list[Any], name: str, compare: Callable[[Any, Any], bool]) -> bool:
    _exactly(args, 2, name)
    left, right = _comparable(args[0]), _comparable(args[1])
    if isinstance(left, bool) or isinstance(right, bool) or type(left) is not type(right):
        raise FuncError("incompatible types for comparison")
    if left is None:
        raise FuncError("invalid type for comparison")
    return compare(left, right)
