"""The functions a ``--template`` can call, Go's builtins and gh's: one method
``_fn_NAME`` each, and the errors they raise worded as Go's."""

from __future__ import annotations

from datetime import datetime

from ghcache.cli.gh.goprint import MISSING, go_sprint_value, go_sprintf, go_type, js_escape
from ghcache.cli.gh.gotext import (
    FuncError,
    TablePrinter,
    ansi_color,
    go_time_format,
    parse_rfc3339,
    scalar_text,
    time_ago,
    truncate_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a --template hit milliseconds; annotations are strings
    from collections.abc import Callable
    from typing import Any

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
    "js",
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
    """Go's template truth: false, 0, nil, an absent key and empty text, arrays and
    objects are false."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


class Functions:
    """The functions, with what they share while one template runs: whether colour is
    on, the table that tablerow fills, the clock, and the text printed so far (where
    tablerender writes the table)."""

    def __init__(
        self, *, color: bool, width: int, now: Callable[[], datetime], printed: list[str]
    ) -> None:
        self.color = color
        self.table = TablePrinter(width)
        self.now = now
        self.printed = printed

    def call(self, name: str, args: list[Any]) -> Any:
        """Run function ``name``; the parser has checked that it is one of FUNCTION_NAMES."""
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

    def _escaper_text(self, args: list[Any]) -> str:
        """text/template's evalArgs for html, js and urlquery: print's spacing, but an
        absent or null value prints as ``<no value>``."""
        shown = ["<no value>" if value is None or value is MISSING else value for value in args]
        return str(self._fn_print(shown))

    def _fn_html(self, args: list[Any]) -> Any:
        text = self._escaper_text(args)
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

        return quote_plus(self._escaper_text(args))

    def _fn_js(self, args: list[Any]) -> Any:
        return js_escape(self._escaper_text(args))

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
        self.printed.append(self.table.render())
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
