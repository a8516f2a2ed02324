"""Numbers between libjq's text and gh's printing.

gojq (gh 2.23) holds the response's numbers as float64, but keeps integer literals
of the program exact (Go int or big.Int) and prints those with every digit.  libjq
(1.7+) keeps the literal's spelling too, but only in its text forms (``tojson``);
so ``--jq`` results cross from libjq as ``tojson`` text and each number token is
read here: a token that is libjq's spelling of a double is a float, any other
integer token is an exact literal.
"""

from __future__ import annotations

import math
import sys
from decimal import Decimal

DOUBLE_MAX = sys.float_info.max
_EXACT_DOUBLES = 2**53


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


def _is_libjq_double(token: str, number: int) -> bool:
    """Whether libjq prints some double as exactly ``token`` (shortest digits, and
    plain digits only while at most 15 zeros trail them)."""
    value = float(number)
    if math.isinf(value):
        return False
    shortest = Decimal(repr(value))
    exponent = shortest.normalize().as_tuple().exponent
    if not isinstance(exponent, int) or exponent > 15:
        return False
    return int(shortest) == number


def read_int_token(token: str) -> int | float:
    """An integer token of libjq's ``tojson``: float for doubles, int for exact literals."""
    number = int(token)
    if number == 0:
        return -0.0 if token.startswith("-") else 0.0
    if abs(number) <= _EXACT_DOUBLES or _is_libjq_double(token, number):
        return float(number)
    return number


def read_float_token(token: str) -> float:
    """A fractional or exponent token; libjq writes an infinity as the largest double."""
    value = float(token)
    if abs(value) == DOUBLE_MAX:
        return math.copysign(math.inf, value)
    return value


def literal_for_libjq(token: str) -> str:
    """A fractional or exponent literal of the program respelled so libjq treats it as
    gojq does (a float64): libjq would otherwise keep ``1.000`` or ``1e3`` as written
    in ``tostring``; gojq prints ``1`` and ``1000``."""
    value = float(token)
    if math.isfinite(value) and value != 0:
        text = go_float(value)
        if "e" not in text:
            return text
    # Arithmetic turns a literal into a plain double (also -0 and infinities).
    return f"({token}+0)"
