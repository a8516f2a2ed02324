"""go-gh's text helpers, as ``--template``'s functions need them.

mgutz/ansi colours, go-gh's text truncation, time formatting and its terminal
table printer.  Used by :mod:`ghcache.cli.gh.template`; Go's value printing is
:mod:`ghcache.cli.gh.goprint`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from ghcache.cli.gh.goprint import MISSING, go_sprint_value
from ghcache.cli.gh.jqfilter import format_scalar

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a --template hit milliseconds; annotations are strings
    from typing import Any

_ANSI_COLORS = {
    "black": 0,
    "red": 1,
    "green": 2,
    "yellow": 3,
    "blue": 4,
    "magenta": 5,
    "cyan": 6,
    "white": 7,
    "default": 9,
}


def ansi_color(text: str, style: str) -> str:
    """mgutz/ansi ``Color(text, style)``: "red", "green+b", "white:blue", "208"."""
    if not style or style == "off":
        return text
    if style == "reset":
        return "\x1b[0m" + text + "\x1b[0m"
    fg_part, _, bg_part = style.partition(":")
    fg_key, _, fg_style = fg_part.partition("+")
    bg_key, _, bg_style = bg_part.partition("+")
    codes = ["0"]
    base = 30
    for flag, code in (("b", "1"), ("B", "5"), ("u", "4"), ("i", "7"), ("s", "9")):
        if flag in fg_style:
            codes.append(code)
    if "h" in fg_style:
        base = 90
    if fg_key.isdigit():
        codes.append(f"38;5;{int(fg_key)}")
    else:
        codes.append(str(base + _ANSI_COLORS.get(fg_key, 0)))
    if bg_key:
        bg_base = 100 if "h" in bg_style else 40
        if bg_key.isdigit():
            codes.append(f"48;5;{int(bg_key)}")
        else:
            codes.append(str(bg_base + _ANSI_COLORS.get(bg_key, 0)))
    return "\x1b[" + ";".join(codes) + "m" + text + "\x1b[0m"


def scalar_text(value: Any, what: str = "") -> str:
    """gh's ``jsonScalarToString`` (error for arrays and objects)."""
    if value is MISSING:
        value = None
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    text = format_scalar(value)
    if text is None:
        raise FuncError(f"cannot convert type to string: {go_sprint_value(value)}")
    return text


def display_width(text: str) -> int:
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate_text(max_width: int, text: str) -> str:
    """go-gh ``text.Truncate``: cut to ``max_width`` columns, "..." when there is room."""
    if display_width(text) <= max_width:
        return text
    tail = "..." if max_width >= 5 else ""
    limit = max_width - len(tail)
    kept: list[str] = []
    used = 0
    for char in text:
        char_width = display_width(char)
        if used + char_width > limit:
            break
        kept.append(char)
        used += char_width
    result = "".join(kept) + tail
    if display_width(result) < max_width:
        result += " "
    return result


_GO_LAYOUT = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|Z07:00|Z0700|Z07|-07:00|-0700|-07|"
    r"\.0+|\.9+|01|02|03|04|05|06|15|_2|PM|pm|1|2|3|4|5"
)


