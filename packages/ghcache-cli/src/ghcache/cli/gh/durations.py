"""gh's ``--cache DURATION`` values: Go's ``time.ParseDuration`` syntax.

gh declares ``--cache`` as a Go duration flag, so "90s", "1h30m", "1.5h",
"300ms" and "0" are all valid and the error text is Go's.  Standard library
only (the CLI imports it on every run).
"""

from __future__ import annotations

import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")
# Go rejects durations beyond int64 nanoseconds (~292 years).
_MAX_SECONDS = (2**63 - 1) / 1e9


class DurationError(ValueError):
    """Text that is not a Go duration; the message is Go's wording."""


def parse_duration(text: str) -> float:
    """Seconds for a Go duration string, e.g. "30s" -> 30.0, "1h30m" -> 5400.0, "-5s" -> -5.0."""
    quoted = _go_quote(text)
    rest = text
    sign = 1.0
    if rest[:1] in ("+", "-"):
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise DurationError(f"time: invalid duration {quoted}")
    total = 0.0
    while rest:
        match = _PART.match(rest)
        number, unit = (match.group(1), match.group(2)) if match else ("", "")
        if number in ("", "."):
            raise DurationError(f"time: invalid duration {quoted}")
        if not unit:
            raise DurationError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            # Go takes the unit up to the next digit or dot; so did the regex.
            raise DurationError(f"time: unknown unit {_go_quote(unit)} in duration {quoted}")
        total += float(number) * _UNITS[unit]
        rest = rest[match.end() :] if match else ""
    if total > _MAX_SECONDS:
        raise DurationError(f"time: invalid duration {quoted}")
    return sign * total


def _go_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
