"""Go's ``fmt`` for decoded JSON values, as ``--template`` prints them.

``%v`` (float64 numbers print as ``1e+06`` from a million on, null as
``<nil>``, an absent key as ``<no value>``), Go's type names for messages, and
``Sprintf`` with the verbs templates use.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any


class _Missing:
    """A key absent from an object: prints as ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING = _Missing()


def go_float_v(number: float) -> str:
    """``fmt.Sprint(float64)``: %g with the shortest digits, exponent from 1e+06."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    sign, digits, exponent = Decimal(repr(number)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + int(exponent)  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:  # Go's %v uses %e from 1e+06 on
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def go_sprint_value(value: Any) -> str:
    """How Go's fmt prints a decoded JSON value with %v."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float_v(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(_nested(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_nested(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def _nested(value: Any) -> str:
    return "<nil>" if value is None or value is MISSING else go_sprint_value(value)


def go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "<nil>"


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def go_sprintf(fmt: str, args: list[Any]) -> str:
    """``fmt.Sprintf`` for the verbs templates use (v s d f e g q t x %)."""
    out: list[str] = []
    index = 0
    position = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[position : match.start()])
        position = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[index]
        index += 1
        out.append(_format_one(value, flags or "", width, precision, verb))
    out.append(fmt[position:])
    if index < len(args):
        extra = ", ".join(f"{go_type(arg)}={go_sprint_value(arg)}" for arg in args[index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format_one(value: Any, flags: str, width: str | None, precision: str | None, verb: str) -> str:
    spec_flags = flags.replace("#", "")
    align = "<" if "-" in spec_flags else ""
    sign = "+" if "+" in spec_flags else ""
    zero = "0" if "0" in spec_flags and not align else ""
    size = width if width and width != "*" else ""
    prec = f".{precision}" if precision is not None and precision != "*" else ""
    bad = f"%!{verb}({go_type(value)}={go_sprint_value(value)})"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if verb == "v":
        text = go_sprint_value(value)
    elif verb == "T":
        text = go_type(value)
    elif verb == "s":
        if not isinstance(value, str):
            return bad if value is not None else "%!s(<nil>)"
        text = value[: int(precision)] if precision and precision != "*" else value
    elif verb == "q":
        if not isinstance(value, str):
            return bad
        text = json.dumps(value, ensure_ascii=False)
    elif verb == "t":
        if not isinstance(value, bool):
            return bad
        text = "true" if value else "false"
    elif verb in "dxXob":
        if not isinstance(value, int) or isinstance(value, bool):
            if verb in "xX" and isinstance(value, str):
                text = value.encode("utf-8").hex()
                return text.upper() if verb == "X" else text
            return bad
        return format(value, f"{align}{sign}{zero}{size}{verb if verb != 'd' else 'd'}")
    elif verb in "feEgG":
        if not number:
            return bad
        py = {"f": "f", "e": "e", "E": "E", "g": "g", "G": "G"}[verb]
        if verb in "gG" and not prec:
            text = go_float_v(float(value))
        else:
            text = format(float(value), f"{sign}{prec or ('.6' if verb in 'feE' else '')}{py}")
    else:
        return bad
    if size:
        text = format(text, f"{align or '>'}{size}") if not zero else text.rjust(int(size), "0")
    return text