def go_time_format(moment: datetime, layout: str) -> str:
    """Go's ``time.Format`` for the usual layout elements."""

    def element(match: re.Match[str]) -> str:
        token = match.group(0)
        hour12 = moment.hour % 12 or 12
        offset = moment.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "-" if minutes < 0 else "+"
        hh, mm = divmod(abs(minutes), 60)
        simple = {
            "January": moment.strftime("%B"),
            "Jan": moment.strftime("%b"),
            "Monday": moment.strftime("%A"),
            "Mon": moment.strftime("%a"),
            "MST": moment.tzname() or "UTC" if minutes else "UTC",
            "2006": f"{moment.year:04d}",
            "06": f"{moment.year % 100:02d}",
            "01": f"{moment.month:02d}",
            "1": str(moment.month),
            "02": f"{moment.day:02d}",
            "2": str(moment.day),
            "_2": f"{moment.day:2d}",
            "15": f"{moment.hour:02d}",
            "03": f"{hour12:02d}",
            "3": str(hour12),
            "04": f"{moment.minute:02d}",
            "4": str(moment.minute),
            "05": f"{moment.second:02d}",
            "5": str(moment.second),
            "PM": "PM" if moment.hour >= 12 else "AM",
            "pm": "pm" if moment.hour >= 12 else "am",
            "-0700": f"{sign}{hh:02d}{mm:02d}",
            "-07:00": f"{sign}{hh:02d}:{mm:02d}",
            "-07": f"{sign}{hh:02d}",
        }
        if token in simple:
            return simple[token]
        if token.startswith("Z"):
            if minutes == 0:
                return "Z"
            return {"Z07:00": f"{sign}{hh:02d}:{mm:02d}", "Z0700": f"{sign}{hh:02d}{mm:02d}"}.get(
                token, f"{sign}{hh:02d}"
            )
        if token.startswith((".0", ".9")):
            digits = f"{moment.microsecond:06d}{'0' * 3}"[: len(token) - 1]
            return (
                "." + digits
                if token[1] == "0"
                else ("." + digits.rstrip("0") if digits.rstrip("0") else "")
            )
        return token

    return _GO_LAYOUT.sub(element, layout)


def parse_rfc3339(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise FuncError(
            f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}"'
        ) from None


def time_ago(seconds: float) -> str:
    def plural(count: int, word: str) -> str:
        return f"{count} {word}" + ("" if count == 1 else "s")

    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return plural(int(seconds // 60), "minute") + " ago"
    hours = seconds / 3600
    if seconds < 24 * 3600:
        return plural(int(hours), "hour") + " ago"
    if seconds < 30 * 24 * 3600:
        return plural(int(hours) // 24, "day") + " ago"
    if seconds < 365 * 24 * 3600:
        return plural(int(hours) // 24 // 30, "month") + " ago"
    return plural(int(hours / 24 / 365), "year") + " ago"


class FuncError(Exception):
    """A template function's failure; the executor adds where it happened."""


# --------------------------------------------------------------------------- table printer


class TablePrinter:
    """go-gh's terminal table printer (gh always builds it in terminal mode)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: list[list[str]] = []

    def add_row(self, cells: list[str]) -> None:
        self.rows.append(cells)

    def render(self) -> str:
        columns = max((len(row) for row in self.rows), default=0)
        if columns == 0:
            self.rows = []
            return ""
        widths = self._column_widths(columns, 2)
        lines = []
        for row in self.rows:
            cells = []
            for column, cell in enumerate(row):
                limit = widths[column] if column < len(widths) else display_width(cell)
                text = _truncate_multiline(limit, cell)
                if column < columns - 1:
                    text = text + " " * max(0, limit - display_width(text))
                cells.append(text)
            lines.append("  ".join(cells) + "\n")
        self.rows = []
        return "".join(lines)

    def _column_widths(self, columns: int, delim: int) -> list[int]:
        maxes = [0] * columns
        for row in self.rows:
            for column, cell in enumerate(row[:columns]):
                maxes[column] = max(maxes[column], display_width(cell))
        widths = [0] * columns
        widths[0] = maxes[0]
        first = self.rows[0]
        if len(first) == columns and first[-1].startswith("https://"):
            widths[columns - 1] = maxes[columns - 1]

        def available() -> int:
            return self.width - delim * (columns - 1) - sum(widths)

        def flexible() -> int:
            return sum(1 for width in widths if width == 0)

        room = available()
        if room > 0 and flexible() > 0:
            per_column = room // flexible()
            for column in range(columns):
                if maxes[column] < per_column:
                    widths[column] = maxes[column]
        if flexible() > 0:
            per_column = available() // flexible()
            for column in range(columns):
                if widths[column] == 0:
                    if maxes[column] < per_column:
                        widths[column] = maxes[column]
                    elif per_column > 0:
                        widths[column] = per_column
        room = available()
        if room > 0:
            for column in range(columns):
                add = min(room, maxes[column] - widths[column])
                widths[column] += add
                room -= add
                if room <= 0:
                    break
        return widths


def _truncate_multiline(width: int, text: str) -> str:
    for index, char in enumerate(text):
        if char in "\r\n":
            text = text[:index] + "..."
            break
    return truncate_text(width, text)
