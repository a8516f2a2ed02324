"""Which GraphQL calls are cacheable queries, and what of them depends on who asks.

Rare on the hit path (only a GraphQL hit needs it), so ``re`` and ``json`` load
inside the functions, as the kernel's rule for rare paths allows.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

_patterns: dict[str, re.Pattern[str]] = {}


def _compiled() -> dict[str, re.Pattern[str]]:
    if not _patterns:
        import re

        # A field whose value depends on who asks: ``viewer`` and every ``viewer...`` field.
        _patterns["viewer"] = re.compile(r"\bviewer\w*")
        # Operation keywords at the start of a definition; anonymous ``{ ... }`` is a query.
        _patterns["definition"] = re.compile(r"(?:^|})\s*(query|mutation|subscription|fragment)\b")
        _patterns["comment"] = re.compile(r"#[^\n]*")
        _patterns["string"] = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"')
    return _patterns


def graphql_operation(body: str) -> str | None:
    """'query' when a GraphQL JSON body holds only queries (and fragments); 'mutation' or
    'subscription' when any definition is one, whatever ``operationName`` selects;
    None if unreadable."""
    import json

    try:
        payload = json.loads(body)
        query = payload["query"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(query, str):
        return None
    patterns = _compiled()
    text = patterns["comment"].sub(" ", patterns["string"].sub('""', query))
    if not text.strip():
        return None
    kinds = set(patterns["definition"].findall(text))
    if "mutation" in kinds:
        return "mutation"
    if "subscription" in kinds:
        return "subscription"
    stripped = text.lstrip()
    if kinds <= {"query", "fragment"} and (stripped.startswith("{") or "query" in kinds):
        return "query"
    return None


def is_viewer_dependent(body: str) -> bool:
    """Whether a GraphQL query asks for ``viewer`` or any ``viewer...`` field."""
    return bool(_compiled()["viewer"].search(body))


def needs_identity_scope(body: str, sharing: str) -> bool | None:
    """For a GraphQL POST body: None when it is not a cacheable query; else whether its
    answer is keyed per identity.  GraphQL has no conditional requests, so in
    ``verified`` (and ``off``) mode every answer is; in ``team`` mode a query is
    shared unless a field of it depends on the viewer."""
    if graphql_operation(body) != "query":
        return None
    return sharing != "team" or is_viewer_dependent(body)


def canonical_json_text(text: str) -> str:
    """JSON text with sorted keys and no whitespace; other text unchanged."""
    import json

    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to be a query
        return text
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
