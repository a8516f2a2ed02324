"""``-f/--raw-field`` and ``-F/--field`` parsing, and how gh turns the result
into a query string or a JSON body.

The rules follow gh 2.23 (``pkg/cmd/api/fields.go`` and ``http.go``):
``key=value``, nested ``key[sub]=value``, arrays ``key[]=value`` (``key[]``
alone is an empty array); ``-F`` values are typed (integers, true, false,
null), ``@file``/``@-`` read a file or stdin, and placeholders are filled.
Raw fields are applied before typed ones, each in command-line order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import quote_plus

from ghcache.cli.gh.goprint import go_type

Params = dict[str, Any]
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Go's json.Marshal escapes these even in strings (HTML safety, JS line breaks).
_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


class FieldError(ValueError):
    """A field that cannot be parsed (gh's wording): a usage error."""


class FieldValueError(FieldError):
    """A ``-F`` value that cannot be read: a missing ``@file``, an unfillable placeholder."""


def go_quote(text: str) -> str:
    """Go's ``%q`` for the strings that show up in messages."""
    return json.dumps(text, ensure_ascii=False)


def read_user_file(name: str, stdin: IO[bytes] | None) -> bytes:
    """Contents of ``name``, or of stdin for "-"; errors read like Go's."""
    if name == "-":
        if stdin is None:
            raise FieldError("read -: no standard input")
        return stdin.read()
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise FieldError(f"read {name}: is a directory") from None
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise FieldError(f"open {name}: {reason}") from None


def magic_value(
    text: str, stdin: IO[bytes] | None, fill: Callable[[str], str]
) -> str | int | bool | None:
    """The typed value of ``-F key=TEXT``."""
    if text.startswith("@"):
        return read_user_file(text[1:], stdin).decode("utf-8", errors="replace")
    if _INTEGER.fullmatch(text):
        number = int(text)
        if _INT64_MIN <= number <= _INT64_MAX:
            return number
    if text == "true":
        return True
    if text == "false":
        return False
    if text == "null":
        return None
    return fill(text)


def parse_fields(
    raw_fields: list[str],
    typed_fields: list[str],
    *,
    stdin: IO[bytes] | None = None,
    fill: Callable[[str], str] = lambda text: text,
) -> Params:
    """All fields as one (possibly nested) parameter map, as gh builds it."""
    params: Params = {}
    for field in raw_fields:
        _add_field(params, field, magic=False, stdin=stdin, fill=fill)
    for field in typed_fields:
        _add_field(params, field, magic=True, stdin=stdin, fill=fill)
    return params


def _add_field(
    params: Params,
    field: str,
    *,
    magic: bool,
    stdin: IO[bytes] | None,
    fill: Callable[[str], str],
) -> None:
    # The key scan mirrors gh's byte loop: "[" opens a sub-key, "]" closes it,
    # the first "=" ends the key.
    keystack: list[str] = []
    key_start = 0
    value_index = 0
    for i, char in enumerate(field):
        if char == "[":
            if key_start == 0:
                keystack.append(field[:i])
            key_start = i + 1
        elif char == "]":
            keystack.append(field[key_start:i])
        elif char == "=":
            if key_start == 0:
                keystack.append(field[:i])
            value_index = i + 1
            break
    if not keystack:
        raise FieldError(f"invalid key: {go_quote(field)}")
    key = field
    value: Any = None
    has_value = value_index != 0
    if not has_value:
        if keystack[-1] != "":
            raise FieldError(f"field {go_quote(key)} requires a value separated by an '=' sign")
    else:
        key = field[: value_index - 1]
        value = field[value_index:]
    if magic and has_value:
        try:
            value = magic_value(value, stdin, fill)
        except (FieldError, ValueError) as exc:
            raise FieldValueError(f"error parsing {go_quote(key)} value: {exc}") from None

    dest = params
    is_array = False
    subkey = ""
    for part in keystack:
        if part == "":
            is_array = True
            continue
        if subkey:
            if is_array:
                dest = _slice_map(dest, subkey, part)
                is_array = False
            else:
                dest = _sub_map(dest, subkey)
        subkey = part
    if is_array:
        if not has_value:
            dest[subkey] = []
        elif subkey in dest:
            existing = dest[subkey]
            if not isinstance(existing, list):
                raise FieldError(
                    f"expected array type under {go_quote(subkey)}, got {go_type(existing)}"
                )
            existing.append(value)
        else:
            dest[subkey] = [value]
    else:
        dest[subkey] = value


def _sub_map(params: Params, key: str) -> Params:
    existing = params.get(key, _MISSING)
    if existing is _MISSING:
        created: Params = {}
        params[key] = created
        return created
    if isinstance(existing, dict):
        return existing
    raise FieldError(f"expected map type under {go_quote(key)}, got {go_type(existing)}")


def _slice_map(params: Params, prev_key: str, new_key: str) -> Params:
    # "a[][b]=1 -F a[][c]=2" fills one object until a key repeats, then starts the next.
    existing = params.get(prev_key, _MISSING)
    if existing is _MISSING:
        created: Params = {}
        params[prev_key] = [created]
        return created
    if not isinstance(existing, list):
        raise FieldError(f"expected array type under {go_quote(prev_key)}, got {go_type(existing)}")
    if existing:
        last = existing[-1]
        if isinstance(last, dict) and (new_key not in last or isinstance(last[new_key], list)):
            return last
    created = {}
    existing.append(created)
    return created


_MISSING = object()


def go_json(value: Any) -> bytes:
    """``json.Marshal``: compact, keys sorted, ``<>&`` and U+2028/9 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.translate(_GO_JSON_ESCAPES).encode("utf-8", errors="replace")


def graphql_payload(params: Params) -> Params:
    """gh's GraphQL body: ``query``/``operationName`` at the top, the rest as variables."""
    top: Params = {}
    variables: Params = {}
    for key, value in params.items():
        if key in ("query", "operationName"):
            top[key] = value
        else:
            variables[key] = value
    if variables:
        top["variables"] = variables
    return top


def add_query(path: str, params: Params) -> str:
    """``path`` with ``params`` appended as a query string (Go's ``url.Values.Encode``)."""
    if not params:
        return path
    pairs: list[tuple[str, str]] = []
    _query_pairs(pairs, "", params)
    # url.Values.Encode sorts by key and keeps each key's values in order.
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    encoded = "&".join(
        f"{quote_plus(key)}={quote_plus(value)}"
        for key in sorted(grouped)
        for value in grouped[key]
    )
    separator = "&" if "?" in path else "?"
    return path + separator + encoded


def _query_pairs(pairs: list[tuple[str, str]], key: str, value: Any) -> None:
    if isinstance(value, bool):
        pairs.append((key, "true" if value else "false"))
    elif isinstance(value, int):
        pairs.append((key, str(value)))
    elif isinstance(value, str):
        pairs.append((key, value))
    elif value is None:
        pairs.append((key, ""))
    elif isinstance(value, dict):
        # gh 2.23 panics on nested maps in a query; newer gh sends the sub-key alone.
        for subkey, subvalue in value.items():
            _query_pairs(pairs, subkey, subvalue)
    elif isinstance(value, list):
        for item in value:
            _query_pairs(pairs, key + "[]", item)
