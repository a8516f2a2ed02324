"""A ``--jq`` program prepared for libjq so that it behaves as gojq (gh 2.23) runs it.

The program's text is rewritten by a small scanner that knows jq's strings (with
``\\(...)`` interpolation) and comments:

* comments become blanks: gojq ends a comment at the line's end, libjq 1.8 lets
  a trailing backslash carry it onto the next line;
* fractional and exponent literals are respelled as gojq's float64 (libjq keeps
  ``1.000`` as written in ``tostring``);
* ``@uri`` becomes gojq's (Go's ``url.QueryEscape``: a space is ``+``).

It then runs inside a wrapper (:func:`assemble`): a prelude of definitions where
gojq's builtins differ from libjq's, and a ``try`` that hands every result and the
first error back as ``tojson`` text tagged with its kind (see :class:`Kind`).
"""

from __future__ import annotations

import json
import re
from enum import IntEnum

from ghcache.cli.gh.jqnumbers import literal_for_libjq


class Kind(IntEnum):
    """The tag of each value the wrapped program yields."""

    RESULT = 0  # [0, tojson text]
    ERROR = 1  # [1, tojson text of the error value]; the program stopped there
    END = 2  # [2]: the program ran to its end (absent after halt/halt_error)
    SPECIAL = 3  # [3, "NaN" | "+Inf" | "-Inf"]: a non-finite number result


HALT_KEY = "__ghcache_halt"
INPUT_NOT_ALLOWED = "input(s)/0 is not allowed"

# gojq's builtins where libjq's differ; each original is captured before it is shadowed.
_PRELUDE = (
    "def __ghc_error0: error;",
    # gojq 0.12 treats error(null) as empty, even under try
    "def error: if . == null then empty else __ghc_error0 end;",
    "def error(f): f as $__ghc_v | $__ghc_v | error;",
    "def __ghc_limit($n; f): limit($n; f);",
    "def limit($n; f): if $n < 0 then f else __ghc_limit($n; f) end;",
    "def __ghc_ltrimstr($x): ltrimstr($x);",
    'def ltrimstr($x): if type == "string" and ($x|type) == "string"'
    " then __ghc_ltrimstr($x) else . end;",
    "def __ghc_rtrimstr($x): rtrimstr($x);",
    'def rtrimstr($x): if type == "string" and ($x|type) == "string"'
    " then __ghc_rtrimstr($x) else . end;",
    # gojq sorts keys; libjq lists an object the program built in insertion order
    "def to_entries: [keys[] as $k | {key: $k, value: .[$k]}];",
    "def leaf_paths: paths(scalars);",
    f'def input: error("{INPUT_NOT_ALLOWED}");',
    f'def inputs: error("{INPUT_NOT_ALLOWED}");',
    'def __ghc_uri: @uri | split("%20") | join("+");',
    # A NaN inside an array or object comes out as null (gh fails on it): finding one
    # would mean walking every result.
    'def __ghc_out: if type == "number" then'
    ' (if isnan then [3, "NaN"] elif isinfinite then [3, (if . > 0 then "+Inf" else "-Inf" end)]'
    " else [0, tojson] end)"
    " else [0, tojson] end;",
)
# Only to learn a halt's value (libjq halts silently through the jq package): a halt
# becomes an error the wrapper reports.
_PROBE = (
    f'def halt_error: {{"{HALT_KEY}": [.]}} | __ghc_error0;',
    "def halt_error($code): halt_error;",
    "def halt: null | halt_error;",
)


def assemble(program: str, *, probe: bool = False) -> str:
    """The rewritten ``program`` inside the prelude and the reporting wrapper."""
    defs = " ".join(_PRELUDE + (_PROBE if probe else ()))
    if not program.strip():
        program = "."  # gojq reads a program of only blanks (or comments) as identity
    # The input is [paths, body]: the numbers at those paths become plain doubles, as
    # libjq would otherwise spell them as its literals ("1E+300" where gojq has 1e+300).
    prepare = (
        ".[0] as $__ghc_p | .[1] | reduce $__ghc_p[] as $__ghc_q"
        " (.; setpath($__ghc_q; getpath($__ghc_q) + 0))"
    )
    # The newline ends a comment the program finishes with (blanked anyway).
    return f"{defs} {prepare} | (try (({program}\n) | __ghc_out) catch [1, tojson]), [2]"


# --------------------------------------------------------------------------- rewriting

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$")
_MODULE = re.compile(r'\s*(?:import|include)\s*"((?:[^"\\]|\\.)*)"')


