"""``--jq`` with the real jq engine (the ``jq`` package), printed the way gh does.

gh 2.23 runs gojq over the body decoded into Go values, so every number is a
float64 and objects have sorted keys; then each result is printed on its own
line: strings, numbers, booleans and null raw (null as an empty line,
fractions with two decimals), arrays and objects as compact JSON with Go's
escaping.  This module reproduces that output from libjq's results; the program
is first made to run as gojq runs it (:mod:`ghcache.cli.gh.jqprogram`), and its
failures are worded as gojq's (:mod:`ghcache.cli.gh.jqerrors`).
"""

from __future__ import annotations

import json
import math
import re

from ghcache.cli.gh.jqnumbers import go_float, read_float_token, read_int_token
from ghcache.cli.gh.jqprogram import (
    HALT_KEY,
    Kind,
    ProgramError,
    assemble,
    compile_message,
    rewrite,
)
from ghcache.cli.gh.output import go_json_string

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a --jq hit milliseconds; annotations are strings
    from types import ModuleType
    from typing import IO, Any

__all__ = ["TOO_DEEP", "JqError", "JqFilter", "decode_go_json", "format_result", "go_float"]

TOO_DEEP = "the response is nested too deeply to filter"


def _errors() -> ModuleType:
    """gojq's wording of failures, loaded when a program fails (its patterns cost a hit
    several milliseconds to compile)."""
    from ghcache.cli.gh import jqerrors

    return jqerrors


class JqError(ValueError):
    """A jq program that does not compile or fails on the input (gh's message)."""


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

        self._source = program
        try:
            self._text = rewrite(program)
            self._program = jq.compile(assemble(self._text))
        except ProgramError as exc:
            raise JqError(str(exc)) from None
        except ValueError as exc:
            raise JqError(self._compile_error(exc)) from None
        self._probe: Any = None

    def _compile_error(self, exc: ValueError) -> str:
        import jq

        # The user's own text, so libjq's line and column point into it.
        try:
            jq.compile(self._source)
        except ValueError as original:
            return compile_message(str(original), self._source)
        return _errors().libjq_message(_one_line(exc), self._source)

    def run(self, body: bytes, out: IO[bytes]) -> None:
        """Write the program's results for ``body``; what came before an error is kept."""
        # libjq keeps each number's source spelling (tostring, @csv, interpolation) and
        # the source key order; gojq in gh sees float64 values in Go maps.  Handing libjq
        # the Go encoding of the decoded body gives it gojq's spellings and key order.
        try:
            text = prepare_input(decode_go_json(body))
        except RecursionError:
            raise JqError(TOO_DEEP) from None
        if not self._results(self._program, text, out):
            raise JqError(self._halt_message(text))

    def _results(self, program: Any, text: str, out: IO[bytes] | None) -> bool:
        """Print each result; False when the program halted (no end marker)."""
        try:
            for kind, *payload in program.input_text(text):
                if kind == Kind.END:
                    return True
                if kind == Kind.ERROR:
                    raise JqError(_errors().runtime_message(read_value(payload[0]), self._text))
                if out is None:
                    continue
                if kind == Kind.SPECIAL:
                    line = payload[0] + "\n"
                else:
                    line = format_result(read_value(payload[0]))
                out.write(line.encode("utf-8", errors="replace"))
        except ValueError as exc:
            if isinstance(exc, JqError):
                raise
            raise JqError(_errors().libjq_message(_one_line(exc), self._text)) from None
        except RecursionError:
            raise JqError(TOO_DEEP) from None
        return False

    def _halt_message(self, text: str) -> str:
        """gh's line for halt/halt_error: the program runs again with halting made an
        error that carries the value (the jq package does not report a halt's value)."""
        import jq

        if self._probe is None:
            self._probe = jq.compile(assemble(self._text, probe=True))
        try:
            for kind, *payload in self._probe.input_text(text):
                if kind == Kind.ERROR:
                    value = read_value(payload[0])
                    if isinstance(value, dict) and HALT_KEY in value:
                        return _errors().error_value_message(value[HALT_KEY][0])
                    break
        except (ValueError, RecursionError):
            pass
        return _errors().error_value_message(None)  # the program caught its own halt: value unknown


_EXPONENT = re.compile(r"[0-9]e[-+][0-9]")


def prepare_input(value: Any) -> str:
    """The wrapper's input: ``[paths of numbers spelled with an exponent, body]``."""
    text = go_encode(value)
    paths: list[list[str | int]] = []
    if _EXPONENT.search(text):  # else there is none, and no need to look
        _exponent_paths(value, [], paths)
    return f"[{json.dumps(paths)},{text}]"


def _exponent_paths(value: Any, path: list[str | int], found: list[list[str | int]]) -> None:
    if isinstance(value, float) and "e" in go_float(value):
        found.append(list(path))
    elif isinstance(value, dict):
        for key, item in value.items():
            _exponent_paths(item, [*path, key], found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _exponent_paths(item, [*path, index], found)


def read_value(text: str) -> Any:
    """A value from libjq's ``tojson``, numbers read as gojq holds them."""
    return json.loads(text, parse_int=read_int_token, parse_float=read_float_token)


def decode_go_json(body: bytes) -> Any:
    """``json.Unmarshal`` into ``interface{}``: every number a float64; Go-like error text."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text, parse_int=float, parse_constant=_reject)
    except json.JSONDecodeError as exc:
        raise JqError(_errors().go_syntax_error(text, exc)) from None
    except RecursionError:
        raise JqError(TOO_DEEP) from None
    except ValueError as exc:
        raise JqError(str(exc)) from None


def _reject(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def format_scalar(value: Any) -> str | None:
    """gh's ``jsonScalarToString``; None for arrays and objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)  # a Go int (gojq keeps integer literals exact)
    if isinstance(value, float):
        number = value
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "+Inf" if number > 0 else "-Inf"
        if math.trunc(number) == number:
            return f"{number:.0f}"
        return f"{number:.2f}"
    return None


def go_encode(value: Any) -> str:
    """``json.NewEncoder(w).Encode(v)`` without the newline: sorted keys, HTML escaped."""
    if isinstance(value, str):
        return go_json_string(value, escape_html=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JqError(f"json: unsupported value: {format_scalar(value)}")
        return go_float(value)
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
