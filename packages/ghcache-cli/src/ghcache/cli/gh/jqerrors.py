"""What gh prints when a ``--jq`` program fails, from what libjq reports.

gh prints gojq's error text alone: ``error: VALUE`` for ``error(VALUE)`` and
``halt_error`` (a string as is, anything else as gojq's JSON), and gojq's own
wording for its type errors (``cannot add: number (1) and string ("a")``).  libjq
words the same failures differently (``number (1) and string ("a") cannot be
added``); where its message carries what gojq's needs, it is reworded here.
Messages libjq cannot supply the parts for (``Cannot index array with "x"`` lacks
the array gojq shows) stay libjq's.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from ghcache.cli.gh.jqnumbers import go_float
from ghcache.cli.gh.jqprogram import INPUT_NOT_ALLOWED

# gojq's refusal of input/inputs, which gh gives no input iterator

_TYPE = r"(?:null|boolean|number|string|array|object)"
_ONE = rf"(?P<t>{_TYPE}) \((?P<v>.*)\)"
_TWO = rf"(?P<t>{_TYPE}) \((?P<v>.*)\) and (?P<t2>{_TYPE}) \((?P<v2>.*)\)"
_CLOSERS = {"string": '"', "array": "]", "object": "}"}
_GOJQ_CONTROL = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def gojq_string(text: str) -> str:
    """gojq's encoder for a string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in _GOJQ_CONTROL:
            out.append(_GOJQ_CONTROL[char])
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def gojq_json(value: Any) -> str:
    """gojq's JSON (``tojson``, error values): sorted keys, no HTML escaping, and an
    infinity clamped to the largest double."""
    if isinstance(value, str):
        return gojq_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "1.7976931348623157e+308" if value > 0 else "-1.7976931348623157e+308"
        return go_float(value)
    if isinstance(value, dict):
        members = (f"{gojq_string(key)}:{gojq_json(value[key])}" for key in sorted(value))
        return "{" + ",".join(members) + "}"
    return "[" + ",".join(gojq_json(item) for item in value) + "]"


def error_value_message(value: Any) -> str:
    """gojq's text for ``error(value)`` and ``halt_error``."""
    return "error: " + (value if isinstance(value, str) else gojq_json(value))


def gojq_preview(value: Any) -> str:
    """gojq's ``TYPE (VALUE)`` of a whole value: its JSON, cut to 25 bytes past 30."""
    if value is None:
        return "null"
    kind = gojq_type(value)
    text = gojq_json(value)
    raw = text.encode("utf-8")
    if len(raw) > 30:
        closer = _CLOSERS.get(kind, "")
        keep = 30 - len(" ..." + closer)
        text = raw[:keep].decode("utf-8", "ignore") + " ..." + closer
    return f"{kind} ({text})"


def gojq_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _preview(kind: str, dump: str) -> str:
    """gojq's ``TYPE (VALUE)`` from libjq's: both cut a long value to its first 25 bytes,
    libjq then adds ``...`` and gojq `` ...`` (before the closing quote or bracket)."""
    if kind == "null":
        return "null"
    closer = _CLOSERS.get(kind, "")
    tail = "..." + closer
    if dump.endswith(tail) and 26 <= len(dump.encode("utf-8")) <= 29:
        dump = dump[: -len(tail)] + " ..." + closer
    elif kind == "number":
        dump = _number(dump)
    return f"{kind} ({dump})"


def _number(dump: str) -> str:
    try:
        if re.fullmatch(r"-?[0-9]+", dump):
            return str(int(dump))
        return go_float(float(dump))
    except ValueError:
        return dump


def _whole(text: str) -> bool:
    return not (text.endswith('..."') and 26 <= len(text.encode("utf-8")) <= 29)


def _pair(verb: str) -> Callable[[re.Match[str], str], str]:
    return lambda m, _p: (
        f"cannot {verb}: {_preview(m['t'], m['v'])} and {_preview(m['t2'], m['v2'])}"
    )


def _by_zero(verb: str) -> Callable[[re.Match[str], str], str]:
    return lambda m, _p: (
        f"cannot {verb} {_preview(m['t'], m['v'])} by: {_preview(m['t2'], m['v2'])}"
    )


def _applied(name: str) -> Callable[[re.Match[str], str], str]:
    return lambda m, _p: f"{name} cannot be applied to: {_preview(m['t'], m['v'])}"


def _csv_row(m: re.Match[str], program: str) -> str:
    # libjq words a bad @tsv cell as a csv one; the program says which format it was
    name = "@tsv" if "@tsv" in program and "@csv" not in program else "@csv"
    return f"{name} cannot format an array including: {_preview(m['t'], m['v'])}"


def _named(*names: str) -> Callable[[re.Match[str], str], str]:
    """libjq's ``*_by`` builtins share one message; the program says which one failed
    when it calls only one of them."""

    def reword(m: re.Match[str], program: str) -> str:
        used = [name for name in names if re.search(rf"\b{name}\b", program)]
        if len(used) != 1:
            return m.group(0)
        return f"{used[0]} cannot be applied to: {_preview(m['t'], m['v'])}"

    return reword


