"""``--jq`` with the real jq engine (the ``jq`` package), printed the way gh does.

gh 2.23 runs gojq over the body decoded into Go values, so every number is a
float64 and objects have sorted keys; then each result is printed on its own
line: strings, numbers, booleans and null raw (null as an empty line,
fractions with two decimals), arrays and objects as compact JSON with Go's
escaping.  This module reproduces that output from libjq's results.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import IO, Any

from ghcache.cli.gh.output import go_json_string

TOO_DEEP = "the response is nested too deeply to filter"


class JqError(ValueError):
    """A jq program that does not compile or fails on the input (one line)."""


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("jq: ") or "compile error" not in line]
    text = lines[0] if lines else type(exc).__name__
    text = text.removeprefix("jq: error: ").removeprefix("jq: error (at <unknown>): ")
    return text.rstrip(":").strip()


class JqFilter:
    """A compiled ``--jq`` program, reused for every page."""

    def __init__(self, program: str) -> None:
        import jq

        try:
            self._program = jq.compile(program)
        except ValueError as exc:
            raise JqError(_one_line(exc)) from None

    def run(self, body: bytes, out: IO[bytes]) -> None:
        """Write the program's results for ``body``; what came before an error is kept."""
        # libjq keeps each number's source spelling (tostring, @csv, interpolation) and
        # the source key order; gojq in gh sees float64 values in Go maps.  Handing libjq
        # the Go encoding of the decoded body gives it gojq's spellings and key order.
        try:
            text = go_encode(decode_go_json(body))
        except RecursionError:
            raise JqError(TOO_DEEP) from None
        try:
            for result in self._program.input_text(text):
                out.write(format_result(result).encode("utf-8", errors="replace"))
        except ValueError as exc:
            raise JqError(_one_line(exc)) from None
        except RecursionError:
            raise JqError(TOO_DEEP) from None


def decode_go_json(body: bytes) -> Any:
    """``json.Unmarshal`` into ``interface{}``: every number a float64; Go-like error text."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text, parse_int=float, parse_constant=_reject)
    except json.JSONDecodeError as exc:
        raise JqError(go_syntax_error(text, exc)) from None
    except RecursionError:
        raise JqError(TOO_DEEP) from None
    except ValueError as exc:
        raise JqError(str(exc)) from None


def _reject(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def go_syntax_error(text: str, exc: json.JSONDecodeError) -> str:
    """Go's message for the usual cases: not JSON at all, or cut short."""
    stripped = text.strip()
    if not stripped:
        return "unexpected end of JSON input"
    if exc.pos >= len(text.rstrip()):
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


def format_scalar(value: Any) -> str | None:
    """gh's ``jsonScalarToString``; None for arrays and objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        number = float(value)
        if math.isinf(number) or math.isnan(number):
            return None
        if math.trunc(number) == number:
            return f"{number:.0f}"
        return f"{number:.2f}"
    return None


def go_float(number: float) -> str:
    """Go's encoding/json float64 form: shortest digits, exponent only when tiny or huge."""
    if math.isnan(number) or math.isinf(number):
        return "null"
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    magnitude = abs(number)
    if magnitude < 1e-6 or magnitude >= 1e21:
        text = repr(number)
        mantissa, _, exponent = text.partition("e")
        sign = exponent[0] if exponent[:1] in "+-" else "+"
        digits = exponent.lstrip("+-").lstrip("0") or "0"
        if mantissa.endswith(".0"):
            mantissa = mantissa[:-2]
        if len(digits) < 2 and sign == "+":
            digits = digits.rjust(2, "0")
        if sign == "-" and len(digits) < 2:
            return f"{mantissa}e-{digits}"
        return f"{mantissa}e{sign}{digits}"
    text = format(Decimal(repr(number)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def go_encode(value: Any) -> str:
    """``json.NewEncoder(w).Encode(v)`` without the newline: sorted keys, HTML escaped."""
    if isinstance(value, str):
        return go_json_string(value, escape_html=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return go_float(float(value))
    if isinstance(value, dict):
        members = (
            f"{go_json_string(key, escape_html=True)}:{go_encode(value[key])}"
            for key in sorted(value)
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_encode(item) for item in value) + "]"
    return go_json_string(str(value), escape_html=True)


def format_result(value: Any) -> str:
    """One ``--jq`` result line as gh prints it."""
    scalar = format_scalar(value)
    if scalar is not None:
        return scalar + "\n"
    return go_encode(value) + "\n"
