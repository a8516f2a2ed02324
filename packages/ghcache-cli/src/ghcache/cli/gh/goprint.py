"""Go's ``fmt`` for decoded JSON values, as ``--template`` prints them.

``%v`` (float64 numbers print as ``1e+06`` from a million on, null as
``<nil>``, an absent key as ``<no value>``), Go's type names for messages,
``Sprintf`` with the verbs templates use, and text/template's ``js`` escaping.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from decimal import Decimal

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a --template hit milliseconds; annotations are strings
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


def js_escape(text: str) -> str:
    """text/template's ``JSEscapeString``: quotes and backslashes escaped, ``< > & =`` and
    control characters as ``\\uXXXX`` (upper-case hex), other unprintable runes too."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in _JS_SPECIAL:
            out.append(_JS_SPECIAL[char])
        elif code < 0x20:
            out.append(f"\\u{code:04X}")
        elif code < 0x80 or unicodedata.category(char)[0] in "LMNPS":
            out.append(char)  # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols
        else:
            out.append(f"\\u{code:04X}")
    return "".join(out)


_JS_SPECIAL = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}

_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def go_sprintf(fmt: str, args: list[Any]) -> str:
    """``fmt.Sprintf`` for the verbs templates use (v s d f e g q t x %), with flags,
    width and precision (``*`` takes them from the arguments, as Go does)."""
    out: list[str] = []
    pending = list(args)
    taken = 0
    position = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[position : match.start()])
        position = match.end()
        flags, width_text, precision_text, verb = match.groups()
        flags = flags or ""
        width, precision = None, None
        if width_text == "*":
            width, flags, taken = _star(pending, taken, flags, out, "BADWIDTH")
        elif width_text:
            width = int(width_text)
        if precision_text == "*":
            precision, _unused, taken = _star(pending, taken, "", out, "BADPREC")
            if precision is not None and precision < 0:
                precision = None
        elif precision_text is not None or "." in match.group(0):
            precision = int(precision_text or 0)
        if verb == "%":
            out.append("%")
            continue
        if taken >= len(pending):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = pending[taken]
        taken += 1
        out.append(_format_one(value, flags, width, precision, verb))
    out.append(fmt[position:])
    if taken < len(pending):
        extra = ", ".join(f"{go_type(arg)}={go_sprint_value(arg)}" for arg in pending[taken:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _star(
    args: list[Any], taken: int, flags: str, out: list[str], bad: str
) -> tuple[int | None, str, int]:
    """A ``*`` width or precision: the next argument, which must be an int."""
    if taken < len(args):
        value = args[taken]
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0 and bad == "BADWIDTH":  # a negative width pads on the right
                return -value, flags + "-", taken + 1
            return value, flags, taken + 1
        taken += 1
    out.append(f"%!({bad})")
    return None, flags, taken


def _format_one(value: Any, flags: str, width: int | None, precision: int | None, verb: str) -> str:
    bad = f"%!{verb}({go_type(value)}={go_sprint_value(value)})"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(value, float) and verb in "vfFeEgGxX":
        if not math.isfinite(value):
            flags = flags.replace("0", "")  # Go pads Inf and NaN with spaces
        return _pad(_float_text(value, flags, precision, verb), flags, width, True)
    if verb == "v":
        text = go_sprint_value(value)
        if number and " " in flags and value >= 0:
            text = " " + text
    elif verb == "T":
        text = go_type(value)
    elif verb == "s":
        if not isinstance(value, str):
            return bad if value is not None else "%!s(<nil>)"
        text = value[:precision] if precision is not None else value
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
        sign = "+" if "+" in flags else (" " if " " in flags else "")
        text = format(value, f"{sign}{verb}")
    else:
        return bad
    return _pad(text, flags, width, number)


def _float_text(number: float, flags: str, precision: int | None, verb: str) -> str:
    """A float64 with %v %f %e %g %x (upper-case variants too), sign flags applied."""
    lower = verb.lower()
    if not math.isfinite(number):
        text = go_float_v(number)
    elif lower == "x":
        text = _hex_float(number)
    elif lower in "vg" and precision is None and "#" not in flags:
        text = go_float_v(number)
    else:
        alternate = "#" if "#" in flags and lower != "v" else ""
        digits = 6 if precision is None else precision
        text = format(number, f"{alternate}.{digits}{'g' if lower == 'v' else lower}")
    if verb in "EGX":
        text = text.upper()
    if verb != "v" and "+" in flags and not text.startswith(("-", "+")):
        text = "+" + text
    elif " " in flags and not text.startswith(("-", "+")):
        text = " " + text
    return text


def _hex_float(number: float) -> str:
    """strconv's 'x' format: ``0x1.8p+01``."""
    if number == 0:
        return ("-" if math.copysign(1.0, number) < 0 else "") + "0x0p+00"
    sign, _, rest = number.hex().rpartition("0x")
    mantissa, _, exponent = rest.partition("p")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = int(exponent)
    return f"{sign}0x{mantissa}p{'-' if power < 0 else '+'}{abs(power):02d}"


def _pad(text: str, flags: str, width: int | None, numeric: bool) -> str:
    """Go's padding to ``width`` runes: ``-`` on the right, ``0`` with zeros after the
    sign (numbers; text too in this Go version), else spaces on the left."""
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags:
        sign = text[0] if numeric and text[:1] in "+- " else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)