def _not_a_number(m: re.Match[str], _program: str) -> str:
    if m["t"] == "string" and _whole(m["v"]):
        return f"invalid number: {json.dumps(json.loads(m['v']), ensure_ascii=False)}"
    return f"tonumber cannot be applied to: {_preview(m['t'], m['v'])}"


def go_syntax_error(text: str, exc: json.JSONDecodeError) -> str:
    """Go's json.Unmarshal message for the usual cases: not JSON at all, or cut short."""
    if not text.strip() or exc.pos >= len(text.rstrip()):
        return "unexpected end of JSON input"
    char = text[exc.pos]
    if exc.msg.startswith("Expecting value"):
        return f"invalid character {_go_char(char)} looking for beginning of value"
    if exc.msg.startswith("Extra data"):
        return f"invalid character {_go_char(char)} after top-level value"
    return f"invalid character {_go_char(char)} ({exc.msg.lower()})"


def _go_char(char: str) -> str:
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return f"'{char}'"


def _fromjson(m: re.Match[str], _program: str) -> str:
    text = m["text"]
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Extra data"):
            return f"fromjson cannot be applied to: {gojq_preview(text)}"
        message = go_syntax_error(text, exc)
        # gojq decodes with a json.Decoder, which says a cut-short text differently
        return "unexpected EOF" if message == "unexpected end of JSON input" else message
    return m.group(0)


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str], str], str]]] = [
    (re.compile(rf"{_TWO} cannot be divided because the divisor is zero"), _by_zero("divide")),
    (
        re.compile(rf"{_TWO} cannot be divided \(remainder\) because the divisor is zero"),
        _by_zero("modulo"),
    ),
    (re.compile(rf"{_TWO} cannot be added"), _pair("add")),
    (re.compile(rf"{_TWO} cannot be subtracted"), _pair("subtract")),
    (re.compile(rf"{_TWO} cannot be multiplied"), _pair("multiply")),
    (re.compile(rf"{_TWO} cannot be divided"), _pair("divide")),
    (re.compile(rf"{_TWO} cannot be divided \(remainder\)"), _pair("modulo")),
    (
        re.compile(rf"Cannot iterate over {_ONE}"),
        lambda m, _p: f"cannot iterate over: {_preview(m['t'], m['v'])}",
    ),
    (re.compile(rf"{_ONE} has no keys"), _applied("keys")),
    (re.compile(rf"{_ONE} has no length"), _applied("length")),
    (re.compile(rf"{_ONE} cannot be sorted, as it is not an array"), _applied("sort")),
    (
        re.compile(rf"{_ONE} cannot be csv-formatted, only (?:an )?array(?: can be)?"),
        _applied("@csv"),
    ),
    (
        re.compile(rf"{_ONE} cannot be tsv-formatted, only (?:an )?array(?: can be)?"),
        _applied("@tsv"),
    ),
    (re.compile(rf"{_ONE} is not valid in a csv row"), _csv_row),
    (
        re.compile(rf"{_ONE} and array \(.*\) cannot be sorted, as they are not both arrays"),
        _named("sort_by", "group_by", "unique_by"),
    ),
    (
        re.compile(rf"{_ONE} and array \(.*\) cannot be iterated over"),
        _named("min_by", "max_by"),
    ),
    (
        re.compile(rf"Cannot use {_ONE} as object key"),
        lambda m, _p: f"expected a string for object key but got: {_preview(m['t'], m['v'])}",
    ),
    (re.compile(rf"{_ONE} cannot be parsed as a number"), _not_a_number),
    (
        re.compile(r"(?P<name>\w+) is not a valid format"),
        lambda m, _p: f"format not defined: @{m['name']}",
    ),
    (re.compile(r".* \(while parsing '(?P<text>.*)'\)", re.DOTALL), _fromjson),
]

# libjq's own failures (src/builtin.c, jv*.c, execute.c, builtin.jq); any other string
# a program fails with came from error(...) and prints as gojq's "error: ...".
_LIBJQ = re.compile(
    rf"{_TYPE} \(.*|Cannot .*|Invalid .*|Regex failure: .*|Out of bounds .*|Only arrays .*"
    r"|Array.*|Range bounds .*|Paths? must be .*|Object .*|String too long|Repeat string .*"
    r"|A slice .*|break|\S+ input must be .*|\S+ requires .*|date \".*|mktime .*|gmtime.*"
    r"|strf\w*/1.*|error converting .*|invalid gmtime .*|.* is not a valid format"
    r"|.* not a string or array|flatten depth must not be negative"
    r"|\w+ doesn't support negative \w+( indices)?|.* too deep|.*\(while parsing '.*'\)"
    rf"|{re.escape(INPUT_NOT_ALLOWED)}",
    re.DOTALL,
)


def runtime_message(value: Any, program: str) -> str:
    """What gh prints for a program stopped by the error ``value`` (libjq's error value)."""
    if not isinstance(value, str) or not _LIBJQ.fullmatch(value):
        return error_value_message(value)
    return libjq_message(value, program)


def libjq_message(message: str, program: str) -> str:
    """gojq's wording of one of libjq's failure messages, where it can be rebuilt."""
    for pattern, reword in _RULES:
        match = pattern.fullmatch(message)
        if match:
            return reword(match, program)
    return message
