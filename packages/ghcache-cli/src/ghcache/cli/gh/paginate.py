"""``--paginate`` as gh 2.23 does it, and ``--slurp`` as newer gh does it.

REST: follow the ``Link: <URL>; rel="next"`` header, starting with
``per_page=100`` unless the caller chose a page size.  GraphQL: re-send the
query with ``$endCursor`` set from the first ``pageInfo`` that has both
``hasNextPage`` and ``endCursor`` (gh's token-scanning rules, quirks kept).
Pages are printed one after the other, unchanged; ``--slurp`` collects them
into one JSON array instead.
"""

from __future__ import annotations

from ghcache.cli.gh.output import header_value

TYPE_CHECKING = False
if TYPE_CHECKING:  # a --paginate hit need not load typing
    from collections.abc import Iterator
    from typing import Any

_SPACE = " \t\n\r\f\v"  # what \s matches in gh's pattern (ASCII)
PER_PAGE = 100


def find_next_page(headers: list[tuple[str, str]]) -> str | None:
    """The ``rel="next"`` URL of the (first) Link header, or None."""
    for url, rel in link_targets(header_value(headers, "link")):
        if rel == "next":
            return url
    return None


def link_targets(value: str) -> list[tuple[str, str]]:
    """(URL, rel) pairs as gh finds them: ``<([^>]+)>;\\s*rel="([^"]+)"``, each match
    tried from every ``<`` after the last match (without ``re``: a --paginate hit)."""
    found: list[tuple[str, str]] = []
    start = value.find("<")
    while start >= 0:
        close = value.find(">", start + 1)
        after = close + 1
        if close > start + 1 and value.startswith(";", after):
            rel_at = after + 1
            while rel_at < len(value) and value[rel_at] in _SPACE:
                rel_at += 1
            if value.startswith('rel="', rel_at):
                end = value.find('"', rel_at + 5)
                if end > rel_at + 5:
                    found.append((value[start + 1 : close], value[rel_at + 5 : end]))
                    start = value.find("<", end + 1)
                    continue
        start = value.find("<", start + 1)
    return found


def sets_per_page(query: str) -> bool:
    """Whether a query string gives ``per_page`` a value (as ``parse_qs`` reads it; plain
    queries are read without loading urllib.parse, which a --paginate hit would pay)."""
    if "%" not in query and "+" not in query:
        pairs = (pair.partition("=") for pair in query.split("&"))
        return any(name == "per_page" and value for name, _, value in pairs)
    from urllib.parse import parse_qs

    try:
        return bool(parse_qs(query, strict_parsing=False).get("per_page", [""])[0])
    except ValueError:
        return False


def add_per_page(path: str, params: dict[str, Any], per_page: int = PER_PAGE) -> str:
    """``path`` with ``per_page=100`` added unless a field or the query already sets it."""
    if "per_page" in params:
        return path
    separator = "?"
    if "?" in path:
        if sets_per_page(path.split("?", 1)[1]):
            return path
        separator = "&"
    return f"{path}{separator}per_page={per_page}"


class _Pairs(list):  # type: ignore[type-arg,unused-ignore]
    pass


def _tokens(value: Any) -> Iterator[tuple[str, Any]]:
    """The token stream Go's ``json.Decoder.Token`` yields for ``value``."""
    if isinstance(value, _Pairs):
        yield ("open", "{")
        for key, item in value:
            yield ("scalar", key)
            yield from _tokens(item)
        yield ("close", "}")
    elif isinstance(value, list):
        yield ("open", "[")
        for item in value:
            yield from _tokens(item)
        yield ("close", "]")
    else:
        yield ("scalar", value)


def find_end_cursor(body: bytes) -> str:
    """The cursor for the next GraphQL page, or "" when there is none (gh's ``findEndCursor``)."""
    try:
        import json  # GraphQL pages only

        parsed = json.loads(body.decode("utf-8", errors="replace"), object_pairs_hook=_Pairs)
        tokens = list(_tokens(parsed))
    except (ValueError, RecursionError):
        return ""
    index = 0
    stack: list[str] = []
    last_key = ""
    context_key = ""
    end_cursor = ""
    has_next = False
    found_cursor = found_next = False
    for kind, token in tokens:
        if kind == "open":
            stack.append(token)
            context_key = last_key
            index = 0
            continue
        if kind == "close":
            stack.pop()
            context_key = ""
            index = 0
            continue
        is_key = bool(stack) and stack[-1] == "{" and index % 2 == 0
        index += 1
        if isinstance(token, str):
            if is_key:
                last_key = token
            elif context_key == "pageInfo" and last_key == "endCursor":
                end_cursor = token
                found_cursor = True
                if found_next:
                    break
        elif isinstance(token, bool) and context_key == "pageInfo" and last_key == "hasNextPage":
            has_next = token
            found_next = True
            if found_cursor:
                break
    return end_cursor if has_next else ""


def slurp(pages: list[bytes]) -> bytes:
    """Pages of JSON (arrays or objects) as one JSON array, bodies unchanged: ``[p1,p2]``."""
    return b"[" + b",".join(page.strip() or b"null" for page in pages) + b"]"