class ProgramError(ValueError):
    """The program cannot run as gojq would (gojq's message)."""


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.unterminated = False

    def code(self, *, inner: bool) -> str:
        """Code up to the end, or up to the ``)`` closing an interpolation (not consumed)."""
        text, out, depth = self.text, [], 0
        while self.pos < len(text):
            char = text[self.pos]
            if char == "#":
                end = text.find("\n", self.pos)
                end = len(text) if end < 0 else end
                out.append(" " * (end - self.pos))
                self.pos = end
            elif char == '"':
                out.append(self.string(uri=False))
            elif char == "@":
                out.append(self.format())
            elif char in "0123456789" and (self.pos == 0 or text[self.pos - 1] not in _WORD_CHARS):
                match = _NUMBER.match(text, self.pos)
                assert match is not None
                token = match.group()
                plain = not any(mark in token for mark in ".eE")
                out.append(token if plain else literal_for_libjq(token))
                self.pos = match.end()
            elif match := _IDENT.match(text, self.pos):
                # whole words, so digits inside names are never read as numbers
                out.append(match.group())
                self.pos = match.end()
            else:
                if char == "(":
                    depth += 1
                elif char == ")":
                    if inner and depth == 0:
                        return "".join(out)
                    depth -= 1
                out.append(char)
                self.pos += 1
        return "".join(out)

    def string(self, *, uri: bool) -> str:
        """A string literal from its opening quote; with ``uri`` each interpolated value
        goes through gojq's @uri (the ``@uri "..."`` form)."""
        text, out = self.text, ['"']
        self.pos += 1
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                out.append('"')
                return "".join(out)
            if char == "\\" and text[self.pos + 1 : self.pos + 2] == "(":
                self.pos += 2
                inner = self.code(inner=True)
                if self.pos >= len(text):
                    self.unterminated = True
                    return "".join(out) + "\\(" + inner
                self.pos += 1  # the closing parenthesis
                out.append(f"\\(({inner}) | __ghc_uri)" if uri else f"\\({inner})")
                continue
            step = 2 if char == "\\" else 1
            out.append(text[self.pos : self.pos + step])
            self.pos += step
        self.unterminated = True
        return "".join(out)

    def format(self) -> str:
        match = _IDENT.match(self.text, self.pos + 1)
        if match is None:
            self.pos += 1
            return "@"
        self.pos = match.end()
        if match.group() != "uri":
            return "@" + match.group()
        after = self.pos
        while after < len(self.text) and self.text[after] in " \t\r\n":
            after += 1
        if after < len(self.text) and self.text[after] == '"':
            self.pos = after
            return self.string(uri=True)
        return "__ghc_uri"


def rewrite(program: str) -> str:
    """``program`` with comments blanked, float literals and ``@uri`` made gojq's."""
    text = _Scanner(program).code(inner=False)
    module = _MODULE.match(text)
    if module:
        # gh gives gojq no module loader
        raise ProgramError(f"cannot load module: {json.dumps(module.group(1))}")
    return text


def unterminated_string(program: str) -> bool:
    scanner = _Scanner(program)
    scanner.code(inner=False)
    return scanner.unterminated


# --------------------------------------------------------------------------- compile errors

_LOCATED = re.compile(
    r"^(?:jq: error: )?(?P<msg>.*?) at <(?:top-level|unknown)>, line (?P<line>\d+)"
    r"(?:, column (?P<col>\d+))?:?$"
)
_TOKEN = re.compile(
    r'\?//|//=|\.\.|\|=|\+=|-=|\*=|/=|%=|==|!=|<=|>=|//|"(?:[^"\\]|\\.)*"?'
    r"|\$?[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*"
    r"|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\S"
)


def token_at(program: str, line: int, column: int) -> str:
    """The token libjq points at (its line and byte column are 1-based)."""
    lines = program.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    rest = lines[line - 1].encode("utf-8")[max(column - 1, 0) :].decode("utf-8", "replace")
    match = _TOKEN.match(rest)
    return match.group() if match else ""


def compile_message(raw: str, program: str) -> str:
    """gojq's words for why ``program`` does not compile, from libjq's report of the
    program as the user wrote it (not rewritten, so the positions are the user's)."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    first = next(
        (line for line in lines if line.startswith("jq: error")), lines[0] if lines else ""
    )
    located = _LOCATED.match(first)
    message = located.group("msg") if located else first.removeprefix("jq: error: ")
    if "unexpected end of file" in message or "unexpected $end" in message:
        return "unterminated string literal" if unterminated_string(program) else "unexpected EOF"
    if message.startswith("syntax error, unexpected") and located and located.group("col"):
        token = token_at(program, int(located.group("line")), int(located.group("col")))
        if token:
            return f"unexpected token {json.dumps(token, ensure_ascii=False)}"
    if match := re.fullmatch(r"\$\*label-(\S+) is not defined", message):
        return f"label not defined: ${match.group(1)}"
    if match := re.fullmatch(r"(\$\S+) is not defined", message):
        return f"variable not defined: {match.group(1)}"
    if match := re.fullmatch(r"(\S+/\d+) is not defined", message):
        return f"function not defined: {match.group(1)}"
    # libjq evaluates constant parts while compiling ({(1): 2}): a runtime message
    from ghcache.cli.gh.jqerrors import libjq_message  # failures only: see jqfilter._errors

    return libjq_message(message, program)
